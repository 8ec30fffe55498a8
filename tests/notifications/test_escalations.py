"""The PC02/2009 chain end to end in one process: real database, real SMTP server, time
moved with time-machine, timers fired by the sweep exactly as beat would."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from breachdesk.audit import audit_verify
from breachdesk.models import AuditEvent
from notifications.choices import AckMethod, DeadlineState, NotificationState, TimerKind, TimerState
from notifications.models import Approval, Deadline, EscalationPolicy, Notification, Timer
from notifications.services import approval_decide, notification_acknowledge, timer_fire, timers_sweep
from notifications.services import timers as timers_module
from notifications.services.timers import firing_inline
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def deadline(incident, code):
    return Deadline.objects.get(incident=incident, code=code)


def notes(incident, **filters):
    return list(Notification.objects.filter(incident=incident, **filters).order_by("id"))


def ack(notification, by=None, method=AckMethod.IN_APP, note=""):
    return notification_acknowledge(
        notification_id=notification.pk, by=by or notification.recipient, method=method, note=note
    )


def report(org, clock, **kwargs):
    incident = IncidentFactory(reporter=org["reporter"], discovered_at=timezone.now() - timedelta(minutes=2), **kwargs)
    timers_sweep()
    return incident


def test_report_emails_the_line_manager_with_a_single_use_link(org, clock, mailbox):
    # when a reporter files an incident and the sweep runs
    incident = report(org, clock)

    # then the line manager has an email with a signed link, and nobody else yet
    [first] = notes(incident)
    assert (first.recipient.username, first.step, first.state) == ("manager", 1, NotificationState.SENT)
    assert first.due_at == first.sent_at + timedelta(minutes=20)
    [email] = mailbox.to("manager@example.org")
    assert incident.reference in email["Subject"]
    assert "OFFICIAL-SENSITIVE" in email["Subject"]
    body = email.get_body(preferencelist=("plain",)).get_content()
    assert incident.description not in body  # no personal data in the email
    assert "You are told as: Line manager." in body
    assert email["Message-ID"] == f"<breachdesk.n{first.pk}.send@testserver>"
    [link] = mailbox.ack_links("manager@example.org")
    assert len(mailbox.messages) == 1

    # when the manager follows the link (no password) and presses the button
    client = Client()
    page = client.get(link)
    assert page.status_code == 200
    first.refresh_from_db()
    assert first.state == NotificationState.SENT  # a GET (or a mail scanner) changes nothing
    done = client.post(link, HTTP_USER_AGENT="TestMail/1.0")
    assert done.status_code == 200
    assert "Receipt confirmed" in done.content.decode()

    # then the receipt is recorded with who and from where, the clock is met, and the ISR,
    # ISIM, Chief Officer and SCS are told
    first.refresh_from_db()
    assert first.state == NotificationState.ACKNOWLEDGED
    assert first.ack_method == AckMethod.LINK
    assert first.acknowledged_by == org["manager"]
    assert "127.0.0.1" in first.ack_from
    assert "TestMail" in first.ack_from
    assert deadline(incident, "manager_informed").state == DeadlineState.MET
    timers_sweep()
    step2 = {n.recipient.username: n for n in notes(incident, step=2)}
    assert set(step2) == {"isr", "isim", "chief", "scs"}
    assert all(n.state == NotificationState.SENT for n in step2.values())
    assert {m["To"] for m in mailbox.messages} >= {"isr@example.org", "chief@example.org"}

    # and the link cannot be used again
    again = client.post(link)
    assert again.status_code == 410
    assert "already confirmed" in again.content.decode()
    assert audit_verify().ok


def test_no_receipt_escalates_to_the_alternate_and_the_siro_sees_it(org, clock, mailbox):
    incident = report(org, clock)
    [first] = notes(incident)

    # when 20 minutes pass without a receipt
    clock.shift(timedelta(minutes=20, seconds=1))
    timers_sweep()

    # then the manager's alternate (the ISR) is asked instead, and the SIRO's list shows it
    first.refresh_from_db()
    assert first.state == NotificationState.ESCALATED
    alternate = first.escalated_to
    assert alternate.recipient == org["isr"]
    assert alternate.state == NotificationState.SENT
    assert "alternate for manager" in alternate.role
    assert mailbox.to("isr@example.org")
    siro = Client()
    siro.force_login(org["siro"])
    tasks = siro.get("/tasks/").content.decode()
    assert "did not confirm" in tasks
    assert incident.reference in tasks

    # when the alternate confirms, the chain moves on and the clock is met
    ack(alternate)
    assert deadline(incident, "manager_informed").state == DeadlineState.MET
    assert {n.recipient.username for n in notes(incident, step=2)} == {"isr", "isim", "chief", "scs"}


def test_when_no_alternate_is_left_the_siro_is_told(org, clock, mailbox):
    incident = report(org, clock)
    clock.shift(timedelta(minutes=21))
    timers_sweep()  # manager -> isr (alternate)
    clock.shift(timedelta(minutes=21))
    timers_sweep()  # isr has no alternate -> SIRO
    chain = notes(incident, step=1)
    assert [n.recipient.username for n in chain] == ["manager", "isr", "siro"]
    assert [n.state for n in chain] == [
        NotificationState.ESCALATED,
        NotificationState.ESCALATED,
        NotificationState.SENT,
    ]


def test_a_late_receipt_from_the_original_withdraws_the_alternate(org, clock, mailbox):
    incident = report(org, clock)
    clock.shift(timedelta(minutes=21))
    timers_sweep()
    original, alternate = notes(incident, step=1)
    _, newly = ack(original)
    assert newly
    alternate.refresh_from_db()
    assert alternate.state == NotificationState.CANCELLED
    assert not Timer.objects.filter(notification=alternate, state=TimerState.PENDING).exists()


def _to_chief(org, clock, mailbox):
    incident = report(org, clock)
    ack(notes(incident)[0])
    timers_sweep()
    return incident


def test_chiefs_receipt_starts_the_national_clock_and_asks_for_a_decision(org, clock, mailbox):
    incident = _to_chief(org, clock, mailbox)
    assert deadline(incident, "national_informed").due_at is None
    chief_note = next(n for n in notes(incident, step=2) if n.recipient == org["chief"])

    clock.shift(timedelta(minutes=5))
    ack(chief_note)

    national = deadline(incident, "national_informed")
    assert national.starts_at == timezone.now()
    assert national.due_at == timezone.now() + timedelta(hours=1)  # PC02-8
    approval = Approval.objects.get(incident=incident)
    assert list(approval.approvers.all()) == [org["chief"]]
    proposed = {p["username"] for p in approval.proposed}
    assert {"director-general", "siro", "isr", "news-desk", "cio"} <= proposed
    chief = Client()
    chief.force_login(org["chief"])
    tasks = chief.get("/tasks/").content.decode()
    assert "inform the national list" in tasks
    assert "Director-General" in tasks


def test_approval_sends_to_every_national_recipient_and_all_receipts_meet_the_clock(org, clock, mailbox):
    incident = _to_chief(org, clock, mailbox)
    for n in notes(incident, step=2):
        ack(n)
    approval = Approval.objects.get(incident=incident)

    approval_decide(approval_id=approval.pk, by=org["chief"], approve=True)
    timers_sweep()

    national = notes(incident, step=3)
    assert len(national) == len(approval.proposed)
    assert all(n.state == NotificationState.SENT for n in national)
    assert mailbox.to("director-general@example.org")
    for n in national[:-1]:
        ack(n)
        assert deadline(incident, "national_informed").state == DeadlineState.PENDING  # every receipt needed
    ack(national[-1])
    assert deadline(incident, "national_informed").state == DeadlineState.MET
    assert incident.escalations.get().state == "completed"
    assert audit_verify().ok


def test_decline_needs_a_reason_and_records_the_decision(org, clock, mailbox):
    incident = _to_chief(org, clock, mailbox)
    assert not Approval.objects.filter(incident=incident).exists()  # nobody in step 2 has confirmed yet
    ack(next(n for n in notes(incident, step=2) if n.recipient == org["chief"]))
    approval = Approval.objects.get(incident=incident)

    with pytest.raises(ValidationError) as excinfo:
        approval_decide(approval_id=approval.pk, by=org["chief"], approve=False, reason="  ")
    assert "reason" in excinfo.value.message_dict
    approval.refresh_from_db()
    assert approval.state == "pending"

    with pytest.raises(PermissionDenied):
        approval_decide(approval_id=approval.pk, by=org["manager"], approve=True)

    approval_decide(
        approval_id=approval.pk,
        by=org["chief"],
        approve=False,
        reason="Encrypted laptop recovered within the hour; no data accessed.",
    )
    national = deadline(incident, "national_informed")
    assert national.state == DeadlineState.NOT_REQUIRED
    assert national.reason.startswith("Encrypted laptop")
    assert not notes(incident, step=3)
    assert AuditEvent.objects.filter(action="approval.declined", incident_ref=incident.reference).exists()


def test_unconfirmed_national_recipient_is_reminded_then_the_sender_is_asked_to_phone(org, clock, mailbox):
    incident = _to_chief(org, clock, mailbox)
    for n in notes(incident, step=2):
        ack(n)
    approval_decide(approval_id=Approval.objects.get(incident=incident).pk, by=org["chief"], approve=True)
    timers_sweep()
    national = notes(incident, step=3)
    for n in national[1:]:
        ack(n)
    silent = national[0]
    address = silent.recipient.email
    assert len(mailbox.to(address)) == 1

    clock.shift(timedelta(minutes=15, seconds=1))
    timers_sweep()
    silent.refresh_from_db()
    assert silent.reminders_sent == 1
    assert len(mailbox.to(address)) == 2
    assert mailbox.to(address)[-1]["Subject"].startswith("[OFFICIAL-SENSITIVE] Reminder:")

    clock.shift(timedelta(minutes=15, seconds=1))
    timers_sweep()
    silent.refresh_from_db()
    assert silent.phone_prompted
    assert silent.state == NotificationState.SENT  # still not informed
    chief = Client()
    chief.force_login(org["chief"])
    assert "Phone these people" in chief.get("/tasks/").content.decode()

    response = chief.post(f"/notifications/{silent.pk}/phone/", {"note": ""})
    silent.refresh_from_db()
    assert silent.state == NotificationState.SENT  # no note, nothing recorded
    chief.post(f"/notifications/{silent.pk}/phone/", {"note": "Spoke to the duty officer at 19:12; confirmed."})
    silent.refresh_from_db()
    assert silent.state == NotificationState.ACKNOWLEDGED
    assert silent.ack_method == AckMethod.PHONE
    assert silent.acknowledged_by == org["chief"]
    assert response.status_code == 302
    assert deadline(incident, "national_informed").state in (DeadlineState.MET, DeadlineState.MISSED)


def test_missed_clock_is_marked_and_the_siro_told(org, clock, mailbox):
    incident = report(org, clock)
    clock.shift(timedelta(hours=1))
    for _ in range(3):
        timers_sweep()
    manager = deadline(incident, "manager_informed")
    assert manager.state == DeadlineState.MISSED
    assert manager.missed_told == ["siro"]
    assert any("missed" in m["Subject"] for m in mailbox.to("siro@example.org"))
    assert AuditEvent.objects.filter(action="deadline.missed", incident_ref=incident.reference).exists()
    page = Client()
    page.force_login(org["siro"])
    assert "Told: siro" in page.get(f"/incidents/{incident.reference}/").content.decode()


def test_ico_reminders_go_to_the_dpo_and_siro_at_24_48_and_66_hours(org, clock, mailbox):
    incident = report(org, clock)
    start = deadline(incident, "ico_notified").starts_at
    for hours in (24, 48, 66):
        clock.move_to(start + timedelta(hours=hours, seconds=1))
        timers_sweep()
        timers_sweep()
    reminders = [m for m in mailbox.to("dpo@example.org") if "72-hour" in m["Subject"]]
    assert len(reminders) == 3
    assert len([m for m in mailbox.to("siro@example.org") if "72-hour" in m["Subject"]]) == 3


def test_recording_the_ico_notification_meets_the_clock(org, clock, mailbox):
    from notifications.services import ico_submission_record

    incident = report(org, clock)
    with pytest.raises(PermissionDenied):
        ico_submission_record(
            incident=incident, actor=org["manager"], kind="initial", submitted_at=timezone.now(), summary="x"
        )
    ico_submission_record(
        incident=incident,
        actor=org["dpo"],
        kind="initial",
        submitted_at=timezone.now(),
        summary="Phoned the ICO helpline",
        case_reference="IC-12345-A1B2",
    )
    ico = deadline(incident, "ico_notified")
    assert ico.state == DeadlineState.MET
    assert not Timer.objects.filter(deadline=ico, state=TimerState.PENDING).exists()  # no more reminders
    follow = ico_submission_record(
        incident=incident,
        actor=org["dpo"],
        kind="follow_up",
        submitted_at=timezone.now(),
        summary="Full report (Art 33(4))",
    )
    assert follow.kind == "follow_up"


def test_a_late_ico_notification_needs_reasons_for_the_delay(org, clock, mailbox):
    from notifications.services import ico_submission_record

    incident = report(org, clock)
    clock.shift(timedelta(hours=80))
    with pytest.raises(ValidationError) as excinfo:
        ico_submission_record(
            incident=incident, actor=org["dpo"], kind="initial", submitted_at=timezone.now(), summary="Initial report"
        )
    assert "late_reason" in excinfo.value.message_dict
    assert not incident.ico_submissions.exists()
    ico_submission_record(
        incident=incident,
        actor=org["dpo"],
        kind="initial",
        submitted_at=timezone.now(),
        summary="Initial report",
        late_reason="The loss only came to light in an audit.",
    )
    ico = deadline(incident, "ico_notified")
    assert ico.state == DeadlineState.MISSED  # late stays late
    assert ico.met_at == timezone.now()
    assert ico.reason == "The loss only came to light in an audit."


def test_ico_not_required_is_a_reasoned_dpo_or_siro_decision(org, clock, mailbox):
    from notifications.choices import DeadlineCode
    from notifications.services import deadline_not_required

    incident = report(org, clock)
    with pytest.raises(PermissionDenied):
        deadline_not_required(incident=incident, code=DeadlineCode.ICO_NOTIFIED, actor=org["chief"], reason="x")
    with pytest.raises(ValidationError):
        deadline_not_required(incident=incident, code=DeadlineCode.ICO_NOTIFIED, actor=org["dpo"], reason="")
    deadline_not_required(
        incident=incident,
        code=DeadlineCode.ICO_NOTIFIED,
        actor=org["dpo"],
        reason="Encrypted device, key safe: unlikely to result in a risk (Art 33(1)).",
    )
    ico = deadline(incident, "ico_notified")
    assert ico.state == DeadlineState.NOT_REQUIRED
    assert ico.decided_by == org["dpo"]
    clock.shift(timedelta(hours=73))
    timers_sweep()
    ico.refresh_from_db()
    assert ico.state == DeadlineState.NOT_REQUIRED  # never marked missed


def test_dpo_can_move_the_ico_clock_with_a_reason(org, clock, mailbox):
    from notifications.choices import DeadlineCode
    from notifications.services import deadline_change_due

    incident = report(org, clock)
    new_due = timezone.now() + timedelta(hours=90)
    with pytest.raises(PermissionDenied):
        deadline_change_due(
            incident=incident, code=DeadlineCode.ICO_NOTIFIED, actor=org["manager"], due_at=new_due, reason="x"
        )
    deadline_change_due(
        incident=incident,
        code=DeadlineCode.ICO_NOTIFIED,
        actor=org["siro"],
        due_at=new_due,
        reason="Awareness was confirmed later than first recorded.",
    )
    event = AuditEvent.objects.get(action="deadline.due_changed")
    assert event.actor == org["siro"]
    clock.shift(timedelta(hours=73))
    timers_sweep()
    assert deadline(incident, "ico_notified").state == DeadlineState.PENDING


def test_stale_or_duplicated_wake_ups_do_nothing(org, clock, mailbox):
    # given a send timer that has already fired once
    incident = IncidentFactory(reporter=org["reporter"])
    timer = Timer.objects.get(incident=incident, kind=TimerKind.NOTIFICATION_SEND)
    token = str(timer.token)
    assert timer_fire(timer_id=timer.pk, token=token)
    assert len(mailbox.messages) == 1

    # when the same wake-up arrives again, or one with a wrong token
    assert not timer_fire(timer_id=timer.pk, token=token)
    timeout = Timer.objects.get(incident=incident, kind=TimerKind.NOTIFICATION_TIMEOUT)
    assert not timer_fire(timer_id=timeout.pk, token="00000000-0000-0000-0000-000000000000")
    # or a timeout whose notification was acknowledged meanwhile (its token was rotated)
    ack(notes(incident)[0])
    timeout.refresh_from_db()
    clock.shift(timedelta(hours=2))
    assert not timer_fire(timer_id=timeout.pk, token=token)

    # then exactly one email went, and nothing escalated
    assert len(mailbox.to("manager@example.org")) == 1
    assert not Notification.objects.filter(incident=incident, state=NotificationState.ESCALATED).exists()


def test_a_wake_up_with_a_token_or_id_that_is_not_one_does_nothing(org, clock, mailbox):
    incident = IncidentFactory(reporter=org["reporter"])
    timer = Timer.objects.get(incident=incident, kind=TimerKind.NOTIFICATION_SEND)
    assert not timer_fire(timer_id=timer.pk, token="not-a-token")
    assert not timer_fire(timer_id="not-a-number", token=str(timer.token))  # type: ignore[arg-type]
    assert not timer_fire(timer_id=None, token=str(timer.token))  # type: ignore[arg-type]
    timer.refresh_from_db()
    assert timer.state == TimerState.PENDING
    assert mailbox.messages == []


def test_a_timer_whose_handler_fails_is_put_back_a_minute_and_the_sweep_goes_on(org, clock, mailbox, monkeypatch):
    # given two incidents' first sends, due now, and a mail step that fails for the first
    first, second = IncidentFactory(reporter=org["reporter"]), IncidentFactory(reporter=org["reporter"])
    failing = Timer.objects.get(incident=first, kind=TimerKind.NOTIFICATION_SEND)
    real = timers_module._handlers

    def handlers():
        table = dict(real())

        def send(timer):
            if timer.pk == failing.pk:
                Notification.objects.filter(pk=timer.notification_id).update(last_error="half-done")
                raise RuntimeError("the handler broke")
            real()[TimerKind.NOTIFICATION_SEND](timer)

        table[TimerKind.NOTIFICATION_SEND] = send
        return table

    monkeypatch.setattr(timers_module, "_handlers", handlers)

    # when the sweep runs
    timers_sweep()

    # then the other incident's send went, and the failed one is pending again a minute on,
    # with nothing its handler wrote kept
    assert [m["X-BreachDesk-Incident"] for m in mailbox.messages] == [second.reference]
    assert Notification.objects.get(incident=second).state == NotificationState.SENT
    failing.refresh_from_db()
    assert failing.state == TimerState.PENDING
    assert failing.fired_at is None
    assert failing.due_at >= timezone.now() + timedelta(seconds=59)
    notification = Notification.objects.get(incident=first)
    assert (notification.state, notification.last_error) == (NotificationState.SCHEDULED, "")

    # and once the fault is gone it fires at its new time
    monkeypatch.setattr(timers_module, "_handlers", real)
    clock.shift(timedelta(seconds=61))
    timers_sweep()
    failing.refresh_from_db()
    assert failing.state == TimerState.FIRED
    assert Notification.objects.get(incident=first).state == NotificationState.SENT


def test_a_send_reads_and_writes_in_a_fixed_number_of_statements(org, clock, mailbox, django_assert_num_queries):
    # Sending reads only some columns of the incident, its unit, the recipient and the
    # escalation: a field the email or the audit event uses and the query left out would
    # be fetched on its own, one statement more.
    incident = IncidentFactory(reporter=org["reporter"])
    timer = Timer.objects.get(incident=incident, kind=TimerKind.NOTIFICATION_SEND)
    # savepoint, claim (on SQLite: read, then mark fired), notification, receipt lookup,
    # (on SQLite: the receipt; on PostgreSQL it is written on a connection of its own),
    # timeout timer, notification update, audit head, audit event, audit head update, release
    with django_assert_num_queries(10 if connection.vendor == "postgresql" else 12):
        assert timer_fire(timer_id=timer.pk, token=str(timer.token))
    [message] = mailbox.messages
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert f"Reference: {incident.reference}" in body
    assert f"Unit: {incident.org_unit.name}" in body
    assert "Found out: " in body
    assert "You are told as: Line manager" in body
    event = AuditEvent.objects.get(
        action="notification.sent", object_id=str(Notification.objects.get(incident=incident).pk)
    )
    assert event.incident_ref == incident.reference
    assert event.after["recipient"] == "manager"
    assert audit_verify().ok


def test_a_timer_not_yet_due_does_not_fire_early(org, clock, mailbox):
    incident = report(org, clock)
    timeout = Timer.objects.get(incident=incident, kind=TimerKind.NOTIFICATION_TIMEOUT)
    assert not timer_fire(timer_id=timeout.pk, token=str(timeout.token))
    timeout.refresh_from_db()
    assert timeout.state == TimerState.PENDING


def test_in_a_worker_a_follow_on_send_that_is_due_fires_once_the_timeout_commits(
    org, clock, mailbox, django_capture_on_commit_callbacks, monkeypatch
):
    # given a manager who has not confirmed by the timeout, and a broker that records wake-ups
    incident = report(org, clock)
    enqueued = []
    monkeypatch.setattr(timers_module, "_enqueue_fire", lambda *args: enqueued.append(args))
    timeout = Timer.objects.get(incident=incident, kind=TimerKind.NOTIFICATION_TIMEOUT)
    clock.shift(timedelta(minutes=20, seconds=1))

    # when a worker fires the timeout
    with django_capture_on_commit_callbacks(execute=True), firing_inline():
        assert timer_fire(timer_id=timeout.pk, token=str(timeout.token))

    # then the alternate's email went at once from the same worker, not through the queue
    [send] = Timer.objects.filter(incident=incident, kind=TimerKind.NOTIFICATION_SEND, state=TimerState.FIRED)[1:]
    assert send.fired_at == send.due_at
    assert mailbox.to("isr@example.org")
    assert [args[0] for args in enqueued] == [
        t.pk for t in Timer.objects.filter(incident=incident, kind=TimerKind.NOTIFICATION_TIMEOUT, state="pending")
    ]  # only the alternate's own timeout, which is not yet due, goes to the broker


def test_outside_a_worker_a_due_timer_goes_to_the_broker(
    org, clock, mailbox, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued = []
    monkeypatch.setattr(timers_module, "_enqueue_fire", lambda *args: enqueued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        incident = IncidentFactory(reporter=org["reporter"])
    # every timer due within the hour (the send, due now, and the one-hour clock) is
    # handed to the broker; nothing fires in the reporting request itself
    due_soon = Timer.objects.filter(incident=incident, due_at__lte=timezone.now() + timedelta(hours=1))
    assert sorted(args[0] for args in enqueued) == sorted(due_soon.values_list("pk", flat=True))
    assert due_soon.filter(kind=TimerKind.NOTIFICATION_SEND, state=TimerState.PENDING).exists()
    assert not mailbox.messages


def test_a_worker_reuses_its_mail_connection_and_replaces_one_the_server_dropped(org, clock, mailbox, settings):
    # given two incidents' notifications sent one after the other by the same process
    IncidentFactory(reporter=org["reporter"])
    IncidentFactory(reporter=org["reporter2"])
    assert timers_sweep() >= 2
    # then both went over one connection
    assert len(mailbox.messages) == 2
    assert len(set(mailbox.peers)) == 1

    # when the server drops the connection (restarted), the next send opens a new one and
    # the message is offered once
    mailbox.controller.stop()
    mailbox.controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    mailbox.controller.start()
    IncidentFactory(reporter=org["reporter"])
    timers_sweep()
    assert len(mailbox.messages) == 3
    assert len(set(mailbox.peers)) == 2

    # and a connection idle for longer than EMAIL_IDLE_SECONDS is not trusted at all
    settings.EMAIL_IDLE_SECONDS = 0
    IncidentFactory(reporter=org["reporter"])
    timers_sweep()
    assert len(mailbox.messages) == 4
    assert len(set(mailbox.peers)) == 3
    assert Notification.objects.filter(state=NotificationState.SENT, attempts=1).count() == 4


def test_editing_the_policy_does_not_change_a_running_escalation(org, clock, mailbox):
    incident = report(org, clock)
    step = EscalationPolicy.objects.get(is_default=True).steps.get(order=1)
    step.ack_timeout = timedelta(hours=5)
    step.save()
    clock.shift(timedelta(minutes=21))
    timers_sweep()
    assert notes(incident)[0].state == NotificationState.ESCALATED  # still the 20 minutes it started with


def test_failed_delivery_is_retried_with_backoff_then_escalated(org, clock, mailbox, settings):
    # given an SMTP server that refuses connections
    settings.EMAIL_PORT = 1  # nothing listens there
    incident = report(org, clock)
    [first] = notes(incident)
    assert first.state == NotificationState.SCHEDULED
    assert first.attempts == 1
    assert first.last_error
    retry = Timer.objects.filter(notification=first, kind=TimerKind.NOTIFICATION_SEND, state=TimerState.PENDING).get()
    assert retry.due_at == timezone.now() + timedelta(seconds=settings.NOTIFICATION_RETRY_BASE_SECONDS)

    # when every attempt fails
    for _ in range(settings.NOTIFICATION_MAX_ATTEMPTS):
        clock.shift(timedelta(minutes=10))
        timers_sweep()

    # then it is failed, never counted as informed, and the alternate is asked
    first.refresh_from_db()
    assert first.state == NotificationState.FAILED
    assert first.attempts == settings.NOTIFICATION_MAX_ATTEMPTS
    assert first.escalated_to is not None
    assert first.escalated_to.recipient == org["isr"]
    assert deadline(incident, "manager_informed").state != DeadlineState.MET


def test_link_tampered_or_expired(org, clock, mailbox, settings):
    incident = report(org, clock)
    [link] = mailbox.ack_links("manager@example.org")
    client = Client()
    assert client.get(link[:-3] + "xx/").status_code == 404
    clock.shift(timedelta(hours=settings.ACK_LINK_MAX_AGE_HOURS, seconds=1))
    response = client.post(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert notes(incident)[0].state != NotificationState.ACKNOWLEDGED


def test_in_app_acknowledgement_only_by_the_recipient(org, clock, mailbox):
    incident = report(org, clock)
    [first] = notes(incident)
    other = Client()
    other.force_login(org["isim"])
    assert other.post(f"/notifications/{first.pk}/acknowledge/").status_code == 404
    manager = Client()
    manager.force_login(org["manager"])
    assert incident.reference in manager.get("/tasks/").content.decode()
    manager.post(f"/notifications/{first.pk}/acknowledge/")
    first.refresh_from_db()
    assert first.state == NotificationState.ACKNOWLEDGED
    assert first.ack_method == AckMethod.IN_APP


def test_start_investigation_meets_the_first_day_clock(org, clock, mailbox):
    incident = report(org, clock)
    isim = Client()
    isim.force_login(org["isim"])
    isim.post(f"/incidents/{incident.reference}/investigation/start/")
    incident.refresh_from_db()
    assert incident.status == "under_investigation"
    assert deadline(incident, "investigation_started").state == DeadlineState.MET
    reporter = Client()
    reporter.force_login(org["reporter"])
    assert (
        reporter.post(
            f"/incidents/{IncidentFactory(reporter=org['reporter']).reference}/investigation/start/"
        ).status_code
        == 403
    )


def test_subjects_clock_starts_once_high_risk_is_assessed(org, clock, mailbox):
    from notifications.services import subjects_deadline_start

    incident = report(org, clock)
    assert not Deadline.objects.filter(incident=incident, code="subjects_informed").exists()
    subjects_deadline_start(incident=incident, assessed_at=timezone.now(), actor=org["dpo"])
    subjects_deadline_start(incident=incident, assessed_at=timezone.now(), actor=org["dpo"])
    assert deadline(incident, "subjects_informed").due_at == timezone.now() + timedelta(hours=72)


def test_an_earlier_discovery_time_moves_pending_clocks_but_a_later_one_does_not(org, clock, mailbox):
    from incidents.services import incident_update

    incident = report(org, clock)
    ico_due = deadline(incident, "ico_notified").due_at
    earlier = incident.discovered_at - timedelta(hours=5)
    incident_update(incident=incident, actor=org["reporter"], changes={"discovered_at": earlier})
    assert deadline(incident, "ico_notified").due_at == ico_due - timedelta(hours=5)
    assert deadline(incident, "manager_informed").due_at == earlier + timedelta(hours=1)
    # the old due timer no longer fires; the new one does
    clock.move_to(earlier + timedelta(hours=1, seconds=1))
    timers_sweep()
    timers_sweep()
    assert deadline(incident, "manager_informed").state == DeadlineState.MISSED

    incident.refresh_from_db()
    incident_update(
        incident=incident, actor=org["reporter"], changes={"discovered_at": earlier + timedelta(minutes=30)}
    )
    assert deadline(incident, "ico_notified").due_at == ico_due - timedelta(hours=5)  # not moved later
