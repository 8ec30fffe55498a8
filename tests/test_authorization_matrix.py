"""The authorization matrix, generated: every URL pattern of the site and the API (from the
URL configuration itself, so a new route is in it without anyone remembering), for every
demo user, against an incident in their scope and one outside it.

For each pair the rule is the one DESIGN.md states: an object outside someone's scope is
404, never 403 and never served, and asking changes nothing. Every parameter of a route is
filled with a real object of that incident (evidence, action, enquiry, assessment, data set,
notification, approval), so a view that forgot to scope would serve it and fail here. On top:
nothing answers 500, and the DPO (who sees everything) gets no 404 where the object exists.
Signed acknowledgement links are covered by their own tests (single use, expiry, tampering:
tests/notifications/test_escalations.py); here, a link that is not a valid token is refused.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from breachdesk.models import AuditEvent
from incidents.models import Enquiry, Incident
from incidents.selectors import incidents_for_user
from incidents.services.evidence import evidence_attach
from incidents.services.plan import action_create
from notifications.models import Notification
from riskassess.models import LostDataSet
from riskassess.services import risk_assessment_create
from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory
from tests.riskassess.test_services import JTRACK

pytestmark = pytest.mark.django_db

USERS = ("reporter", "manager", "isr", "isim", "chief", "scs", "dpo", "siro", "press", "reporter2", "manager2")
SKIP = re.compile(r"^(admin/|static/|api/v1/\^.*\\\.|api/v1/schema/|api/v1/docs/)")
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def routes() -> list[str]:
    out: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                out.append(prefix + str(p.pattern))

    walk(get_resolver().url_patterns, "")
    return [r for r in out if not SKIP.match(r)]


def objects_of(incident: Incident, org: dict[str, Any]) -> dict[str, Any]:
    """A real object of each kind a route can name, belonging to ``incident``."""
    dpo = org["dpo"]
    evidence = evidence_attach(incident=incident, actor=dpo, upload=SimpleUploadedFile("note.txt", b"evidence"))
    action = action_create(incident=incident, actor=dpo, kind="containment", description="Recover the stick", owner=dpo)
    now = timezone.now()
    enquiry = Enquiry.objects.create(
        incident=incident, kind="enquiry", person_name="A Person", received_at=now, recorded_by=dpo,
        recorded_at=now, updated_at=now,
    )  # fmt: skip
    assessment = risk_assessment_create(incident=incident, actor=dpo, data=dict(JTRACK))
    dataset = LostDataSet.objects.create(
        incident=incident, name="Extract", file_name="x.csv", file_sha256="0" * 64, file_bytes=1, columns=[],
        labels=[], key_version=1, uploaded_by=dpo, uploaded_at=now,
    )  # fmt: skip
    notification = Notification.objects.filter(incident=incident).order_by("id").first()
    approval = incident.approvals.order_by("id").first() if hasattr(incident, "approvals") else None
    return {
        "reference": incident.reference,
        "evidence": evidence.pk,
        "action": action.pk,
        "enquiry": enquiry.pk,
        "version": assessment.version,
        "dataset": dataset.pk,
        "notification": notification.pk if notification else None,
        "approval": approval.pk if approval else None,
    }


def fill(route: str, objects: dict[str, Any]) -> tuple[str, bool] | None:
    """The route with its parameters filled from ``objects``; whether every one named a real
    object. None for a route that names no incident's object (tested apart)."""
    path = route.replace("^", "").replace("$", "")
    real = True
    incident_bound = False

    def value(name: str) -> str:
        nonlocal real, incident_bound
        if name == "reference":
            incident_bound = True
            return str(objects["reference"])
        if name == "pk":
            for key in ("evidence", "action", "enquiry", "dataset", "notification", "approval"):
                if (
                    f"/{key}" in path
                    or (key == "enquiry" and "/enquiries/" in path)
                    or (key == "action" and "/actions/" in path)
                    or (key == "dataset" and ("/datasets/" in path or "/people/" in path))
                    or (key == "notification" and path.startswith(("notifications/", "api/v1/notifications/")))
                    or (key == "approval" and "approvals/" in path)
                ):
                    if key in ("notification", "approval"):
                        incident_bound = True
                        real = False  # addressed to one person: others get 404 even in scope
                    found = objects.get(key)
                    if found is None:
                        real = False
                        return "999999"
                    return str(found)
            real = False
            return "999999"
        if name == "version":
            return str(objects["version"])
        if name == "kind":
            return "containment" if "/actions/" in path else "ico-notification"
        if name == "code":
            return "ico_notified" if "deadlines" in path else "XX"
        real = False
        return "x"

    filled = PARAM.sub(lambda m: value(m.group(2) or m.group(3)), path)
    if not incident_bound:
        return None
    if path.endswith("population.csv"):
        real = False  # exists once a data set has been processed
    return "/" + filled, real


def ask(client: Client, path: str) -> int:
    """GET, or else the first method the route allows (with an empty body)."""
    response = client.get(path) if path.startswith("/api/") else client.get(path, HTTP_ACCEPT="text/html")
    if response.status_code == 405:
        method = next(m.strip().lower() for m in response["Allow"].split(",") if m.strip() not in ("GET", "HEAD"))
        response = getattr(client, method)(path, {}, content_type="application/json")
    return response.status_code


def test_every_route_hides_what_is_outside_scope_and_serves_what_is_inside(org, settings, tmp_path):
    settings.EVIDENCE_ROOT = tmp_path / "evidence"
    settings.REPORTS_ROOT = tmp_path / "reports"
    settings.DATASET_UPLOAD_DIR = tmp_path / "uploads"
    inside_area = IncidentFactory.create(reporter=org["reporter"])  # Newcastle, in the Tyne area
    other_area = IncidentFactory.create(reporter=org["reporter2"])  # Durham
    objects = {inside_area.pk: objects_of(inside_area, org), other_area.pk: objects_of(other_area, org)}
    all_routes = routes()
    assert len(all_routes) > 90  # the whole site and API, not a sample
    failures: list[str] = []
    checked = 0
    for username in USERS:
        client = Client()
        assert client.login(username=username, password=DEMO_PASSWORD)
        visible = set(incidents_for_user(org[username]).values_list("pk", flat=True))
        for incident in (inside_area, other_area):
            for route in all_routes:
                filled = fill(route, objects[incident.pk])
                if filled is None:
                    continue
                path, real = filled
                before = AuditEvent.objects.count()
                status = ask(client, path)
                checked += 1
                if status >= 500:
                    failures.append(f"{username} {path}: {status}")
                elif incident.pk not in visible:
                    if status != 404:
                        failures.append(f"{username} {path}: {status} for an incident outside scope (want 404)")
                    if AuditEvent.objects.count() != before:
                        failures.append(f"{username} {path}: changed something outside scope")
                elif username == "dpo" and real and status == 404:
                    failures.append(f"{username} {path}: 404 for an incident in scope")
    assert checked > 1000
    assert not failures, "\n".join(failures)


def test_routes_naming_no_incident_need_sign_in_and_never_fail(org):
    anonymous = Client()
    signed_in = Client()
    signed_in.login(username="reporter", password=DEMO_PASSWORD)
    public = {"/accounts/login/", "/health/live/", "/health/ready/", "/ack/x/", "/api/v1/auth/token/"}
    for route in routes():
        if "<" in route or "(?P" in route:
            if route.startswith("ack/"):
                assert anonymous.get("/ack/not-a-token/").status_code in (400, 404)
            continue
        path = "/" + route.replace("^", "").replace("$", "")
        status = anonymous.get(path).status_code
        if path in public or path == "/":
            continue
        if path.startswith("/api/"):
            assert status in (401, 403), (path, status)
        else:
            assert status == 302, (path, status)
        assert signed_in.get(path).status_code < 500, path
