from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from breachdesk.models import AuditEvent
from incidents.models import Incident
from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reporter_client(org):
    client = Client()
    assert client.login(username="reporter", password=DEMO_PASSWORD)
    return client


def form_data(**overrides):
    when = timezone.localtime() - timedelta(minutes=30)
    data = {
        "title": "Spreadsheet emailed to a family",
        "description": "A list of prisoners was emailed to the wrong address.",
        "category": "emailed_to_wrong_recipient",
        "discovered_at_0": str(when.day),
        "discovered_at_1": str(when.month),
        "discovered_at_2": str(when.year),
        "discovered_at_3": when.strftime("%H:%M"),
        "org_unit": "NE-TYNE-NCL",
        "suspected": "false",
    }
    data.update(overrides)
    return data


def test_report_form_prefills_now_and_the_reporters_unit(reporter_client):
    response = reporter_client.get("/incidents/new/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="discovered_at_3"' in html
    assert 'value="NE-TYNE-NCL" selected' in html
    assert "govuk-date-input" in html


def test_report_then_confirmation_shows_reference_clocks_and_who_to_tell(reporter_client):
    response = reporter_client.post("/incidents/new/", form_data())
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.reference}/reported/"
    assert incident.suspected is False

    page = reporter_client.get(response["Location"]).content.decode()
    assert incident.reference in page
    assert "Line manager informed (within 1 hour)" in page
    assert "Mo Anand" in page  # the reporter's line manager
    assert "Isla Reid" in page  # the area's ISR


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "Enter a short title for the incident"),
        ({"description": ""}, "description", "Describe what happened"),
        ({"category": ""}, "category", "Select what kind of loss this is"),
        ({"category": "lost_pigeon"}, "category", "Select what kind of loss this is"),
        ({"org_unit": "NOWHERE"}, "org_unit", "Select the unit the data belongs to"),
        (
            {"discovered_at_0": "", "discovered_at_1": "", "discovered_at_2": "", "discovered_at_3": ""},
            "discovered_at",
            "Enter the date discovered",
        ),
        ({"discovered_at_0": "31", "discovered_at_1": "2"}, "discovered_at", "must be a real date"),
        ({"discovered_at_3": "25:99"}, "discovered_at", "must be a real date and time"),
        ({"discovered_at_3": "noon"}, "discovered_at", "24-hour clock"),
        ({"discovered_at_1": ""}, "discovered_at", "must include a month"),
        ({"discovered_at_2": str(timezone.now().year + 1)}, "discovered_at", "now or in the past"),
        ({"title": "x" * 201}, "title", "200 characters or fewer"),
    ],
)
def test_invalid_report_redisplays_with_message_and_writes_nothing(reporter_client, overrides, field, message):
    events = AuditEvent.objects.count()
    response = reporter_client.post("/incidents/new/", form_data(**overrides))
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert message in html
    assert f'href="#id_{field}' in html  # the error summary links to the field
    if field == "discovered_at":
        assert 'govuk-input--error" id="id_discovered_at_0"' in html
        assert 'aria-invalid="true"' in html
    assert Incident.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_detail_shows_summary_clocks_timeline_and_audit_to_managers(org, reporter_client):
    incident = IncidentFactory(reporter=org["reporter"], title="Laptop stolen")
    page = reporter_client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Laptop stolen" in page
    assert "Clocks" in page
    assert "Suspected loss reported." in page
    assert "Audit history" not in page  # a reporter does not read the audit trail

    manager = Client()
    manager.login(username="manager", password=DEMO_PASSWORD)
    page = manager.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Audit history" in page
    assert "incident.reported" in page


def test_edit_is_audited_and_shown(org, reporter_client):
    incident = IncidentFactory(reporter=org["reporter"])
    data = form_data(
        title="Memory stick found to be encrypted",
        encryption="encrypted",
        approx_subjects="34",
        data_categories=["criminal_offence", "basic_identifiers"],
        subject_categories=["offenders"],
        location="",
        circumstances="",
        third_party="",
        occurred_at_0="",
        occurred_at_1="",
        occurred_at_2="",
        occurred_at_3="",
    )
    response = reporter_client.post(f"/incidents/{incident.reference}/edit/", data)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.title == "Memory stick found to be encrypted"
    assert incident.approx_subjects == 34
    assert incident.data_categories == ["basic_identifiers", "criminal_offence"]
    event = AuditEvent.objects.get(action="incident.updated")
    assert event.actor == org["reporter"]
    page = reporter_client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Criminal convictions or offences" in page


def test_edit_with_bad_input_changes_nothing(org, reporter_client):
    incident = IncidentFactory(reporter=org["reporter"], title="Original")
    later = incident.discovered_at + timedelta(hours=1)
    later_local = timezone.localtime(later)
    data = form_data(
        title="Changed",
        encryption="none",
        approx_subjects="-3",
        occurred_at_0=str(later_local.day),
        occurred_at_1=str(later_local.month),
        occurred_at_2=str(later_local.year),
        occurred_at_3=later_local.strftime("%H:%M"),
    )
    response = reporter_client.post(f"/incidents/{incident.reference}/edit/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a number that is 0 or more" in html
    incident.refresh_from_db()
    assert incident.title == "Original"


def test_add_note(org, reporter_client):
    incident = IncidentFactory(reporter=org["reporter"])
    response = reporter_client.post(f"/incidents/{incident.reference}/notes/", {"body": "Told Mo by phone at 18:02"})
    assert response.status_code == 302
    assert "Told Mo by phone at 18:02" in reporter_client.get(f"/incidents/{incident.reference}/").content.decode()
    response = reporter_client.post(f"/incidents/{incident.reference}/notes/", {"body": ""})
    assert response.status_code == 400
    assert "Enter the note" in response.content.decode()


def test_list_filters_and_keyset_pages(org):
    siro = Client()
    siro.login(username="siro", password=DEMO_PASSWORD)
    made = [IncidentFactory(reporter=org["reporter"], title=f"Case file {i}") for i in range(30)]
    made.append(
        IncidentFactory(
            reporter=org["reporter2"], title="Fax to wrong office", category="posted_or_faxed_to_wrong_recipient"
        )
    )

    first = siro.get("/incidents/")
    assert first.status_code == 200
    refs_first = [i.reference for i, _ in first.context["rows"]]
    assert refs_first[0] == made[-1].reference
    assert len(refs_first) == 25
    second = siro.get("/incidents/" + first.context["next_url"])
    refs_second = [i.reference for i, _ in second.context["rows"]]
    assert len(refs_second) == 6
    assert not set(refs_first) & set(refs_second)
    assert second.context["next_url"] is None

    by_category = siro.get("/incidents/?category=posted_or_faxed_to_wrong_recipient")
    assert [i.reference for i, _ in by_category.context["rows"]] == [made[-1].reference]
    by_unit = siro.get("/incidents/?org_unit=NE-DUR")
    assert [i.reference for i, _ in by_unit.context["rows"]] == [made[-1].reference]
    by_text = siro.get("/incidents/?q=fax")
    assert [i.reference for i, _ in by_text.context["rows"]] == [made[-1].reference]
    assert siro.get("/incidents/?overdue=true").context["rows"] == []
    assert "No incidents match" in siro.get("/incidents/?q=nothing-like-this").content.decode()


def test_overdue_filter_finds_missed_clocks(org):
    siro = Client()
    siro.login(username="siro", password=DEMO_PASSWORD)
    late = IncidentFactory(reporter=org["reporter"], discovered_at=timezone.now() - timedelta(hours=2))
    IncidentFactory(reporter=org["reporter"])
    response = siro.get("/incidents/?overdue=true")
    assert [i.reference for i, _ in response.context["rows"]] == [late.reference]
    assert "Overdue: manager told" in response.content.decode()


def test_list_page_query_count_does_not_grow(org, django_assert_max_num_queries):
    client = Client()
    client.login(username="manager", password=DEMO_PASSWORD)
    IncidentFactory(reporter=org["reporter"])
    with django_assert_max_num_queries(12) as few:
        client.get("/incidents/")
    for _ in range(20):
        IncidentFactory(reporter=org["reporter"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/incidents/")


def test_health_is_public(client):
    assert client.get("/health/live/").content == b"ok"


def test_unknown_page_is_a_styled_404(org, reporter_client):
    response = reporter_client.get("/incidents/BD-1999-000001/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_every_page_has_a_search_that_finds_by_reference_or_words(org, reporter_client):
    mine = IncidentFactory(reporter=org["reporter"], title="Laptop left in a taxi")
    other = IncidentFactory(reporter=org["reporter"], title="Letter posted to the wrong house")
    page = reporter_client.get("/tasks/").content.decode()
    assert 'role="search"' in page
    assert 'action="/incidents/"' in page
    by_reference = reporter_client.get("/incidents/", {"q": mine.reference}).content.decode()
    assert mine.reference in by_reference
    assert other.reference not in by_reference
    by_words = reporter_client.get("/incidents/", {"q": "taxi"}).content.decode()
    assert mine.reference in by_words
    assert other.reference not in by_words
    assert 'value="taxi"' in by_words  # the box keeps what was searched for
