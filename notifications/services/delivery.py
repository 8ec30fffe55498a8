"""Email delivery of notifications, with signed single-use acknowledgement links.

The email says as little as it can: reference, kind of loss, unit and times, never the
description or anyone's personal data. A send that fails is retried with backoff and never
counts as informed; after the last attempt the recipient is treated as unconfirmed."""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from breachdesk.audit import audit_record
from breachdesk.db import execute_committed

from ..choices import NotificationPurpose, NotificationState, TimerKind
from ..models import MailReceipt, Notification, Timer
from .timers import _id, timer_arm

logger = logging.getLogger(__name__)

ACK_SALT = "breachdesk.notification-ack"
SUBJECTS = {
    NotificationPurpose.ESCALATION: "{ref}: loss of personal data reported. Confirm you have received this",
    NotificationPurpose.DEADLINE_REMINDER: "{ref}: the 72-hour ICO clock is running",
    NotificationPurpose.DEADLINE_MISSED: "{ref}: a deadline has been missed",
}


class LinkError(Exception):
    """The link is not valid: tampered, expired, or already used."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def ack_token(notification: Notification) -> str:
    return signing.dumps({"n": notification.pk, "k": notification.link_nonce}, salt=ACK_SALT, compress=True)


def ack_url(notification: Notification) -> str:
    return settings.SERVICE_BASE_URL.rstrip("/") + reverse("notifications:ack-link", args=[ack_token(notification)])


def ack_token_read(token: str) -> tuple[int, str]:
    """(notification id, nonce) from a link, or LinkError."""
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=timedelta(hours=settings.ACK_LINK_MAX_AGE_HOURS))
    except signing.SignatureExpired:
        raise LinkError("This link has expired.", expired=True) from None
    except signing.BadSignature:
        raise LinkError("This link is not valid.") from None
    if not isinstance(data, dict) or not isinstance(data.get("n"), int) or not isinstance(data.get("k"), str):
        raise LinkError("This link is not valid.")
    return data["n"], data["k"]


def build_message(notification: Notification, *, reminder: bool = False) -> EmailMultiAlternatives:
    incident = notification.incident
    context: dict[str, Any] = {
        "n": notification,
        "incident": incident,
        "reminder": reminder,
        "marking": settings.PROTECTIVE_MARKING,
        "incident_url": settings.SERVICE_BASE_URL.rstrip("/") + reverse("incidents:detail", args=[incident.reference]),
        "ack_url": ack_url(notification) if notification.ack_required else "",
        "step_name": _step_name(notification),
    }
    subject = SUBJECTS[NotificationPurpose(notification.purpose)].format(ref=incident.reference)
    if reminder:
        subject = "Reminder: " + subject
    message = EmailMultiAlternatives(
        subject=f"[{settings.PROTECTIVE_MARKING}] {subject}",
        body=render_to_string("notifications/email/notification.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient.email],
        headers={
            "X-BreachDesk-Notification": str(notification.pk),
            "X-BreachDesk-Incident": incident.reference,
            # Stable per send: if a worker dies after the mail server accepted the message
            # but before the commit, the resend carries the same Message-ID and mail systems
            # can drop the duplicate (an SMTP send and a commit cannot be one step).
            "Message-ID": _message_id(notification, reminder=reminder),
        },
    )
    message.attach_alternative(render_to_string("notifications/email/notification.html", context), "text/html")
    return message


def _message_id(notification: Notification, *, reminder: bool) -> str:
    which = f"reminder{notification.reminders_sent + 1}" if reminder else "send"
    domain = urlsplit(settings.SERVICE_BASE_URL).hostname or "breachdesk.invalid"
    return f"<breachdesk.n{notification.pk}.{which}@{domain}>"


def _step_name(notification: Notification) -> str:
    if notification.escalation is None:
        return ""
    from .escalations import step_of

    step = step_of(notification.escalation, notification.step)
    return step["name"] if step else ""


class _Outbox(threading.local):
    backend: BaseEmailBackend | None = None
    key: tuple[object, ...] = ()
    used_at: float = 0.0


_outbox = _Outbox()


def _backend_key() -> tuple[object, ...]:
    return (
        settings.EMAIL_BACKEND,
        getattr(settings, "EMAIL_HOST", ""),
        getattr(settings, "EMAIL_PORT", 0),
        getattr(settings, "EMAIL_HOST_USER", ""),
        getattr(settings, "EMAIL_USE_TLS", False),
        getattr(settings, "EMAIL_USE_SSL", False),
    )


def _close_outbox() -> None:
    if _outbox.backend is not None:
        try:
            _outbox.backend.close()
        except Exception:  # closing a dead connection: nothing to save
            logger.debug("closing the mail connection failed", exc_info=True)
    _outbox.backend = None


def deliver(message: EmailMultiAlternatives) -> None:
    """Send over this process's open connection to the mail server, opening one when there
    is none. A connection (and, with TLS, a handshake) per message is most of the cost of a
    burst of notifications. A connection idle for longer than EMAIL_IDLE_SECONDS is closed
    rather than trusted; one that is kept is checked with NOOP first, so a connection the
    server has dropped is replaced before the message is offered, never after (a message is
    offered once per attempt). Errors propagate: the caller's retry policy applies."""
    key = _backend_key()
    stale = time.monotonic() - _outbox.used_at > settings.EMAIL_IDLE_SECONDS
    if _outbox.backend is not None and (stale or _outbox.key != key or not _still_open(_outbox.backend)):
        _close_outbox()
    if _outbox.backend is None:
        _outbox.backend = get_connection()
        _outbox.key = key
        _outbox.backend.open()
    try:
        _outbox.backend.send_messages([message])
    except Exception:
        _close_outbox()
        raise
    _outbox.used_at = time.monotonic()


def _still_open(backend: BaseEmailBackend) -> bool:
    smtp = getattr(backend, "connection", None)
    if not isinstance(smtp, smtplib.SMTP):
        return True  # not an SMTP backend (console, file, memory): nothing to check
    try:
        return bool(smtp.noop()[0] == 250)
    except (smtplib.SMTPException, OSError):
        return False


def on_send_timer(timer: Timer) -> None:
    notification_send(notification_id=timer.notification_id)


# What sending reads: the notification, and of the rows it joins only what the email and the
# audit event show. Half the columns make the query half as long to build (about 0.5 ms of a
# worker's processor per send); a test holds the send to its number of queries, so a field
# used here and left out would show as one more.
_FOR_SENDING = (
    *(f.name for f in Notification._meta.concrete_fields),
    "incident__reference",
    "incident__category",
    "incident__discovered_at",
    "incident__suspected",
    "incident__org_unit__name",
    "recipient__username",
    "recipient__email",
    "escalation__snapshot",
)


def notification_send(*, notification_id: int | None) -> bool:
    """Send one notification if it is still waiting to go. The row lock makes a duplicated
    wake-up a no-op: one email per notification."""
    with transaction.atomic(savepoint=False):  # the timer's transaction, when there is one
        notification = (
            Notification.objects.select_for_update(of=("self",), no_key=True)
            .select_related("incident__org_unit", "recipient", "escalation")
            .only(*_FOR_SENDING)
            .get(pk=_id(notification_id))
        )
        if notification.state != NotificationState.SCHEDULED:
            return False
        notification.attempts += 1
        message_id = _message_id(notification, reminder=False)
        already = _accepted_at(message_id)
        try:
            if already is None:
                if not notification.recipient.email:
                    raise ValueError("recipient has no email address")
                deliver(build_message(notification))
        except Exception as exc:
            _send_failed(notification, exc)
            return False
        accepted_at = already or _receipt(message_id, notification)
        notification.state = NotificationState.SENT
        notification.sent_at = accepted_at
        notification.last_error = ""
        step = _step(notification)
        if notification.ack_required and step is not None:
            notification.due_at = accepted_at + timedelta(seconds=step["ack_timeout_s"])
            timer_arm(
                kind=TimerKind.NOTIFICATION_TIMEOUT,
                incident=notification.incident,
                due_at=notification.due_at,
                notification=notification,
            )
        notification.save(update_fields=["attempts", "state", "sent_at", "last_error", "due_at"])
        audit_record(
            actor=None,
            action="notification.sent",
            object_type="notification",
            object_id=notification.pk,
            incident_ref=notification.incident.reference,
            after={
                "recipient": notification.recipient.get_username(),
                "role": notification.role,
                "purpose": notification.purpose,
                "channel": notification.channel,
                "attempt": notification.attempts,
                **_not_sent_again(already),
            },
        )
    return True


def _step(notification: Notification) -> dict[str, Any] | None:
    if notification.escalation is None:
        return None
    from .escalations import step_of

    return step_of(notification.escalation, notification.step)


def _send_failed(notification: Notification, exc: Exception) -> None:
    logger.warning("notification %s attempt %s failed: %s", notification.pk, notification.attempts, type(exc).__name__)
    notification.last_error = f"{type(exc).__name__}: {exc}"[:500]
    if notification.attempts < settings.NOTIFICATION_MAX_ATTEMPTS:
        delay = settings.NOTIFICATION_RETRY_BASE_SECONDS * 2 ** (notification.attempts - 1)
        notification.save(update_fields=["attempts", "last_error"])
        timer_arm(
            kind=TimerKind.NOTIFICATION_SEND,
            incident=notification.incident,
            due_at=timezone.now() + timedelta(seconds=delay),
            notification=notification,
        )
        audit_record(
            actor=None,
            action="notification.send_retry",
            object_type="notification",
            object_id=notification.pk,
            incident_ref=notification.incident.reference,
            after={"attempt": notification.attempts, "retry_in_s": delay, "error": notification.last_error},
        )
        return
    notification.state = NotificationState.FAILED
    notification.save(update_fields=["attempts", "last_error", "state"])
    audit_record(
        actor=None,
        action="notification.failed",
        object_type="notification",
        object_id=notification.pk,
        incident_ref=notification.incident.reference,
        after={"attempts": notification.attempts, "error": notification.last_error},
    )
    if notification.escalation is not None and notification.ack_required:
        from .escalations import escalate_unconfirmed

        # Never counts as informed: ask whoever stands in for them.
        escalate_unconfirmed(notification=notification, reason="could not be delivered")


def notification_remind(*, notification_id: int | None) -> bool:
    """Send a reminder to a recipient who has not confirmed (PC02-9)."""
    with transaction.atomic(savepoint=False):  # the timer's transaction, when there is one
        notification = (
            Notification.objects.select_for_update(of=("self",), no_key=True)
            .select_related("incident__org_unit", "recipient", "escalation")
            .get(pk=_id(notification_id))
        )
        if notification.state != NotificationState.SENT:
            return False
        message_id = _message_id(notification, reminder=True)
        already = _accepted_at(message_id)
        try:
            if already is None:
                deliver(build_message(notification, reminder=True))
        except Exception as exc:
            logger.warning("reminder for notification %s failed: %s", notification.pk, type(exc).__name__)
            audit_record(
                actor=None,
                action="notification.reminder_failed",
                object_type="notification",
                object_id=notification.pk,
                incident_ref=notification.incident.reference,
                after={"error": f"{type(exc).__name__}: {exc}"[:500]},
            )
            return False
        if already is None:
            _receipt(message_id, notification)
        notification.reminders_sent += 1
        notification.save(update_fields=["reminders_sent"])
        audit_record(
            actor=None,
            action="notification.reminded",
            object_type="notification",
            object_id=notification.pk,
            incident_ref=notification.incident.reference,
            after={"reminder": notification.reminders_sent, **_not_sent_again(already)},
        )
    return True


# --- Receipts: the mail server's "accepted", kept whatever happens to the transaction ----
#
# An SMTP send and a database commit cannot be one step. Were a worker to die after the
# mail server accepted a message and before the transaction recording it committed, the
# notification would still be waiting to go and be sent again. So the moment the server
# accepts a message, its Message-ID is committed on a second connection (one short
# INSERT); a send that runs again finds it there and records the notification as sent,
# with the time the server accepted it, without sending anything. What is left is the
# time between the server's answer and that INSERT reaching the database: microseconds,
# not a whole transaction. On SQLite (one writer, one process) the receipt is written in
# the sending transaction and shares its fate.

_RECEIPTS = MailReceipt._meta.db_table
_ACCEPTED_AT = MailReceipt._meta.get_field("accepted_at")


def _accepted_at(message_id: str) -> datetime | None:
    """When the mail server accepted ``message_id``, if it ever did."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT accepted_at FROM {_RECEIPTS} WHERE message_id = %s", [message_id])  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        return None
    value = _ACCEPTED_AT.to_python(row[0])
    if value is not None and timezone.is_naive(value):  # SQLite gives the stored UTC back naive
        value = timezone.make_aware(value, UTC)
    return value


def _receipt(message_id: str, notification: Notification) -> datetime:
    """Record that the mail server has just accepted ``message_id``; returns when."""
    now = timezone.now()
    accepted_at = _ACCEPTED_AT.get_db_prep_value(now, connection)
    sql = (  # fixed SQL; every value is a parameter
        f"INSERT INTO {_RECEIPTS} (message_id, notification_id, accepted_at) VALUES (%s, %s, %s) "  # noqa: S608
        "ON CONFLICT (message_id) DO NOTHING"
    )
    params = [message_id, notification.pk, accepted_at]
    try:
        if execute_committed(sql, params):
            return now
    except Exception:  # the database is unreachable from here: keep the receipt with the send
        logger.warning("could not record the receipt of %s apart from its send", message_id, exc_info=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return now


def _not_sent_again(accepted_at: datetime | None) -> dict[str, Any]:
    """What the audit event adds when a message was found already accepted."""
    if accepted_at is None:
        return {}
    return {"not_sent_again": "the mail server had already accepted it", "accepted_at": accepted_at.isoformat()}
