"""The breach management plan's services: actions, notices, root causes, lessons, the tracker
form, enquiries, the lifecycle and its closing checks, and recurrence."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from breachdesk.models import AuditEvent, ControlCheck, OrgUnit
from incidents.models import Action, Enquiry, Incident, Lesson, PartyNotice, RootCause, TrackerFormVersion
from incidents.selectors import closure_missing, open_actions_for_user, recurring_for_user, similar_incidents
from incidents.services import (
    action_create,
    action_finish,
    enquiry_record,
    enquiry_update,
    incident_transition,
    lesson_record,
    party_notice_record,
    root_cause_record,
    tracker_form_update,
)
from notifications.models import Approval, Deadline, Notification, Timer
from notifications.services.deadlines import ico_submission_record
from notifications.services.escalations import approval_decide, notification_acknowledge
from notifications.services.timers import timers_sweep
from riskassess.services import decision_record, risk_assessment_create
from tests.factories import IncidentFactory
from tests.riskassess.test_services import JTRACK

pytestmark = pytest.mark.django_db

COMPLETE_TRACKER = {
    "summary": "A memory stick with a case list was lost on a train.",
    "data_involved": "Names, addresses and offences of 40 people on licence.",
    "people_affected": "40 offenders on licence.",
    "containment": "Lost property and the train company searched; not found.",
    "ongoing_risk": "Low: no sign the stick was found by anyone.",
    "notifications": "ICO told on day 2; the people affected told by letter.",
    "next_steps": "Encrypt all removable media in the office.",
    "investigating_officer": "Ian Sim, ISIM",
}


@pytest.fixture
def incident(org):
    return IncidentFactory(reporter=org["reporter"])


def make_ready_to_close(org, incident, *, skip=()):
    """Everything closing asks for, except what ``skip`` names."""
    if "tracker" in skip:
        incident_transition(incident=incident, actor=org["manager"], target="under_investigation")
    if "containment" not in skip:
        action = action_create(
            incident=incident,
            actor=org["isim"],
            kind="containment",
            description="Search lost property",
            owner=org["manager"],
        )
        action_finish(action=action, actor=org["manager"], done=True, text="Searched; not found.")
    if "assessment" not in skip:
        risk_assessment_create(incident=incident, actor=org["isim"], data=dict(JTRACK))
    if "decisions" not in skip and "assessment" not in skip:
        decision_record(
            incident=incident, actor=org["dpo"], kind="notify_regulator", decision=True, reason="High risk."
        )
        decision_record(incident=incident, actor=org["dpo"], kind="notify_subjects", decision=True, reason="High risk.")
        decision_record(incident=incident, actor=org["dpo"], kind="involve_police", decision=False, reason="No theft.")
    if "ico" not in skip:
        ico_submission_record(
            incident=incident, actor=org["dpo"], kind="initial", submitted_at=timezone.now(), summary="Initial report."
        )
    if "subjects_told" not in skip:
        party_notice_record(
            incident=incident,
            actor=org["isim"],
            party="data_subjects",
            method="direct_letter",
            recipient="40 people on licence",
            told_at=timezone.now(),
            summary="What happened and what we are doing.",
            people_count=40,
        )
    if "tracker" not in skip:
        tracker = dict(COMPLETE_TRACKER)
        if "tracker_complete" in skip:
            tracker["next_steps"] = ""
        tracker_form_update(incident=incident, actor=org["isim"], fields=tracker)
    if "lessons" not in skip:
        lesson_record(incident=incident, actor=org["isim"], text="Removable media must be encrypted.")
    if "improvement" not in skip:
        action_create(
            incident=incident,
            actor=org["isim"],
            kind="improvement",
            topic="technical",
            description="Encrypt every memory stick in the office",
            owner=org["manager"],
            due_on=timezone.localdate() + timedelta(days=30),
        )
    if "receipts" not in skip:
        confirm_the_chain(incident)
    incident.refresh_from_db()
    return incident


def confirm_the_chain(incident, *, approve=False):
    """Every recipient confirms in the app, step after step, and each approval is decided
    (by default: the national list is not needed), until the chain waits for nothing."""
    for _ in range(10):
        waiting = list(
            Notification.objects.filter(incident=incident, ack_required=True, state__in=["scheduled", "sent"])
        )
        pending = list(Approval.objects.filter(incident=incident, state="pending"))
        if not waiting and not pending:
            return
        for n in waiting:
            notification_acknowledge(notification_id=n.pk, by=n.recipient, method="in_app")
        for approval in pending:
            approval_decide(
                approval_id=approval.pk,
                by=approval.approvers.order_by("pk").first(),
                approve=approve,
                reason="" if approve else "Contained within the unit; no national escalation needed.",
            )
    raise AssertionError("the chain did not settle")


# --- lifecycle -----------------------------------------------------------------------------


def test_an_incident_walks_from_reported_to_closed_and_back(org, incident):
    # given an incident handled properly
    make_ready_to_close(org, incident)
    assert incident.status == "under_investigation"  # the tracker form started the investigation
    # when the ISIM marks it contained and the Chief Officer closes it
    incident_transition(incident=incident, actor=org["isim"], target="contained")
    closed = incident_transition(incident=incident, actor=org["chief"], target="closed")
    # then
    assert closed.status == "closed"
    assert closed.closed_at is not None
    events = list(AuditEvent.objects.filter(action="incident.status_changed").values_list("after", flat=True))
    assert [e["status"] for e in events] == ["under_investigation", "contained", "closed"]
    # a closed incident is re-opened only with a reason
    with pytest.raises(ValidationError, match="Give the reason"):
        incident_transition(incident=closed, actor=org["chief"], target="under_investigation")
    reopened = incident_transition(
        incident=closed, actor=org["dpo"], target="under_investigation", reason="A second copy turned up."
    )
    assert reopened.status == "under_investigation"
    assert reopened.closed_at is None
    assert reopened.timeline.filter(kind="status_changed", body__contains="A second copy turned up").exists()


@pytest.mark.parametrize(
    ("start", "target", "message"),
    [
        ("reported", "closed", "A reported incident cannot become closed"),
        ("reported", "contained", "A reported incident cannot become contained"),
        ("reported", "reported", "A reported incident cannot become reported"),
    ],
)
def test_transitions_not_in_the_table_are_refused(org, incident, start, target, message):
    assert incident.status == start
    with pytest.raises(ValidationError, match=message):
        incident_transition(incident=incident, actor=org["siro"], target=target)
    assert Incident.objects.get(pk=incident.pk).status == start


def test_an_unknown_status_is_refused(org, incident):
    with pytest.raises(ValidationError, match="Choose a status"):
        incident_transition(incident=incident, actor=org["siro"], target="archived")


@pytest.mark.parametrize(
    ("username", "allowed"),
    [("reporter", False), ("press", False), ("manager", True), ("isim", True), ("chief", True), ("siro", True)],
)
def test_who_may_start_the_investigation(org, incident, username, allowed):
    if allowed:
        assert incident_transition(incident=incident, actor=org[username], target="under_investigation").status == (
            "under_investigation"
        )
        assert Deadline.objects.get(incident=incident, code="investigation_started").state == "met"
    else:
        with pytest.raises(PermissionDenied):
            incident_transition(incident=incident, actor=org[username], target="under_investigation")
        assert Incident.objects.get(pk=incident.pk).status == "reported"


@pytest.mark.parametrize(
    ("username", "allowed"), [("isim", False), ("manager", False), ("dpo", False), ("chief", True)]
)
def test_only_the_chief_officer_deputy_or_siro_close(org, incident, username, allowed):
    make_ready_to_close(org, incident)
    if allowed:
        assert incident_transition(incident=incident, actor=org[username], target="closed").status == "closed"
    else:
        with pytest.raises(PermissionDenied, match="close the incident"):
            incident_transition(incident=incident, actor=org[username], target="closed")


def test_going_back_from_contained_needs_a_reason(org, incident):
    make_ready_to_close(org, incident)
    incident_transition(incident=incident, actor=org["isim"], target="contained")
    with pytest.raises(ValidationError, match="Give the reason"):
        incident_transition(incident=incident, actor=org["isim"], target="under_investigation")
    back = incident_transition(incident=incident, actor=org["isim"], target="under_investigation", reason="More found")
    assert back.status == "under_investigation"


def test_contained_needs_containment_done_or_explained(org, incident):
    incident_transition(incident=incident, actor=org["isim"], target="under_investigation")
    with pytest.raises(ValidationError, match="No containment and recovery action is recorded"):
        incident_transition(incident=incident, actor=org["isim"], target="contained")
    action = action_create(
        incident=incident, actor=org["isim"], kind="containment", description="Recall the email", owner=org["manager"]
    )
    with pytest.raises(ValidationError, match="Containment action still to do: Recall the email"):
        incident_transition(incident=incident, actor=org["isim"], target="contained")
    action_finish(action=action, actor=org["isim"], done=False, text="The recipient's server had already delivered it.")
    assert incident_transition(incident=incident, actor=org["isim"], target="contained").status == "contained"


CLOSURE_CASES = [
    ("containment", "No containment and recovery action is recorded"),
    ("assessment", "No risk assessment is recorded"),
    ("decisions", "No decision is recorded on: Notify the ICO"),
    ("ico", "The decision was to notify the ICO, but no submission is recorded"),
    ("subjects_told", "The decision was to tell the people affected, but telling them is not recorded"),
    ("tracker", "The Security Incident Tracker Form is not started"),
    ("tracker_complete", "The tracker form is not complete: next steps"),
    ("lessons", "No lessons learned are recorded"),
    ("improvement", "No improvement action is recorded"),
]


@pytest.mark.parametrize(("skip", "message"), CLOSURE_CASES)
def test_closing_is_refused_with_what_is_missing(org, incident, skip, message):
    # given an incident missing one thing
    incident = make_ready_to_close(
        org, incident, skip={skip} | ({"ico", "subjects_told"} if skip == "assessment" else set())
    )
    # when the Chief Officer tries to close it
    with pytest.raises(ValidationError) as excinfo:
        incident_transition(incident=incident, actor=org["chief"], target="closed")
    # then the message lists exactly what is missing, and nothing changed
    messages = excinfo.value.message_dict["status"]
    assert messages[0] == "The incident cannot be closed yet:"
    assert message in messages
    assert Incident.objects.get(pk=incident.pk).status == "under_investigation"
    assert not AuditEvent.objects.filter(action="incident.status_changed", after__status="closed").exists()


NATIONAL_CLOCK_RUNNING = (
    "The clock “National list informed by the Chief Officer (within 1 hour)” is still running: "
    "meet it or record why not"
)


def test_closing_waits_for_every_receipt_approval_and_clock(org, incident, mailbox):
    # given an incident handled properly whose line manager was emailed and has not confirmed
    timers_sweep()
    incident = make_ready_to_close(org, incident, skip={"receipts"})
    [first] = Notification.objects.filter(incident=incident)
    assert (first.recipient, first.state) == (org["manager"], "sent")
    manager = f"{org['manager'].get_full_name()} (Line manager)"
    # when the Chief Officer tries to close it, then the receipt and its clock are missing
    assert [m.message for m in closure_missing(incident)] == [
        f"{manager} has not confirmed receipt: confirm it, or record the phone call",
        "The clock “Line manager informed (within 1 hour)” is still running: meet it or record why not",
    ]
    with pytest.raises(ValidationError, match="has not confirmed receipt") as excinfo:
        incident_transition(incident=incident, actor=org["chief"], target="closed")
    assert excinfo.value.message_dict["status"][0] == "The incident cannot be closed yet:"
    assert Incident.objects.get(pk=incident.pk).status == "under_investigation"
    # when the manager confirms, the next step is told, and the Chief Officer's decision on
    # the national list is awaited once they confirm too
    notification_acknowledge(notification_id=first.pk, by=org["manager"], method="in_app")
    timers_sweep()
    unconfirmed = "has not confirmed receipt: confirm it, or record the phone call"
    assert [m.message for m in closure_missing(incident)] == [
        f"Isla Reid (Information Security Representative) {unconfirmed}",
        f"Ian Sim (Information Security Incident Manager) {unconfirmed}",
        f"Cath Oduya (Chief Officer) {unconfirmed}",
        f"Sam Clarke (Senior Civil Service member) {unconfirmed}",
    ]
    for n in Notification.objects.filter(incident=incident, state="sent"):
        notification_acknowledge(notification_id=n.pk, by=n.recipient, method="in_app")
    assert [m.message for m in closure_missing(incident)] == [
        "Step 3 of the escalation waits for a decision by the Chief Officer",
        NATIONAL_CLOCK_RUNNING,
    ]
    # when they record that the national list is not needed, the incident closes
    confirm_the_chain(incident)
    assert closure_missing(incident) == []
    assert incident_transition(incident=incident, actor=org["chief"], target="closed").status == "closed"
    # and nothing is left to fire about it: no reminder or escalation follows the closure
    assert not Timer.objects.filter(incident=incident, state="pending").exists()


def test_an_open_containment_action_blocks_closing(org, incident):
    make_ready_to_close(org, incident)
    action_create(incident=incident, actor=org["isim"], kind="containment", description="Remote wipe", owner=org["isr"])
    assert [m.message for m in closure_missing(incident)] == [
        "Containment action still to do: Remote wipe (mark it done, or explain why not)"
    ]


def test_a_decision_to_involve_the_police_needs_the_police_told(org, incident):
    make_ready_to_close(org, incident)
    decision_record(incident=incident, actor=org["dpo"], kind="involve_police", decision=True, reason="Stolen.")
    assert [m.message for m in closure_missing(incident)] == [
        "The decision was to involve the police, but telling them is not recorded"
    ]
    party_notice_record(
        incident=incident,
        actor=org["isim"],
        party="police",
        method="phone",
        recipient="Northumbria Police",
        told_at=timezone.now(),
        summary="Reported the theft.",
    )
    assert closure_missing(incident) == []


def test_a_closed_incident_refuses_plan_changes_but_improvements_outlive_it(org, incident):
    make_ready_to_close(org, incident)
    improvement = Action.objects.get(incident=incident, kind="improvement")
    incident = incident_transition(incident=incident, actor=org["chief"], target="closed")
    with pytest.raises(ValidationError, match="closed: re-open it"):
        lesson_record(incident=incident, actor=org["isim"], text="Another lesson")
    with pytest.raises(ValidationError, match="closed: re-open it"):
        tracker_form_update(incident=incident, actor=org["isim"], fields={**COMPLETE_TRACKER, "summary": "x"})
    # the improvement action stays on its owner's list and can still be finished
    assert list(open_actions_for_user(org["manager"])) == [improvement]
    action_finish(action=improvement, actor=org["manager"], done=True, text="All sticks replaced with encrypted ones.")
    assert list(open_actions_for_user(org["manager"])) == []


# --- actions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"description": "  "}, "description", "Enter what must be done"),
        ({"description": "x" * 501}, "description", "500 characters"),
        ({"kind": "tidy"}, "kind", "Choose containment or improvement"),
        ({"kind": "improvement", "topic": ""}, "topic", "Choose what the improvement changes"),
        ({"kind": "improvement", "topic": "training", "due_on": None}, "due_on", "Enter when the improvement is due"),
        ({"due_on": "yesterday"}, "due_on", "today or later"),
        ({"topic": "nonsense"}, "topic", "Choose a topic"),
    ],
)
def test_action_bad_input_is_refused_and_nothing_written(org, incident, overrides, field, message):
    data = {
        "kind": "containment",
        "description": "Recall the email",
        "owner": org["manager"],
        "due_on": None,
        "topic": "",
    }
    data.update(overrides)
    if data["due_on"] == "yesterday":
        data["due_on"] = timezone.localdate() - timedelta(days=1)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        action_create(incident=incident, actor=org["isim"], **data)
    assert any(message in m for m in excinfo.value.message_dict[field])
    assert not Action.objects.exists()
    assert AuditEvent.objects.count() == events


def test_actions_are_for_managers_and_finished_by_owner_or_manager(org, incident):
    with pytest.raises(PermissionDenied):
        action_create(
            incident=incident, actor=org["reporter"], kind="containment", description="x", owner=org["reporter"]
        )
    action = action_create(
        incident=incident, actor=org["isim"], kind="containment", description="Recall the email", owner=org["reporter"]
    )
    # someone who neither owns it nor manages cannot finish it
    with pytest.raises(PermissionDenied):
        action_finish(action=action, actor=org["press"], done=True, text="Done")
    with pytest.raises(ValidationError, match="why it was not done"):
        action_finish(action=action, actor=org["reporter"], done=False, text=" ")
    # the owner can, even without a managing role
    done = action_finish(action=action, actor=org["reporter"], done=True, text="Recalled at 18:05; confirmed.")
    assert (done.state, done.completed_by) == ("done", org["reporter"])
    with pytest.raises(ValidationError, match="already done"):
        action_finish(action=action, actor=org["isim"], done=False, text="Changed my mind")
    assert AuditEvent.objects.filter(action="action.done", object_id=str(action.pk)).count() == 1


# --- notification of breach ----------------------------------------------------------------


def test_telling_the_people_affected_meets_the_art34_clock(org, incident):
    risk_assessment_create(incident=incident, actor=org["isim"], data=dict(JTRACK))
    assert Deadline.objects.get(incident=incident, code="subjects_informed").state == "pending"
    party_notice_record(
        incident=incident,
        actor=org["isim"],
        party="data_subjects",
        method="intermediary",
        recipient="Probation officers of the 34 people",
        told_at=timezone.now(),
        summary="Each was told in person.",
        people_count=34,
    )
    deadline = Deadline.objects.get(incident=incident, code="subjects_informed")
    assert deadline.state == "met"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"party": "press"}, "cleared_by", "cleared by the Press Office"),
        ({"party": "press", "cleared_by": "isim"}, "cleared_by", "must be in the Press Office"),
        ({"told_at": "future"}, "told_at", "must not be in the future"),
        ({"told_at": "before"}, "told_at", "before the incident was found out"),
        ({"recipient": ""}, "recipient", "Enter who was told"),
        ({"summary": ""}, "summary", "Enter what they were told"),
        ({"method": "pigeon"}, "method", "Choose how"),
        ({"party": "everyone"}, "party", "Choose who was told"),
        ({"people_count": -1}, "people_count", "0 or more"),
    ],
)
def test_notice_bad_input_is_refused(org, incident, overrides, field, message):
    data = {
        "party": "police",
        "method": "phone",
        "recipient": "Northumbria Police",
        "told_at": timezone.now(),
        "summary": "Reported.",
    }
    data.update(overrides)
    if data["told_at"] == "future":
        data["told_at"] = timezone.now() + timedelta(hours=1)
    elif data["told_at"] == "before":
        data["told_at"] = incident.discovered_at - timedelta(minutes=1)
    if isinstance(data.get("cleared_by"), str):
        data["cleared_by"] = org[data["cleared_by"]]
    with pytest.raises(ValidationError) as excinfo:
        party_notice_record(incident=incident, actor=org["isim"], **data)
    assert any(message in m for m in excinfo.value.message_dict[field])
    assert not PartyNotice.objects.exists()


def test_a_press_line_cleared_by_the_press_office_is_recorded(org, incident):
    notice = party_notice_record(
        incident=incident,
        actor=org["isim"],
        party="press",
        method="other",
        recipient="Reactive line for the Evening Chronicle",
        told_at=timezone.now(),
        summary="We are aware and investigating.",
        cleared_by=org["press"],
    )
    assert notice.cleared_by == org["press"]


# --- evaluation and response ---------------------------------------------------------------


def test_root_causes_come_from_the_list_once_each_and_may_cite_a_relevant_control(org, incident):
    unit = incident.org_unit
    area = unit.parent
    today = timezone.localdate()
    own = ControlCheck.objects.create(
        subject="unit", unit=area, kind="media_encrypted", in_place=False, checked_on=today,
        recorded_by=org["siro"], recorded_at=timezone.now(),
    )  # fmt: skip
    elsewhere = ControlCheck.objects.create(
        subject="unit", unit=OrgUnit.objects.get(code="NE-DUR"), kind="media_encrypted", in_place=False,
        checked_on=today, recorded_by=org["siro"], recorded_at=timezone.now(),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="one recorded for the incident's unit"):
        root_cause_record(incident=incident, actor=org["isim"], cause="unencrypted_media", control=elsewhere)
    cause = root_cause_record(incident=incident, actor=org["isim"], cause="unencrypted_media", control=own)
    assert cause.control == own
    with pytest.raises(ValidationError, match="already recorded"):
        root_cause_record(incident=incident, actor=org["isim"], cause="unencrypted_media")
    with pytest.raises(ValidationError, match="Enter the details"):
        root_cause_record(incident=incident, actor=org["isim"], cause="other")
    with pytest.raises(ValidationError, match="Choose a root cause"):
        root_cause_record(incident=incident, actor=org["isim"], cause="bad_luck")
    assert RootCause.objects.count() == 1


def test_lessons_need_text_and_a_managing_role(org, incident):
    with pytest.raises(ValidationError, match="Enter the lesson learned"):
        lesson_record(incident=incident, actor=org["isim"], text="  ")
    with pytest.raises(PermissionDenied):
        lesson_record(incident=incident, actor=org["reporter"], text="Something")
    assert not Lesson.objects.exists()


def test_the_tracker_form_is_versioned_and_starting_it_starts_the_investigation(org, incident):
    first = tracker_form_update(incident=incident, actor=org["isim"], fields={"summary": "Lost stick."})
    assert first.version == 1
    assert not first.complete
    assert "Next steps" in first.missing
    incident.refresh_from_db()
    assert incident.status == "under_investigation"
    assert Deadline.objects.get(incident=incident, code="investigation_started").state == "met"
    with pytest.raises(ValidationError, match="Nothing has changed since version 1"):
        tracker_form_update(incident=incident, actor=org["isr"], fields={"summary": "Lost stick."})
    second = tracker_form_update(incident=incident, actor=org["isr"], fields=COMPLETE_TRACKER, change_note="Day 2")
    assert (second.version, second.complete, second.created_by) == (2, True, org["isr"])
    # the first version is kept as it was
    assert TrackerFormVersion.objects.get(incident=incident, version=1).data_involved == ""
    with pytest.raises(ValidationError, match="not a tracker form field"):
        tracker_form_update(incident=incident, actor=org["isr"], fields={"colour": "blue"})
    with pytest.raises(ValidationError, match="at least one part"):
        tracker_form_update(incident=incident, actor=org["isr"], fields={})
    assert TrackerFormVersion.objects.filter(incident=incident).count() == 2


# --- enquiries -----------------------------------------------------------------------------


def test_an_enquiry_is_answered_only_after_identity_is_verified_and_lists_the_fields(org, incident):
    enquiry = enquiry_record(
        incident=incident, actor=org["isim"], kind="enquiry", person_name="A. Person", received_at=timezone.now()
    )
    now = timezone.now()
    with pytest.raises(ValidationError, match="Verify the person's identity"):
        enquiry_update(enquiry=enquiry, actor=org["isim"], changes={"answered_at": now, "data_held": False})
    with pytest.raises(ValidationError, match="Say how the identity was verified"):
        enquiry_update(enquiry=enquiry, actor=org["isim"], changes={"identity_verified": True})
    with pytest.raises(ValidationError, match="List the fields held"):
        enquiry_update(
            enquiry=enquiry,
            actor=org["isim"],
            changes={"identity_verified": True, "identity_method": "Passport", "data_held": True, "answered_at": now},
        )
    assert Enquiry.objects.get(pk=enquiry.pk).answered_at is None
    answered = enquiry_update(
        enquiry=enquiry,
        actor=org["isim"],
        changes={
            "identity_verified": True,
            "identity_method": "Passport seen",
            "data_held": True,
            "fields_held": "name, date of birth, release date",
            "answered_at": now,
        },
    )
    assert answered.answered_at == now
    event = AuditEvent.objects.filter(action="enquiry.updated").get()
    assert event.after["fields_held"] == "name, date of birth, release date"


def test_complaints_and_claims_record_outcome_compensation_and_apology(org, incident):
    claim = enquiry_record(
        incident=incident, actor=org["dpo"], kind="compensation_claim", person_name="B", received_at=timezone.now()
    )
    with pytest.raises(ValidationError, match="0 or more"):
        enquiry_update(enquiry=claim, actor=org["dpo"], changes={"compensation_paid": -5})
    settled = enquiry_update(
        enquiry=claim,
        actor=org["dpo"],
        changes={"outcome": "settled", "compensation_paid": 250, "apology_at": timezone.now()},
    )
    assert (settled.outcome, settled.compensation_paid) == ("settled", 250)
    complaint = enquiry_record(
        incident=incident, actor=org["dpo"], kind="complaint", person_name="C", received_at=timezone.now()
    )
    with pytest.raises(ValidationError, match="recorded on a compensation claim"):
        enquiry_update(enquiry=complaint, actor=org["dpo"], changes={"compensation_paid": 10})
    with pytest.raises(ValidationError, match="must not be in the future"):
        enquiry_record(
            incident=incident, actor=org["dpo"], kind="complaint", person_name="D",
            received_at=timezone.now() + timedelta(days=1),
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        enquiry_record(
            incident=incident, actor=org["reporter"], kind="complaint", person_name="E", received_at=timezone.now()
        )
    assert Enquiry.objects.count() == 2


# --- recurrence ----------------------------------------------------------------------------


def _incident(org, *, days_before=0, reporter="reporter", **kwargs):
    return IncidentFactory(
        reporter=org[reporter], discovered_at=timezone.now() - timedelta(days=days_before, minutes=5), **kwargs
    )


def test_similar_incidents_same_unit_and_category_within_the_window(org, settings):
    settings.RECURRENCE_WINDOW_DAYS = 30
    first = _incident(org, days_before=20, category="emailed_to_wrong_recipient")
    second = _incident(org, days_before=10, category="emailed_to_wrong_recipient")
    other_kind = _incident(org, days_before=5, category="device_lost_or_stolen")
    other_unit = _incident(org, days_before=5, reporter="reporter2", category="emailed_to_wrong_recipient")
    third = _incident(org, category="emailed_to_wrong_recipient")

    found = similar_incidents(third, user=org["siro"])
    assert [s.incident for s in found] == [second, first]
    assert all(s.earlier and s.reasons == ("same unit and kind of loss",) for s in found)
    assert other_kind not in [s.incident for s in found]
    assert other_unit not in [s.incident for s in found]
    # the link works both ways
    assert [s.incident for s in similar_incidents(first, user=org["siro"])] == [third, second]
    assert not similar_incidents(first, user=org["siro"])[0].earlier


def test_the_window_edges(org, settings):
    settings.RECURRENCE_WINDOW_DAYS = 30
    now = timezone.now()
    base = IncidentFactory(reporter=org["reporter"], discovered_at=now - timedelta(minutes=1))
    on_edge = IncidentFactory(reporter=org["reporter"], discovered_at=base.discovered_at - timedelta(days=30))
    past_edge = IncidentFactory(
        reporter=org["reporter"], discovered_at=base.discovered_at - timedelta(days=30, seconds=1)
    )
    found = [s.incident for s in similar_incidents(base, user=org["siro"])]
    assert on_edge in found
    assert past_edge not in found
    # a configurable window
    assert past_edge in [s.incident for s in similar_incidents(base, user=org["siro"], window_days=31)]


def test_same_processor_matches_across_units_ignoring_case_and_spaces(org):
    first = _incident(
        org, days_before=3, reporter="reporter2", third_party="Acme Shredding Ltd", category="other_non_cyber"
    )
    again = _incident(org, third_party="  acme shredding ltd ", category="paperwork_lost_or_insecure")
    _incident(org, days_before=2, reporter="reporter2", third_party="Acme Couriers", category="other_non_cyber")
    found = similar_incidents(again, user=org["siro"])
    assert [s.incident for s in found] == [first]
    assert found[0].reasons == ("same processor or partner (Acme Shredding Ltd)",)


def test_same_data_set_matches(org):
    first = _incident(org, days_before=3, reporter="reporter2", category="other_non_cyber")
    again = _incident(org, category="paperwork_lost_or_insecure")
    data = dict(JTRACK)
    risk_assessment_create(incident=first, actor=org["siro"], data=data)
    assert similar_incidents(again, user=org["siro"]) == []
    risk_assessment_create(
        incident=again, actor=org["siro"], data={**data, "datasets": [{"name": "prolific OFFENDERS "}]}
    )
    found = similar_incidents(again, user=org["siro"])
    assert [s.incident for s in found] == [first]
    assert found[0].reasons == ("same data set (prolific offenders)",)


def test_similar_incidents_respect_scope_and_the_isim_sees_the_repeats(org, settings):
    settings.RECURRENCE_WINDOW_DAYS = 30
    first = _incident(org, days_before=8, category="failure_to_use_bcc")
    _incident(org, days_before=4, category="failure_to_use_bcc")
    third = _incident(org, category="failure_to_use_bcc")
    alone = _incident(org, category="ransomware")
    # the reporter saw their own; reporter2 sees none of them
    assert len(similar_incidents(third, user=org["reporter"])) == 2
    assert similar_incidents(third, user=org["reporter2"]) == []
    # the ISIM's list: the open incidents that repeat an earlier one
    repeats = list(recurring_for_user(org["isim"]))
    assert third in repeats
    assert first not in repeats
    assert alone not in repeats
    assert list(recurring_for_user(org["manager2"])) == []
