"""Who sees which incident, through the selector, the pages and the API alike."""

import pytest
from django.test import Client

from breachdesk.models import OrgUnit
from incidents.selectors import incidents_for_user
from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

# user -> (sees the Tyne incident, sees the Durham incident)
MATRIX = {
    "reporter": (True, False),  # own only
    "reporter2": (False, True),
    "manager": (True, False),  # line manager at NE-TYNE-NCL
    "manager2": (False, True),
    "isr": (True, False),  # NE-TYNE area and below
    "isim": (True, False),
    "chief": (True, False),
    "scs": (True, True),  # NE region and below
    "dpo": (True, True),  # everything
    "siro": (True, True),
    "press": (False, False),  # told through escalation, not by browsing
}


@pytest.fixture
def two_incidents(org):
    tyne = IncidentFactory(reporter=org["reporter"], title="Tyne incident")
    durham = IncidentFactory(reporter=org["reporter2"], title="Durham incident")
    return tyne, durham


@pytest.mark.parametrize(("username", "expected"), MATRIX.items())
def test_selector_scope(org, two_incidents, username, expected):
    tyne, durham = two_incidents
    visible = set(incidents_for_user(org[username]).values_list("reference", flat=True))
    assert (tyne.reference in visible, durham.reference in visible) == expected


@pytest.mark.parametrize(("username", "expected"), MATRIX.items())
def test_pages_answer_404_outside_scope(org, two_incidents, username, expected):
    client = Client()
    assert client.login(username=username, password=DEMO_PASSWORD)
    for incident, allowed in zip(two_incidents, expected, strict=True):
        for suffix in ("", "edit/", "clocks/", "reported/"):
            response = client.get(f"/incidents/{incident.reference}/{suffix}")
            assert response.status_code == (200 if allowed else 404), (username, suffix)
        listed = client.get("/incidents/").content.decode()
        assert (incident.reference in listed) == allowed


@pytest.mark.parametrize(("username", "expected"), MATRIX.items())
def test_api_answers_404_outside_scope(org, two_incidents, api_client_for, username, expected):
    client = api_client_for(username)
    listed = {row["reference"] for row in client.get("/api/v1/incidents/").json()["results"]}
    for incident, allowed in zip(two_incidents, expected, strict=True):
        assert client.get(f"/api/v1/incidents/{incident.reference}/").status_code == (200 if allowed else 404)
        assert (incident.reference in listed) == allowed


def test_unit_move_carries_scope_with_it(org):
    # given an incident filed against a Durham unit by a Tyne reporter
    incident = IncidentFactory(reporter=org["reporter"], org_unit=OrgUnit.objects.get(code="NE-DUR-DAR"))
    # then Durham's manager does not see it (they manage NE-DUR-DUR only), but the reporter's own
    # line manager and the Durham unit's managers above do
    assert not incidents_for_user(org["manager2"]).filter(pk=incident.pk).exists()
    assert incidents_for_user(org["manager"]).filter(pk=incident.pk).exists()
    assert incidents_for_user(org["scs"]).filter(pk=incident.pk).exists()


def test_anonymous_is_sent_to_login(org, two_incidents):
    response = Client().get(f"/incidents/{two_incidents[0].reference}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_edit_and_note_outside_scope_change_nothing(org, two_incidents):
    tyne, _ = two_incidents
    client = Client()
    client.login(username="reporter2", password=DEMO_PASSWORD)
    assert client.post(f"/incidents/{tyne.reference}/notes/", {"body": "sneaky"}).status_code == 404
    assert client.post(f"/incidents/{tyne.reference}/edit/", {"title": "sneaky"}).status_code == 404
    tyne.refresh_from_db()
    assert tyne.title == "Tyne incident"
    assert not tyne.timeline.filter(body="sneaky").exists()


def test_scope_sql_does_not_grow_with_the_notification_history(org):
    # The "told about it" rule must stay a subquery: a literal list of every incident a
    # manager was ever notified about made their list page scan and hash it on each request.
    from notifications.services import timers_sweep

    IncidentFactory(reporter=org["reporter"])
    before = len(str(incidents_for_user(org["manager"]).query))
    for _ in range(30):
        IncidentFactory(reporter=org["reporter"], org_unit=OrgUnit.objects.get(code="NE-DUR-DAR"))
    timers_sweep()
    assert len(str(incidents_for_user(org["manager"]).query)) == before


def test_told_about_it_gives_the_same_incidents_probed_row_by_row_or_hashed(org, monkeypatch):
    # given incidents inside and outside the manager's unit, some of which they were told about
    from incidents import selectors
    from notifications.models import Notification
    from notifications.services import timers_sweep

    darlington = OrgUnit.objects.get(code="NE-DUR-DAR")
    told_outside = IncidentFactory(reporter=org["reporter2"], org_unit=darlington)
    untold_outside = IncidentFactory(reporter=org["reporter2"], org_unit=darlington)
    IncidentFactory(reporter=org["reporter"])
    timers_sweep()
    Notification.objects.filter(incident=told_outside).update(recipient=org["manager"])
    users = [org[name] for name in ("manager", "manager2", "reporter", "reporter2", "isr", "chief", "press")]
    hashed = {u.username: set(incidents_for_user(u).values_list("pk", flat=True)) for u in users}

    # when everyone counts as told about "many" (the row-by-row probe)
    monkeypatch.setattr(selectors, "TOLD_PROBE_THRESHOLD", 1)
    probed = {u.username: set(incidents_for_user(u).values_list("pk", flat=True)) for u in users}

    # then both ways see exactly the same incidents, including the one they were told about
    assert probed == hashed
    assert told_outside.pk in probed["manager"]
    assert untold_outside.pk not in probed["manager"]
    assert "IS NOT NULL" in str(incidents_for_user(org["manager"]).query)
