"""Locks between people and the worker, on PostgreSQL with real concurrent transactions.
Both deadlocks here were found by the soak (bench/soak.py), each as a 500 for a person.

1. A worker firing a timer holds the timer's row and then locks its notification; someone
   confirming receipt held the notification and then cancelled its timers. Cancelling now
   skips a timer being fired; its handler re-reads the notification under lock and finds
   nothing left to do.
2. A worker holding the audit chain's head had written a row naming an incident (a timer, a
   notification), whose foreign key PostgreSQL checks at commit with a KEY SHARE lock on the
   incident; someone recording an assessment held the incident FOR UPDATE, which that lock
   waits for, and then waited for the audit head. Rows are now locked FOR NO KEY UPDATE,
   which serialises changes just the same but lets rows naming them be written."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from breachdesk.audit import audit_record, audit_verify
from notifications.choices import AckMethod, NotificationState, TimerKind, TimerState
from notifications.models import Notification, Timer
from notifications.services import notification_acknowledge, timers_sweep
from riskassess.models import RiskAssessment
from riskassess.services import risk_assessment_create
from tests.factories import IncidentFactory
from tests.riskassess.test_services import JTRACK

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def race(
    worker_holds: Callable[[], None], worker_then: Callable[[], None], person: Callable[[], object]
) -> list[BaseException]:
    """A worker transaction takes its first locks (``worker_holds``); the person starts; 0.3 s
    later the worker asks for its next lock (``worker_then``) and commits. Returns what
    either side raised (PostgreSQL names a deadlock within its 1 s deadlock_timeout)."""
    held, started = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with transaction.atomic():
                worker_holds()
                held.set()
                started.wait(10)
                threading.Event().wait(0.3)  # the person is under way meanwhile
                worker_then()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert held.wait(10)
    started.set()
    try:
        person()
    except BaseException as exc:
        errors.append(exc)
    thread.join(20)
    assert not thread.is_alive()
    return errors


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

    # the worker fires the alternate's timer (timer, then notification) while the original
    # manager confirms late, which withdraws the alternate (notification, then its timers)
    errors = race(
        lambda: Timer.objects.select_for_update().get(pk=timer.pk),
        lambda: Notification.objects.select_for_update().get(pk=alternate.pk),
        lambda: notification_acknowledge(notification_id=original.pk, by=original.recipient, method=AckMethod.IN_APP),
    )

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


def test_recording_an_assessment_while_a_worker_writes_about_the_same_incident_does_not_deadlock(org):
    incident = IncidentFactory(reporter=org["reporter"])

    def worker_writes() -> None:
        """What firing a timer does: append to the audit chain (holding its head until the
        commit) and write a row naming the incident (its key checked at the commit)."""
        audit_record(actor=None, action="test.worker", object_type="incident", object_id=incident.pk)
        Timer.objects.create(
            kind=TimerKind.DEADLINE_DUE, incident=incident, due_at=timezone.now(), created_at=timezone.now()
        )

    errors = race(
        worker_writes,
        lambda: None,  # the commit itself checks the key
        lambda: risk_assessment_create(incident=incident, actor=org["dpo"], data=dict(JTRACK)),
    )

    assert errors == []
    assert RiskAssessment.objects.filter(incident=incident).count() == 1
    assert Timer.objects.filter(incident=incident, kind=TimerKind.DEADLINE_DUE).count() >= 1
    assert audit_verify().ok
