"""List pages and endpoints do not run more queries as their lists grow."""

import pytest
from django.test import Client

from notifications.models import Approval, Notification
from notifications.services import approval_decide, notification_acknowledge, timers_sweep
from riskassess.services import risk_assessment_create
from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory
from tests.riskassess.test_services import JTRACK

pytestmark = pytest.mark.django_db


def _to_national_list(org):
    incident = IncidentFactory(reporter=org["reporter"])
    timers_sweep()
    notification_acknowledge(
        notification_id=Notification.objects.get(incident=incident).pk, by=org["manager"], method="in_app"
    )
    timers_sweep()
    for n in Notification.objects.filter(incident=incident, step=2):
        notification_acknowledge(notification_id=n.pk, by=n.recipient, method="in_app")
    return incident


def test_notifications_endpoint_queries_do_not_grow(org, mailbox, api_client_for, django_assert_max_num_queries):
    incident = IncidentFactory(reporter=org["reporter"])
    client = api_client_for("siro")
    url = f"/api/v1/incidents/{incident.reference}/notifications/"
    with django_assert_max_num_queries(12) as few:
        assert len(client.get(url).json()) == 1
    incident = _to_national_list(org)
    approval_decide(approval_id=Approval.objects.get(incident=incident).pk, by=org["chief"], approve=True)
    url = f"/api/v1/incidents/{incident.reference}/notifications/"
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url).json()) > 15


def test_incident_page_queries_do_not_grow_with_notifications(org, mailbox, django_assert_max_num_queries):
    client = Client()
    client.force_login(org["siro"])
    small = IncidentFactory(reporter=org["reporter"])
    client.get(f"/incidents/{small.reference}/")
    with django_assert_max_num_queries(60) as few:
        client.get(f"/incidents/{small.reference}/")
    big = _to_national_list(org)
    approval_decide(approval_id=Approval.objects.get(incident=big).pk, by=org["chief"], approve=True)
    with django_assert_max_num_queries(len(few.captured_queries) + 2):  # + approval panel and its approvers
        client.get(f"/incidents/{big.reference}/")


def test_tasks_page_queries_do_not_grow(org, mailbox, django_assert_max_num_queries):
    client = Client()
    client.force_login(org["manager"])
    IncidentFactory(reporter=org["reporter"])
    timers_sweep()
    with django_assert_max_num_queries(20) as few:
        assert client.get("/tasks/").status_code == 200
    for _ in range(10):
        IncidentFactory(reporter=org["reporter"])
    timers_sweep()
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/tasks/")
    assert page.content.decode().count("I have received this<span") == 11


def test_risk_assessments_endpoint_queries_do_not_grow(org, api_client_for, django_assert_max_num_queries):
    incident = IncidentFactory(reporter=org["reporter"])
    risk_assessment_create(incident=incident, actor=org["isim"], data=dict(JTRACK))
    client = api_client_for("isim")
    url = f"/api/v1/incidents/{incident.reference}/risk-assessments/"
    with django_assert_max_num_queries(15) as few:
        client.get(url)
    for _ in range(5):
        risk_assessment_create(incident=incident, actor=org["isim"], data=dict(JTRACK))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url).json()) == 6


def test_the_signed_in_persons_profile_and_unit_come_with_them(org):
    """The header names the person's unit on every page: no query of its own for it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    assert client.login(username="reporter", password=DEMO_PASSWORD)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/incidents/").content.decode()
    assert "Newcastle Probation Office" in page
    own_profile = [q["sql"] for q in ctx.captured_queries if 'FROM "breachdesk_profile" WHERE' in q["sql"]]
    assert not [sql for sql in own_profile if '"breachdesk_profile"."user_id" =' in sql], own_profile
    assert any('"breachdesk_profile"' in q["sql"] and '"auth_user"' in q["sql"] for q in ctx.captured_queries)
