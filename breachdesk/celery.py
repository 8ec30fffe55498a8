"""The Celery application. Beat runs a static schedule defined here (no database scheduler)."""

import os

from celery import Celery, signals
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "breachdesk.settings.dev")

app = Celery("breachdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's Django fixup closes every database connection before and after each task unless
# CELERY_DB_REUSE_MAX is set: a new PostgreSQL backend (a fork, authentication, time zone
# set-up) for every timer fired. Workers keep their connection the way the web process does
# instead: Django's close_old_connections() around each task honours CONN_MAX_AGE and
# CONN_HEALTH_CHECKS. The fixup still recycles connections every 2 x this many tasks.
app.conf.CELERY_DB_REUSE_MAX = 5000


@signals.task_prerun.connect
@signals.task_postrun.connect
def _recycle_database_connections(**kwargs: object) -> None:
    from django.db import close_old_connections

    close_old_connections()


app.conf.beat_schedule = {
    "heartbeat": {"task": "breachdesk.tasks.heartbeat_task", "schedule": 30.0},
    # The robust path for every timer (DESIGN.md): claim due rows every few seconds.
    "timers-sweep": {
        "task": "notifications.tasks.timers_sweep_task",
        "schedule": float(os.environ.get("TIMER_SWEEP_SECONDS", "2")),
        "options": {"expires": 30},
    },
    # Letter batches whose message was lost or whose worker died (the row is the truth).
    "letter-batches-sweep": {
        "task": "notifications.tasks.letter_batches_sweep_task",
        "schedule": 30.0,
        "options": {"expires": 60},
    },
    # The signed daily checkpoint of the audit chain (kept elsewhere, checked by audit_verify).
    "audit-checkpoint": {"task": "breachdesk.tasks.audit_checkpoint_task", "schedule": crontab(hour=0, minute=5)},
    # Lost data sets whose job was lost or cut off, and uploads never mapped.
    "datasets-sweep": {
        "task": "riskassess.tasks.datasets_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 120},
    },
}
