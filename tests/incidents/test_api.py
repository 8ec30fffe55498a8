from datetime import timedelta

import pytest
import yaml
from django.utils import timezone
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from breachdesk.models import AuditEvent
from incidents.models import Incident
from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_token_auth_and_me(org):
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": "manager", "password": DEMO_PASSWORD}, format="json")
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    me = client.get("/api/v1/me/").json()
    assert me == {
        "username": "manager",
        "unit": "NE-TYNE-NCL",
        "roles": [{"role": "line_manager", "unit": "NE-TYNE-NCL"}],
    }


def test_bad_credentials_are_refused_and_audited(org):
    response = APIClient().post("/api/v1/auth/token/", {"username": "manager", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert AuditEvent.objects.filter(action="auth.login_failed", after__username="manager").exists()


def test_api_needs_authentication(org):
    response = APIClient().get("/api/v1/incidents/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_org_units(org, api_client_for):
    units = api_client_for("reporter").get("/api/v1/org-units/").json()
    by_code = {u["code"]: u for u in units}
    assert by_code["NAT"] == {
        "code": "NAT",
        "name": "National Offender Management",
        "level": "national",
        "parent": None,
    }
    assert by_code["NE-TYNE-NCL"]["parent"] == "NE-TYNE"
    assert len(units) == 8


def test_create_returns_the_incident_with_reference_and_deadlines(org, api_client_for, report_payload):
    response = api_client_for("reporter").post(
        "/api/v1/incidents/",
        report_payload(
            data_categories=["criminal_offence"],
            subject_categories=["offenders", "victims"],
            approx_subjects=1182,
            encryption="none",
            suspected=False,
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"].startswith("BD-")
    assert body["status"] == "reported"
    assert body["reporter"] == "reporter"
    assert body["suspected"] is False
    assert body["subject_categories"] == ["offenders", "victims"]
    codes = {d["code"]: d for d in body["deadlines"]}
    assert set(codes) == {"manager_informed", "national_informed", "investigation_started", "ico_notified"}
    assert codes["national_informed"]["due_at"] is None
    assert all(d["state"] == "pending" for d in body["deadlines"])
    assert "T" in body["reported_at"]
    assert body["reported_at"].endswith("Z") or "+" in body["reported_at"]


def test_suspected_defaults_to_true(org, api_client_for, report_payload):
    body = api_client_for("reporter").post("/api/v1/incidents/", report_payload(), format="json").json()
    assert body["suspected"] is True
    assert body["encryption"] == "unknown"


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"title": ""}, {"title"}),
        ({"category": "lost_pigeon"}, {"category"}),
        ({"org_unit": "NOWHERE"}, {"org_unit"}),
        ({"discovered_at": "yesterday"}, {"discovered_at"}),
        ({"approx_subjects": -1, "approx_records": "many"}, {"approx_subjects", "approx_records"}),
        ({"data_categories": ["health", "gossip"]}, {"data_categories"}),
        ({"subject_categories": "victims"}, {"subject_categories"}),
        ({"encryption": "rot13"}, {"encryption"}),
    ],
)
def test_bad_input_is_a_400_naming_each_field_and_writes_nothing(
    org, api_client_for, report_payload, overrides, fields
):
    events = AuditEvent.objects.count()
    response = api_client_for("reporter").post("/api/v1/incidents/", report_payload(**overrides), format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert Incident.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_dates_are_checked_against_each_other_and_now(org, api_client_for, report_payload):
    client = api_client_for("reporter")
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert set(client.post("/api/v1/incidents/", report_payload(discovered_at=future), format="json").json()) == {
        "discovered_at"
    }
    discovered = timezone.now() - timedelta(hours=2)
    late = (discovered + timedelta(minutes=1)).isoformat()
    response = client.post(
        "/api/v1/incidents/", report_payload(discovered_at=discovered.isoformat(), occurred_at=late), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"occurred_at"}
    assert Incident.objects.count() == 0


def test_missing_required_fields_are_all_named(org, api_client_for):
    response = api_client_for("reporter").post("/api/v1/incidents/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"title", "description", "category", "discovered_at", "org_unit"}


def test_patch_is_audited_and_read_only_fields_are_ignored(org, api_client_for):
    incident = IncidentFactory(reporter=org["reporter"])
    client = api_client_for("manager")
    response = client.patch(
        f"/api/v1/incidents/{incident.reference}/",
        {"approx_records": 1182, "status": "closed", "reference": "BD-0000-000000"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["approx_records"] == 1182
    assert response.json()["status"] == "reported"
    assert response.json()["reference"] == incident.reference
    event = AuditEvent.objects.get(action="incident.updated")
    assert event.actor_username == "manager"
    assert event.after == {"approx_records": 1182}


def test_patch_with_bad_dates_changes_nothing(org, api_client_for):
    incident = IncidentFactory(reporter=org["reporter"], title="Keep")
    late = (incident.discovered_at + timedelta(minutes=5)).isoformat()
    response = api_client_for("reporter").patch(
        f"/api/v1/incidents/{incident.reference}/", {"title": "Changed", "occurred_at": late}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"occurred_at"}
    incident.refresh_from_db()
    assert incident.title == "Keep"


def test_put_and_delete_are_not_allowed(org, api_client_for):
    incident = IncidentFactory(reporter=org["reporter"])
    client = api_client_for("siro")
    assert client.delete(f"/api/v1/incidents/{incident.reference}/").status_code == 405
    assert client.put(f"/api/v1/incidents/{incident.reference}/", {}, format="json").status_code == 405
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_list_filters(org, api_client_for):
    a = IncidentFactory(reporter=org["reporter"], title="Laptop stolen", category="device_lost_or_stolen")
    b = IncidentFactory(
        reporter=org["reporter2"], title="Fax misdirected", category="posted_or_faxed_to_wrong_recipient"
    )
    late = IncidentFactory(reporter=org["reporter2"], discovered_at=timezone.now() - timedelta(hours=3))
    client = api_client_for("siro")

    def refs(query: str) -> list[str]:
        response = client.get(f"/api/v1/incidents/?{query}")
        assert response.status_code == 200, response.json()
        return [row["reference"] for row in response.json()["results"]]

    assert refs("category=device_lost_or_stolen") == [a.reference]
    assert refs("org_unit=NE-DUR") == [late.reference, b.reference]
    assert refs("q=laptop") == [a.reference]
    assert refs(f"q={b.reference}") == [b.reference]
    assert refs("overdue=true") == [late.reference]
    assert refs("status=reported") == [late.reference, b.reference, a.reference]
    assert refs("status=closed") == []


def test_bad_filter_value_is_a_400_naming_it(org, api_client_for):
    response = api_client_for("siro").get("/api/v1/incidents/?status=lost&category=x")
    assert response.status_code == 400
    assert set(response.json()) == {"status", "category"}


def test_cursor_pagination_walks_every_incident_once(org, api_client_for):
    made = {IncidentFactory(reporter=org["reporter"]).reference for _ in range(7)}
    client = api_client_for("siro")
    seen: list[str] = []
    url = "/api/v1/incidents/?page_size=3"
    while url:
        body = client.get(url).json()
        assert "count" not in body  # no COUNT over the whole table
        seen += [row["reference"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))


def test_list_query_count_does_not_grow(org, api_client_for, django_assert_max_num_queries):
    client = api_client_for("manager")
    IncidentFactory(reporter=org["reporter"])
    with django_assert_max_num_queries(10) as few:
        assert client.get("/api/v1/incidents/").status_code == 200
    for _ in range(20):
        IncidentFactory(reporter=org["reporter"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/api/v1/incidents/").json()["results"]) == 21


def test_incident_audit_endpoint(org, api_client_for):
    incident = IncidentFactory(reporter=org["reporter"])
    events = api_client_for("manager").get(f"/api/v1/incidents/{incident.reference}/audit/").json()
    assert [e["action"] for e in events] == [
        "incident.reported",
        "deadlines.started",
        "escalation.started",
        "escalation.step_started",
    ]
    assert events[0]["actor"] == "reporter"
    assert events[1]["prev_hash"] == events[0]["hash"]
    assert api_client_for("reporter").get(f"/api/v1/incidents/{incident.reference}/audit/").status_code == 403
    assert api_client_for("manager2").get(f"/api/v1/incidents/{incident.reference}/audit/").status_code == 404


def test_audit_verify_endpoint(org, api_client_for):
    IncidentFactory(reporter=org["reporter"])
    body = api_client_for("siro").get("/api/v1/audit/verify/").json()
    assert body == {"ok": True, "events": AuditEvent.objects.count(), "first_bad": None}
    assert api_client_for("dpo").get("/api/v1/audit/verify/").status_code == 200
    assert api_client_for("manager").get("/api/v1/audit/verify/").status_code == 403


def test_schema_is_valid_openapi_and_docs_render(org, api_client_for):
    client = api_client_for("reporter")
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    for path in (
        "/api/v1/incidents/",
        "/api/v1/incidents/{reference}/",
        "/api/v1/me/",
        "/api/v1/org-units/",
        "/api/v1/audit/verify/",
        "/api/v1/incidents/{reference}/audit/",
        "/api/v1/auth/token/",
    ):
        assert path in schema["paths"], path
    params = {p["name"] for p in schema["paths"]["/api/v1/incidents/"]["get"]["parameters"]}
    assert {"status", "org_unit", "category", "overdue", "q", "cursor"} <= params
    assert client.get("/api/v1/docs/").status_code == 200


def test_browser_session_works_on_the_api_with_csrf(org):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="reporter", password=DEMO_PASSWORD)
    assert client.get("/api/v1/me/").status_code == 200
    response = client.post("/api/v1/incidents/", {"title": "x"}, format="json")
    assert response.status_code == 403  # no CSRF token
    assert Incident.objects.count() == 0


def test_the_listed_clocks_are_exactly_what_the_clock_serializer_gives(org, api_client_for):
    """The list writes each clock out directly (DeadlinesField) rather than through a nested
    serializer per clock; the output must not differ by a character."""
    from incidents.api.report import DeadlineSerializer
    from notifications.models import Deadline

    incident = IncidentFactory(reporter=org["reporter"])
    clocks = list(Deadline.objects.filter(incident=incident).order_by("id"))
    clocks[0].met_at = timezone.now() - timedelta(minutes=5)  # met, with a time
    clocks[0].state = "met"
    clocks[0].save()
    clocks[-1].due_at = None  # a clock that has not started (the national list's, PC02-8)
    clocks[-1].save()
    listed = api_client_for("siro").get("/api/v1/incidents/").json()["results"]
    mine = next(row for row in listed if row["reference"] == incident.reference)
    assert mine["deadlines"] == DeadlineSerializer(Deadline.objects.filter(incident=incident), many=True).data
    assert {d["met_at"] is None for d in mine["deadlines"]} == {True, False}
    assert None in {d["due_at"] for d in mine["deadlines"]}
