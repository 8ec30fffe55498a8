"""The mail server's "accepted" outlives the transaction that sent the message: a send that
runs again after its first transaction was lost finds the receipt and sends nothing twice.
On PostgreSQL the receipt is committed on a connection of its own; on SQLite it is part of
the sending transaction, so a lost transaction sends again (the same Message-ID)."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from breachdesk.audit import audit_verify
from breachdesk.models import AuditEvent
from notifications.choices import NotificationState, TimerKind, TimerState
from notifications.models import MailReceipt, Notification, Timer
from notifications.services import notification_remind, timer_fire
from notifications.services.escalations import step_of
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

SEPARATE_COMMIT = connection.vendor == "postgresql"


class Lost(Exception):
    """Stands for a worker that stopped before its transaction committed."""


def in_a_lost_transaction(call):
    """Run ``call`` in a transaction that never commits; return what it returned."""
    result = None
    try:
        with transaction.atomic():
            result = call()
            raise Lost
    except Lost:
        return result
    raise AssertionError("the transaction committed")


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def send_timer(incident):
    return Timer.objects.get(incident=incident, kind=TimerKind.NOTIFICATION_SEND)


def test_a_send_records_the_mail_servers_receipt(org, clock, mailbox):
    incident = IncidentFactory(reporter=org["reporter"])
    timer = send_timer(incident)
    assert timer_fire(timer_id=timer.pk, token=str(timer.token))

    [message] = mailbox.messages
    notification = Notification.objects.get(incident=incident)
    receipt = MailReceipt.objects.get(notification_id=notification.pk)
    assert receipt.message_id == message["Message-ID"] == f"<breachdesk.n{notification.pk}.send@testserver>"
    assert receipt.accepted_at == notification.sent_at == timezone.now()
    event = AuditEvent.objects.get(action="notification.sent", object_id=str(notification.pk))
    assert "not_sent_again" not in event.after


def test_a_send_whose_transaction_was_lost_is_not_sent_twice(org, clock, mailbox):
    incident = IncidentFactory(reporter=org["reporter"])
    timer = send_timer(incident)
    notification = Notification.objects.get(incident=incident)

    # when the mail server accepts the message but the transaction recording it never commits
    assert in_a_lost_transaction(lambda: timer_fire(timer_id=timer.pk, token=str(timer.token)))
    assert len(mailbox.messages) == 1
    notification.refresh_from_db()
    timer.refresh_from_db()
    assert (notification.state, notification.sent_at, notification.attempts) == (NotificationState.SCHEDULED, None, 0)
    assert timer.state == TimerState.PENDING
    assert not AuditEvent.objects.filter(action="notification.sent").exists()

    # and the timer fires again a little later (the sweep, after the worker is replaced)
    accepted_at = timezone.now()
    clock.shift(timedelta(seconds=5))
    assert timer_fire(timer_id=timer.pk, token=str(timer.token))

    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == (NotificationState.SENT, 1)
    event = AuditEvent.objects.get(action="notification.sent", object_id=str(notification.pk))
    if SEPARATE_COMMIT:
        # then nothing is sent again, and the notification was sent when the server said so
        assert len(mailbox.messages) == 1
        assert notification.sent_at == accepted_at
        # and the step's time to confirm runs from then
        timeout = timedelta(seconds=step_of(notification.escalation, notification.step)["ack_timeout_s"])
        assert notification.due_at == accepted_at + timeout
        assert event.after["not_sent_again"] == "the mail server had already accepted it"
        assert event.after["accepted_at"] == accepted_at.isoformat()
    else:
        # then (SQLite) it is sent again, as the same message
        first, second = mailbox.messages
        assert first["Message-ID"] == second["Message-ID"]
        assert notification.sent_at == timezone.now()
        assert "not_sent_again" not in event.after
    assert MailReceipt.objects.filter(notification_id=notification.pk).count() == 1
    assert audit_verify().ok


def test_a_reminder_whose_transaction_was_lost_is_not_sent_twice(org, clock, mailbox):
    incident = IncidentFactory(reporter=org["reporter"])
    timer = send_timer(incident)
    assert timer_fire(timer_id=timer.pk, token=str(timer.token))
    notification = Notification.objects.get(incident=incident)

    assert in_a_lost_transaction(lambda: notification_remind(notification_id=notification.pk))
    assert len(mailbox.messages) == 2
    notification.refresh_from_db()
    assert notification.reminders_sent == 0

    assert notification_remind(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.reminders_sent == 1
    reminders = [m for m in mailbox.messages if m["Subject"].startswith("[OFFICIAL-SENSITIVE] Reminder:")]
    assert {m["Message-ID"] for m in reminders} == {f"<breachdesk.n{notification.pk}.reminder1@testserver>"}
    assert len(reminders) == (1 if SEPARATE_COMMIT else 2)
    event = AuditEvent.objects.get(action="notification.reminded", object_id=str(notification.pk))
    assert ("not_sent_again" in event.after) is SEPARATE_COMMIT

    # a second reminder is a new message, sent
    assert notification_remind(notification_id=notification.pk)
    assert mailbox.messages[-1]["Message-ID"] == f"<breachdesk.n{notification.pk}.reminder2@testserver>"
    assert audit_verify().ok


def test_a_failed_send_records_no_receipt(org, clock, mailbox, settings):
    incident = IncidentFactory(reporter=org["reporter"])
    timer = send_timer(incident)
    with socket.socket() as probe:  # a port nothing listens on: the mail server is down
        probe.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = probe.getsockname()[1]

    assert timer_fire(timer_id=timer.pk, token=str(timer.token))

    notification = Notification.objects.get(incident=incident)
    assert (notification.state, notification.attempts) == (NotificationState.SCHEDULED, 1)
    assert notification.last_error
    assert not MailReceipt.objects.filter(notification_id=notification.pk).exists()


def test_a_send_with_a_receipt_already_recorded_is_not_sent(org, clock, mailbox):
    # given a receipt from an earlier attempt, on either database
    incident = IncidentFactory(reporter=org["reporter"])
    timer = send_timer(incident)
    notification = Notification.objects.get(incident=incident)
    accepted_at = timezone.now() - timedelta(seconds=30)
    MailReceipt.objects.create(
        message_id=f"<breachdesk.n{notification.pk}.send@testserver>",
        notification=notification,
        accepted_at=accepted_at,
    )

    assert timer_fire(timer_id=timer.pk, token=str(timer.token))

    assert mailbox.messages == []
    notification.refresh_from_db()
    assert (notification.state, notification.sent_at) == (NotificationState.SENT, accepted_at)
    event = AuditEvent.objects.get(action="notification.sent", object_id=str(notification.pk))
    assert event.after["accepted_at"] == accepted_at.isoformat()
