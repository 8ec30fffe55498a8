"""Locks between people and the worker, on PostgreSQL with real concurrent transactions.

Found by the soak (bench/soak.py): a worker firing a timer holds the timer's row and then
locks its notification; someone confirming receipt holds the notification and then cancelled
its timers, so each waited for the other and PostgreSQL killed one ("deadlock detected"):
the person got a 500, or the timer was pushed back a minute. Cancelling now skips a timer
that is being fired; its handler, which re-reads the notification under lock, finds nothing
left to do."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from notifications.choices import AckMethod, NotificationState, TimerKind, TimerState
from notifications.models import Notification, Timer
from notifications.services import notification_acknowledge, timers_sweep
from tests.factories import IncidentFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_confirming_receipt_while_a_worker_fires_the_alternates_timer_does_not_deadlock(org, mailbox):
    with time_machine.travel(timezone.now(), tick=True) as clock:
        IncidentFactory(reporter=org["reporter"], discovered_at=timezone.now() - timedelta(minutes=2))
        timers_sweep()
        clock.shift(timedelta(minutes=21))  # no receipt: the alternate manager is asked
        timers_sweep()
    original, alternate = Notification.objects.filter(step=1).order_by("id")
    assert (original.state, alternate.state) == (NotificationState.ESCALATED, NotificationState.SENT)
    timer = Timer.objects.get(notification=alternate, kind=TimerKind.NOTIFICATION_TIMEOUT, state=TimerState.PENDING)

    def emails_about_the_alternate() -> int:
        return sum(1 for m in mailbox.messages if m["X-BreachDesk-Notification"] == str(alternate.pk))

    emails_before = emails_about_the_alternate()

    holding, confirming = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        """What timer_fire does: lock the timer's row, then the notification's."""
        try:
            with transaction.atomic():
                Timer.objects.select_for_update().get(pk=timer.pk)
                holding.set()
                confirming.wait(10)
                threading.Event().wait(0.3)  # the confirmation is under way meanwhile
                Notification.objects.select_for_update().get(pk=alternate.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert holding.wait(10)
    confirming.set()
    try:
        # the original manager confirms late, which withdraws the alternate
        notification_acknowledge(notification_id=original.pk, by=original.recipient, method=AckMethod.IN_APP)
    except BaseException as exc:
        errors.append(exc)
    thread.join(20)

    assert not thread.is_alive()
    assert errors == []
    alternate.refresh_from_db()
    assert alternate.state == NotificationState.CANCELLED
    # the timer the worker held was left to it: when it fires, it changes nothing and sends nothing
    with time_machine.travel(timer.due_at + timedelta(minutes=1)):
        timers_sweep()
    assert Timer.objects.get(pk=timer.pk).state == TimerState.FIRED
    alternate.refresh_from_db()
    assert alternate.state == NotificationState.CANCELLED
    assert emails_about_the_alternate() == emails_before == 1
