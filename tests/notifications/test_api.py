from datetime import timedelta

import pytest
import yaml
from django.utils import timezone
from openapi_spec_validator import validate

from breachdesk.models import AuditEvent
from notifications.models import Approval, Notification
from notifications.services import notification_acknowledge, timers_sweep
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(org, mailbox):
    made = IncidentFactory(reporter=org["reporter"])
    timers_sweep()
    return made


def test_notifications_list_has_the_contract_fields(incident, api_client_for):
    rows = api_client_for("manager").get(f"/api/v1/incidents/{incident.reference}/notifications/").json()
    [row] = rows
    assert {"id", "step", "role", "recipient", "channel", "state", "sent_at", "acknowledged_at", "due_at"} <= set(row)
    assert (row["step"], row["recipient"], row["channel"], row["state"]) == (1, "manager", "email", "sent")
    assert row["due_at"] is not None


def test_notifications_are_scoped_like_incidents(incident, api_client_for):
    assert api_client_for("reporter2").get(f"/api/v1/incidents/{incident.reference}/notifications/").status_code == 404


def test_only_the_recipient_acknowledges(incident, api_client_for, django_assert_max_num_queries):
    note = Notification.objects.get(incident=incident)
    assert api_client_for("isim").post(f"/api/v1/notifications/{note.pk}/acknowledge/").status_code == 403
    assert api_client_for("reporter2").post(f"/api/v1/notifications/{note.pk}/acknowledge/").status_code == 404
    response = api_client_for("manager").post(f"/api/v1/notifications/{note.pk}/acknowledge/")
    assert response.status_code == 200
    assert response.json()["state"] == "acknowledged"
    assert response.json()["ack_method"] == "api"
    # a second call is harmless
    assert api_client_for("manager").post(f"/api/v1/notifications/{note.pk}/acknowledge/").json()["state"] == (
        "acknowledged"
    )
    assert AuditEvent.objects.filter(action="notification.acknowledged").count() == 1


def test_phone_confirmation_needs_a_note(incident, api_client_for):
    note = Notification.objects.get(incident=incident)
    client = api_client_for("isim")
    response = client.post(f"/api/v1/notifications/{note.pk}/phone-confirmation/", {"note": ""}, format="json")
    assert response.status_code == 400
    assert "note" in response.json()
    note.refresh_from_db()
    assert note.state == "sent"
    assert (
        api_client_for("reporter")
        .post(f"/api/v1/notifications/{note.pk}/phone-confirmation/", {"note": "x"}, format="json")
        .status_code
        == 403
    )
    ok = client.post(
        f"/api/v1/notifications/{note.pk}/phone-confirmation/", {"note": "Rang Mo at 18:10, confirmed."}, format="json"
    )
    assert ok.json()["ack_method"] == "phone"


def test_approvals_list_approve_and_decline(org, incident, api_client_for):
    notification_acknowledge(
        notification_id=Notification.objects.get(incident=incident).pk, by=org["manager"], method="in_app"
    )
    timers_sweep()
    chief_note = Notification.objects.get(incident=incident, recipient=org["chief"])
    notification_acknowledge(notification_id=chief_note.pk, by=org["chief"], method="in_app")
    chief = api_client_for("chief")
    [approval] = chief.get("/api/v1/approvals/").json()
    assert approval["incident"] == incident.reference
    assert any(p["username"] == "director-general" for p in approval["proposed"])
    assert api_client_for("manager").get("/api/v1/approvals/").json() == []

    # decline without a reason: 400 naming it, nothing changes
    response = chief.post(f"/api/v1/approvals/{approval['id']}/decline/", {}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    assert Approval.objects.get(pk=approval["id"]).state == "pending"
    # someone else cannot decide
    assert api_client_for("isim").post(f"/api/v1/approvals/{approval['id']}/approve/").status_code == 403

    response = chief.post(f"/api/v1/approvals/{approval['id']}/approve/")
    assert response.status_code == 200
    assert response.json()["state"] == "approved"
    assert Notification.objects.filter(incident=incident, step=3).count() == len(approval["proposed"])
    again = chief.post(f"/api/v1/approvals/{approval['id']}/decline/", {"reason": "changed my mind"}, format="json")
    assert again.status_code == 400


def test_ico_submission_and_clock_decisions(org, incident, api_client_for):
    dpo = api_client_for("dpo")
    url = f"/api/v1/incidents/{incident.reference}/ico-submissions/"
    bad = dpo.post(url, {"kind": "nonsense", "summary": ""}, format="json")
    assert bad.status_code == 400
    assert {"kind", "summary", "submitted_at"} <= set(bad.json())
    assert (
        api_client_for("manager")
        .post(url, {"kind": "initial", "submitted_at": timezone.now().isoformat(), "summary": "x"}, format="json")
        .status_code
        == 403
    )
    created = dpo.post(
        url,
        {
            "kind": "initial",
            "submitted_at": timezone.now().isoformat(),
            "summary": "Reported by phone",
            "case_reference": "IC-1",
        },
        format="json",
    )
    assert created.status_code == 201
    assert dpo.get(url).json()[0]["case_reference"] == "IC-1"
    clocks = {d["code"]: d for d in dpo.get(f"/api/v1/incidents/{incident.reference}/").json()["deadlines"]}
    assert clocks["ico_notified"]["state"] == "met"

    siro = api_client_for("siro")
    change = siro.patch(
        f"/api/v1/incidents/{incident.reference}/deadlines/investigation_started/",
        {"due_at": (timezone.now() + timedelta(hours=30)).isoformat()},
        format="json",
    )
    assert change.status_code == 400
    assert "reason" in change.json()
    assert (
        siro.post(
            f"/api/v1/incidents/{incident.reference}/deadlines/nonsense/not-required/", {"reason": "x"}, format="json"
        ).status_code
        == 400
    )
    done = siro.post(
        f"/api/v1/incidents/{incident.reference}/deadlines/investigation_started/not-required/",
        {"reason": "Handled as part of BD-2026-000001."},
        format="json",
    )
    assert done.status_code == 200
    assert done.json()["state"] == "not_required"


def test_start_investigation(org, incident, api_client_for):
    assert (
        api_client_for("reporter").post(f"/api/v1/incidents/{incident.reference}/investigation/start/").status_code
        == 403
    )
    response = api_client_for("isim").post(f"/api/v1/incidents/{incident.reference}/investigation/start/")
    assert response.json() == {"reference": incident.reference, "status": "under_investigation"}


def test_schema_still_validates_with_escalation_endpoints(org, api_client_for):
    schema = yaml.safe_load(api_client_for("reporter").get("/api/v1/schema/").content)
    validate(schema)
    for path in (
        "/api/v1/incidents/{reference}/notifications/",
        "/api/v1/notifications/{id}/acknowledge/",
        "/api/v1/approvals/",
        "/api/v1/approvals/{id}/approve/",
    ):
        assert path in schema["paths"], path
