"""Dates and times given to the API: as on the forms, a year before 1990 is refused with a
message and nothing changes. Such a date could not even be given back: before 1847 London's
offset from UTC was not a whole minute, which RFC 3339 cannot write (schemathesis found a
PATCH answered with "0155-11-29T13:58:54-00:01:15")."""

import pytest

from breachdesk.models import AuditEvent
from incidents.models import Incident
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

ANCIENT = "0155-11-29T13:58:54Z"
MESSAGE = "Enter a year after 1990, like 2026."


def _refused(response, field):
    assert response.status_code == 400, response.content
    assert response.json()[field] == [MESSAGE]


def test_reporting_or_editing_an_incident_with_an_ancient_date_is_refused(org, api_client_for, report_payload):
    client = api_client_for("reporter")
    events = AuditEvent.objects.count()
    _refused(client.post("/api/v1/incidents/", report_payload(discovered_at=ANCIENT), format="json"), "discovered_at")
    _refused(client.post("/api/v1/incidents/", report_payload(occurred_at=ANCIENT), format="json"), "occurred_at")
    assert not Incident.objects.exists()

    incident = client.post("/api/v1/incidents/", report_payload(), format="json").json()
    before = Incident.objects.get(reference=incident["reference"])
    events = AuditEvent.objects.count()
    url = f"/api/v1/incidents/{incident['reference']}/"
    _refused(client.patch(url, {"discovered_at": ANCIENT}, format="json"), "discovered_at")
    _refused(client.patch(url, {"occurred_at": ANCIENT}, format="json"), "occurred_at")
    after = Incident.objects.get(pk=before.pk)
    assert (after.discovered_at, after.occurred_at) == (before.discovered_at, before.occurred_at)
    assert AuditEvent.objects.count() == events


def test_plan_records_and_the_ico_submission_refuse_an_ancient_date(org, api_client_for):
    incident = IncidentFactory(reporter=org["reporter"])
    base = f"/api/v1/incidents/{incident.reference}"
    events = AuditEvent.objects.count()
    notice = {"party": "police", "method": "phone", "recipient": "PC Jones", "told_at": ANCIENT, "summary": "Told."}
    _refused(api_client_for("isim").post(f"{base}/notices/", notice, format="json"), "told_at")
    submission = {"kind": "initial", "submitted_at": ANCIENT, "summary": "Reported online."}
    _refused(api_client_for("dpo").post(f"{base}/ico-submissions/", submission, format="json"), "submitted_at")
    assert not incident.party_notices.exists()
    assert not incident.ico_submissions.exists()
    assert AuditEvent.objects.count() == events
