import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from breachdesk.audit import audit_verify
from breachdesk.models import AuditEvent, OrgUnit
from incidents.choices import Status, TimelineKind
from incidents.models import Incident, TimelineEntry
from incidents.services import incident_add_note, incident_report, incident_update
from notifications.models import Deadline
from tests.conftest import requires_postgres
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_report_starts_the_clocks_timeline_and_audit(org):
    # given
    discovered = timezone.now() - timedelta(minutes=10)

    # when
    incident = incident_report(
        reporter=org["reporter"],
        title="Memory stick lost",
        description="Left on a train.",
        category="device_lost_or_stolen",
        discovered_at=discovered,
        org_unit=OrgUnit.objects.get(code="NE-TYNE-NCL"),
    )

    # then
    assert incident.reference.startswith(f"BD-{timezone.localtime().year}-")
    assert incident.status == Status.REPORTED
    assert incident.suspected is True
    deadlines = {d.code: d for d in incident.deadlines.all()}
    assert set(deadlines) == {"manager_informed", "national_informed", "investigation_started", "ico_notified"}
    assert deadlines["manager_informed"].due_at == discovered + timedelta(hours=1)
    assert deadlines["ico_notified"].due_at == discovered + timedelta(hours=72)
    assert all(d.state == "pending" for d in deadlines.values())
    assert incident.timeline.get().kind == TimelineKind.REPORTED
    actions = list(AuditEvent.objects.filter(incident_ref=incident.reference).values_list("action", flat=True))
    assert actions == ["incident.reported", "deadlines.started", "escalation.started", "escalation.step_started"]
    assert audit_verify().ok


def test_references_are_unique_and_sequential(org):
    refs = [IncidentFactory(reporter=org["reporter"]).reference for _ in range(3)]
    numbers = [int(r.rsplit("-", 1)[1]) for r in refs]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


def test_the_reference_is_taken_last_yet_every_audit_event_names_it(org):
    incident = IncidentFactory(reporter=org["reporter"])
    events = AuditEvent.objects.filter(seq__gt=0).order_by("seq")
    assert not events.filter(incident_ref__startswith="~").exists()
    reported = events.get(action="incident.reported", incident_ref=incident.reference)
    assert reported.after["reference"] == incident.reference
    assert Incident.objects.get(pk=incident.pk).reference == incident.reference
    assert audit_verify().ok


def test_a_report_that_fails_late_uses_no_number(org, monkeypatch):
    first = IncidentFactory(reporter=org["reporter"])

    def broken(**kwargs):
        raise RuntimeError("escalation failed")

    monkeypatch.setattr("incidents.services.report.escalation_start", broken)
    with pytest.raises(RuntimeError):
        IncidentFactory(reporter=org["reporter"])
    monkeypatch.undo()
    second = IncidentFactory(reporter=org["reporter"])
    assert int(second.reference.rsplit("-", 1)[1]) == int(first.reference.rsplit("-", 1)[1]) + 1
    assert Incident.objects.count() == 2
    assert audit_verify().ok


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_reports_get_contiguous_references_and_one_chain(org):
    # given several people reporting at once, each in their own transaction
    errors: list[BaseException] = []
    refs: list[str] = []

    def report(n):  # untyped: factory_boy returns its model untyped
        try:
            for _ in range(6):
                refs.append(IncidentFactory(reporter=org["reporter"], title=f"Concurrent {n}").reference)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=report, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then 24 distinct, contiguous references, each incident's events naming its own
    assert errors == []
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in refs)
    assert numbers == list(range(numbers[0], numbers[0] + 24))
    for incident in Incident.objects.filter(title__startswith="Concurrent"):
        event = AuditEvent.objects.get(action="incident.reported", incident_ref=incident.reference)
        assert event.object_id == str(incident.pk)
    assert audit_verify().ok


def test_invalid_report_writes_nothing(org):
    events_before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        incident_report(
            reporter=org["reporter"],
            title="",
            description="x",
            category="not_a_category",
            discovered_at=timezone.now() + timedelta(hours=1),
            org_unit=OrgUnit.objects.get(code="NE-TYNE-NCL"),
            approx_subjects=-5,
        )
    assert set(excinfo.value.message_dict) == {"title", "category", "discovered_at", "approx_subjects"}
    assert Incident.objects.count() == 0
    assert Deadline.objects.count() == 0
    assert AuditEvent.objects.count() == events_before


def test_update_records_who_changed_what_from_what(org):
    incident = IncidentFactory(reporter=org["reporter"], title="Old title")

    updated = incident_update(
        incident=incident,
        actor=org["manager"],
        changes={"title": "New title", "approx_subjects": 1182, "location": "Reception"},
    )

    assert updated.title == "New title"
    event = AuditEvent.objects.get(action="incident.updated", incident_ref=incident.reference)
    assert event.actor == org["manager"]
    assert event.before == {"title": "Old title", "approx_subjects": None, "location": ""}
    assert event.after == {"title": "New title", "approx_subjects": 1182, "location": "Reception"}
    entry = TimelineEntry.objects.get(incident=incident, kind=TimelineKind.UPDATED)
    assert entry.actor == org["manager"]
    assert audit_verify().ok


def test_update_with_no_real_change_writes_nothing(org):
    incident = IncidentFactory(reporter=org["reporter"], title="Same")
    count = AuditEvent.objects.count()
    incident_update(incident=incident, actor=org["reporter"], changes={"title": "Same"})
    assert AuditEvent.objects.count() == count


def test_update_rejects_occurred_after_stored_discovered_and_changes_nothing(org):
    incident = IncidentFactory(reporter=org["reporter"], title="Keep me")
    count = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        incident_update(
            incident=incident,
            actor=org["reporter"],
            changes={"title": "Changed", "occurred_at": incident.discovered_at + timedelta(minutes=1)},
        )
    assert "occurred_at" in excinfo.value.message_dict
    incident.refresh_from_db()
    assert incident.title == "Keep me"
    assert AuditEvent.objects.count() == count


def test_update_refuses_fields_that_are_not_editable(org):
    incident = IncidentFactory(reporter=org["reporter"])
    with pytest.raises(ValidationError) as excinfo:
        incident_update(incident=incident, actor=org["reporter"], changes={"status": "closed", "reference": "X"})
    assert set(excinfo.value.message_dict) == {"status", "reference"}


def test_moving_an_incident_to_another_unit_is_audited_by_code(org):
    incident = IncidentFactory(reporter=org["reporter"])
    incident_update(incident=incident, actor=org["isim"], changes={"org_unit": OrgUnit.objects.get(code="NE-TYNE-SUN")})
    event = AuditEvent.objects.get(action="incident.updated", incident_ref=incident.reference)
    assert event.before == {"org_unit": "NE-TYNE-NCL"}
    assert event.after == {"org_unit": "NE-TYNE-SUN"}


def test_note_is_kept_and_audited(org):
    incident = IncidentFactory(reporter=org["reporter"])
    entry = incident_add_note(incident=incident, author=org["manager"], body="  Phoned the ISR at 18:05.  ")
    assert entry.body == "Phoned the ISR at 18:05."
    event = AuditEvent.objects.get(action="incident.note_added")
    assert event.after == {"body": "Phoned the ISR at 18:05."}


@pytest.mark.parametrize("body", ["", "   ", "x" * 10_001])
def test_bad_note_is_refused(org, body):
    incident = IncidentFactory(reporter=org["reporter"])
    with pytest.raises(ValidationError):
        incident_add_note(incident=incident, author=org["reporter"], body=body)
    assert not incident.timeline.filter(kind=TimelineKind.NOTE).exists()
