from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_CACHE_KEY = "breachdesk:beat-heartbeat"


@shared_task
def heartbeat_task() -> str:
    """Record that beat and a worker are alive; read by the health check."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_CACHE_KEY, now, timeout=None)
    return now


@shared_task(acks_late=True, ignore_result=True)
def audit_checkpoint_task() -> int:
    """The daily signed checkpoint of the audit chain (breachdesk/audit.py)."""
    from .audit import audit_checkpoint

    return audit_checkpoint().seq
