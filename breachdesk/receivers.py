"""Sign-in events reach the audit trail through Django's auth signals: the only hook that
covers the login page, the admin and the API token endpoint alike. The receivers only
forward to the audit service."""

import time
from typing import Any

from axes.signals import user_locked_out
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


@receiver(user_locked_out)
def _locked_out(sender: Any, request: Any = None, username: str = "", ip_address: str = "", **kwargs: Any) -> None:
    audit_record(
        actor=None,
        actor_username=str(username)[:150],
        action="auth.locked_out",
        object_type="user",
        after={"username": str(username)[:150], "ip_address": ip_address},
    )


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        from .middleware import LAST_ACTIVITY

        request.session[LAST_ACTIVITY] = int(time.time())  # the idle clock starts at sign-in
    audit_record(actor=user, action="auth.logged_in", object_type="user", object_id=user.pk)
