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


def test_recording_an_assessment_while_a_worker_writes_about_the_same_incident_does_not_deadlock(org):
    incident = IncidentFactory(reporter=org["reporter"])
    writing, assessing = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        """What firing a timer does: append to the audit chain (holding its head until the
        commit) and write a row naming the incident (its key checked at the commit)."""
        try:
            with transaction.atomic():
                audit_record(actor=None, action="test.worker", object_type="incident", object_id=incident.pk)
                Timer.objects.create(
                    kind=TimerKind.DEADLINE_DUE, incident=incident, due_at=timezone.now(), created_at=timezone.now()
                )
                writing.set()
                assessing.wait(10)
                threading.Event().wait(0.3)  # the assessment has locked the incident meanwhile
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert writing.wait(10)
    assessing.set()
    try:
        risk_assessment_create(incident=incident, actor=org["dpo"], data=dict(JTRACK))
    except BaseException as exc:
        errors.append(exc)
    thread.join(20)

    assert not thread.is_alive()
    assert errors == []
    assert RiskAssessment.objects.filter(incident=incident).count() == 1
    assert Timer.objects.filter(incident=incident, kind=TimerKind.DEADLINE_DUE).count() >= 1
    assert audit_verify().ok
