"""Sign-in events reach the audit trail through Django's auth signals: the only hook that
covers the login page, the admin and the API token endpoint alike. The receivers only
forward to the audit service."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from .audit import audit_record


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        actor=None,
        actor_username=username,
        action="auth.login_failed",
        object_type="user",
        after={"username": username},
    )


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(actor=user, action="auth.logged_in", object_type="user", object_id=user.pk)
