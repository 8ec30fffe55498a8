"""The breach management plan in the browser: the incident page's four elements, the status
panel, the tracker form, enquiries and the task list."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import Action, Enquiry, Lesson, TrackerFormVersion
from incidents.services import action_create, incident_add_note, tracker_form_update
from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory
from tests.incidents.test_plan import COMPLETE_TRACKER, make_ready_to_close

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(org):
    return IncidentFactory(reporter=org["reporter"], description="A list of prisoners was emailed to a family.")


@pytest.fixture
def client_for(org):
    def make(username):
        client = Client()
        assert client.login(username=username, password=DEMO_PASSWORD)
        return client

    return make


def page(incident, tail=""):
    return f"/incidents/{incident.reference}/{tail}"


def test_the_incident_page_is_organised_by_the_four_elements(org, incident, client_for):
    response = client_for("isim").get(page(incident))
    html = response.content.decode()
    assert response.status_code == 200
    positions = [html.index(h) for h in (
        "1. Containment and recovery", "2. Assessment of ongoing risk", "3. Notification of breach",
        "4. Evaluation and response",
    )]  # fmt: skip
    assert positions == sorted(positions)
    # what is outstanding, in each element and in the closing checklist
    assert "No containment and recovery action is recorded" in html
    assert "No decision is recorded on: Notify the ICO" in html
    assert "Before it can be closed" in html
    assert "Start the investigation" in html
    # the ISIM may add to the plan; the reporter sees it but has no forms
    assert "Add a containment action" in html
    reporter_html = client_for("reporter").get(page(incident)).content.decode()
    assert "1. Containment and recovery" in reporter_html
    assert "Add a containment action" not in reporter_html
    assert "Enquiries, complaints and claims" not in reporter_html


def test_adding_an_action_in_the_browser(org, incident, client_for):
    client = client_for("isim")
    bad = client.post(
        page(incident, "actions/containment/new/"), {"containment-description": "", "containment-owner": ""}
    )
    assert bad.status_code == 400
    assert "Enter what must be done" in bad.content.decode()
    assert "Choose who owns it" in bad.content.decode()
    assert not Action.objects.exists()
    ok = client.post(
        page(incident, "actions/containment/new/"),
        {"containment-description": "Recall the email", "containment-owner": org["manager"].pk},
    )
    assert ok.status_code == 302
    action = Action.objects.get()
    assert (action.description, action.owner, action.kind) == ("Recall the email", org["manager"], "containment")
    # the owner marks it done from the page
    done = client_for("manager").post(
        page(incident, f"actions/{action.pk}/finish/"), {"outcome": "done", "text": "Recalled"}
    )
    assert done.status_code == 302
    action.refresh_from_db()
    assert action.state == "done"
    # someone else's action, for someone who does not manage: refused
    other = action_create(
        incident=incident, actor=org["isim"], kind="containment", description="Wipe", owner=org["isr"]
    )
    assert (
        client_for("reporter")
        .post(page(incident, f"actions/{other.pk}/finish/"), {"outcome": "done", "text": "x"})
        .status_code
        == 403
    )
    assert client_for("isim").post(page(incident, "actions/cleaning/new/"), {}).status_code == 404


def test_closing_in_the_browser_lists_what_is_missing_then_closes(org, incident, client_for):
    chief = client_for("chief")
    incident_ready = make_ready_to_close(org, incident, skip={"lessons"})
    refused = chief.post(page(incident_ready, "status/"), {"status-target": "closed"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "The incident cannot be closed yet:" in html
    assert "No lessons learned are recorded" in html
    lesson = chief.post(page(incident, "lessons/"), {"lesson-text": "Check the address twice."})
    assert lesson.status_code == 302
    assert Lesson.objects.count() == 1
    closed = chief.post(page(incident, "status/"), {"status-target": "closed"})
    assert closed.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "closed"
    html = chief.get(page(incident)).content.decode()
    assert "Re-open the incident" in html
    assert "Add a containment action" not in html


def test_the_tracker_form_page(org, incident, client_for):
    isim = client_for("isim")
    first = isim.get(page(incident, "tracker/"))
    assert first.status_code == 200
    # what the report already said is filled in
    assert "A list of prisoners was emailed to a family." in first.content.decode()
    saved = isim.post(page(incident, "tracker/"), {**COMPLETE_TRACKER, "change_note": ""})
    assert saved.status_code == 302
    again = isim.post(page(incident, "tracker/"), {**COMPLETE_TRACKER, "change_note": ""})
    assert again.status_code == 400
    assert "Nothing has changed since version 1" in again.content.decode()
    isim.post(page(incident, "tracker/"), {**COMPLETE_TRACKER, "next_steps": "Audit", "change_note": "Day 2"})
    assert list(TrackerFormVersion.objects.values_list("version", flat=True).order_by("version")) == [1, 2]
    history = isim.get(page(incident, "tracker/") + "?version=1").content.decode()
    assert "Version 1" in history
    assert "Encrypt all removable media in the office." in history
    # the reporter reads it but cannot change it; another area sees nothing
    reporter_page = client_for("reporter").get(page(incident, "tracker/"))
    assert reporter_page.status_code == 200
    assert "Update the form" not in reporter_page.content.decode()
    assert client_for("reporter").post(page(incident, "tracker/"), {"summary": "x"}).status_code == 403
    assert client_for("reporter2").get(page(incident, "tracker/")).status_code == 404
    assert client_for("manager2").get(page(incident, "tracker/")).status_code == 404


def test_enquiries_in_the_browser(org, incident, client_for):
    isim = client_for("isim")
    when = timezone.localtime() - timedelta(hours=1)
    data = {
        "enquiry-kind": "enquiry",
        "enquiry-person_name": "A. Person",
        "enquiry-received_at_0": str(when.day),
        "enquiry-received_at_1": str(when.month),
        "enquiry-received_at_2": str(when.year),
        "enquiry-received_at_3": when.strftime("%H:%M"),
    }
    response = isim.post(page(incident, "enquiries/"), data)
    assert response.status_code == 302
    enquiry = Enquiry.objects.get()
    detail = isim.get(response["Location"])
    assert "Enquiry: was my data in it? from A. Person" in detail.content.decode()
    answer = isim.post(
        response["Location"],
        {
            "data_held": "false",
            "answered_at_0": str(when.day),
            "answered_at_1": str(when.month),
            "answered_at_2": str(when.year),
            "answered_at_3": (when + timedelta(minutes=30)).strftime("%H:%M"),
            "outcome": "pending",
        },
    )
    assert answer.status_code == 400
    assert "Verify the person" in answer.content.decode()
    assert Enquiry.objects.get().answered_at is None
    for username in ("reporter", "reporter2", "press"):
        assert client_for(username).get(page(incident, f"enquiries/{enquiry.pk}/")).status_code == 404


def test_the_page_shows_repeats_and_the_isim_task_list_lists_them(org, client_for, settings):
    settings.RECURRENCE_WINDOW_DAYS = 30
    first = IncidentFactory(
        reporter=org["reporter"], category="failure_to_use_bcc", discovered_at=timezone.now() - timedelta(days=3)
    )
    second = IncidentFactory(reporter=org["reporter"], category="failure_to_use_bcc")
    html = client_for("isim").get(page(second)).content.decode()
    assert "This may have happened before" in html
    assert first.reference in html
    tasks = client_for("isim").get("/tasks/").content.decode()
    assert "Incidents that repeat an earlier one" in tasks
    assert second.reference in tasks
    assert "Incidents that repeat an earlier one" not in client_for("manager").get("/tasks/").content.decode()


def test_actions_stay_on_the_owners_task_list(org, incident, client_for):
    action_create(
        incident=incident,
        actor=org["isim"],
        kind="improvement",
        topic="training",
        description="Refresher training for the office",
        owner=org["manager"],
        due_on=timezone.localdate() + timedelta(days=10),
    )
    tasks = client_for("manager").get("/tasks/").content.decode()
    assert "Actions you own" in tasks
    assert "Refresher training for the office" in tasks


def _grow(org, incident, n):
    for i in range(n):
        action = action_create(
            incident=incident, actor=org["isim"], kind="containment", description=f"Step {i}", owner=org["manager"]
        )
        if i % 2:
            Action.objects.filter(pk=action.pk).update(state="done", outcome="ok", completed_at=timezone.now())
        incident_add_note(incident=incident, author=org["isim"], body=f"Note {i}")
        tracker_form_update(incident=incident, actor=org["isim"], fields={"summary": f"Version {i}"})


def test_incident_page_queries_do_not_grow_with_its_plan(org, client_for, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = IncidentFactory(reporter=org["reporter"])
    big = IncidentFactory(reporter=org["reporter"])
    _grow(org, small, 1)
    _grow(org, big, 12)
    client = client_for("isim")
    with CaptureQueriesContext(connection) as few:
        assert client.get(page(small)).status_code == 200
    with CaptureQueriesContext(connection) as many:
        assert client.get(page(big)).status_code == 200
    assert len(many) == len(few)
    with django_assert_max_num_queries(len(few)):
        client.get(page(big))


@pytest.mark.parametrize(
    "tail",
    [
        "status/",
        "actions/containment/new/",
        "actions/improvement/new/",
        "notices/",
        "root-causes/",
        "lessons/",
        "tracker/",
        "enquiries/",
        "evidence/",
    ],
)
@pytest.mark.parametrize("username", ["reporter2", "manager2"])
def test_every_plan_page_is_404_outside_scope(org, incident, client_for, tail, username):
    client = client_for(username)
    assert client.post(page(incident, tail), {}).status_code == 404
    assert client.get(page(incident)).status_code == 404


@pytest.mark.parametrize("tail", ["notices/", "root-causes/", "lessons/", "actions/containment/new/", "enquiries/"])
def test_plan_pages_refuse_writes_from_people_who_only_report(org, incident, client_for, tail):
    """Valid input, the wrong person: the reporter sees the incident but does not run its plan."""
    when = timezone.localtime() - timedelta(minutes=5)
    stamp = {"_0": str(when.day), "_1": str(when.month), "_2": str(when.year), "_3": when.strftime("%H:%M")}
    data = {
        "notice-party": "police", "notice-method": "phone", "notice-recipient": "Police", "notice-summary": "Told",
        **{f"notice-told_at{k}": v for k, v in stamp.items()},
        "cause-cause": "addressing_error", "lesson-text": "A lesson",
        "containment-description": "Recall", "containment-owner": org["reporter"].pk,
        "enquiry-kind": "complaint", "enquiry-person_name": "A",
        **{f"enquiry-received_at{k}": v for k, v in stamp.items()},
    }  # fmt: skip
    response = client_for("reporter").post(page(incident, tail), data)
    assert response.status_code == 403
    html = response.content.decode()
    assert "You cannot do this" in html  # the service's own page, saying who may
    assert "Only managers" in html
