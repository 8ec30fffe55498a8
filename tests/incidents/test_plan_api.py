"""The breach management plan's endpoints: contract, validation and scoping per role."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Action, Enquiry, Lesson, PartyNotice, RootCause, TrackerFormVersion
from tests.factories import IncidentFactory
from tests.incidents.test_plan import COMPLETE_TRACKER, make_ready_to_close

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(org):
    return IncidentFactory(reporter=org["reporter"])


def url(incident, tail):
    return f"/api/v1/incidents/{incident.reference}/{tail}"


def test_actions_create_list_and_finish(org, incident, api_client_for):
    isim = api_client_for("isim")
    response = isim.post(
        url(incident, "actions/"),
        {"kind": "containment", "description": "Recall the email", "owner": "manager"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["owner"], body["state"], body["created_by"]) == (
        "containment",
        "manager",
        "open",
        "isim",
    )
    # the owner finishes it through the API
    finished = api_client_for("manager").post(
        url(incident, f"actions/{body['id']}/finish/"), {"done": True, "text": "Recalled."}, format="json"
    )
    assert finished.status_code == 200
    assert finished.json()["state"] == "done"
    listed = api_client_for("reporter").get(url(incident, "actions/")).json()
    assert [a["id"] for a in listed] == [body["id"]]


def test_action_bad_input_names_each_field_and_writes_nothing(org, incident, api_client_for):
    response = api_client_for("isim").post(
        url(incident, "actions/"),
        {"kind": "improvement", "description": "", "owner": "nobody", "due_on": "2020-01-01"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"description", "owner"}
    response = api_client_for("isim").post(
        url(incident, "actions/"),
        {"kind": "improvement", "description": "Train staff", "owner": "manager"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"topic", "due_on"}
    assert not Action.objects.exists()


def test_a_reporter_cannot_add_to_the_plan(org, incident, api_client_for):
    response = api_client_for("reporter").post(url(incident, "lessons/"), {"text": "Be careful"}, format="json")
    assert response.status_code == 403
    assert "Only managers" in response.json()["detail"]
    assert not Lesson.objects.exists()


@pytest.mark.parametrize(
    "tail",
    ["actions/", "notices/", "root-causes/", "lessons/", "tracker-form/", "enquiries/"],
)
@pytest.mark.parametrize("username", ["reporter2", "manager2"])
def test_every_plan_endpoint_is_404_outside_scope(org, incident, api_client_for, tail, username):
    client = api_client_for(username)
    assert client.get(url(incident, tail)).status_code == 404
    assert client.post(url(incident, tail), {}, format="json").status_code == 404
    assert client.post(url(incident, "transitions/"), {"status": "closed"}, format="json").status_code == 404
    assert client.get(url(incident, "plan/")).status_code == 404


def test_enquiries_are_hidden_from_the_reporter(org, incident, api_client_for):
    assert api_client_for("reporter").get(url(incident, "enquiries/")).status_code == 404
    response = api_client_for("dpo").post(
        url(incident, "enquiries/"),
        {"kind": "enquiry", "person_name": "A Person", "received_at": timezone.now().isoformat()},
        format="json",
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    refused = api_client_for("dpo").patch(
        url(incident, f"enquiries/{pk}/"),
        {"answered_at": timezone.now().isoformat(), "data_held": False},
        format="json",
    )
    assert refused.status_code == 400
    assert "Verify the person's identity" in refused.json()["answered_at"][0]
    assert Enquiry.objects.get(pk=pk).answered_at is None
    answered = api_client_for("dpo").patch(
        url(incident, f"enquiries/{pk}/"),
        {
            "identity_verified": True,
            "identity_method": "Driving licence",
            "data_held": False,
            "answered_at": timezone.now().isoformat(),
        },
        format="json",
    )
    assert answered.status_code == 200, answered.json()
    assert answered.json()["data_held"] is False


def test_notices_root_causes_and_tracker_form(org, incident, api_client_for):
    isim = api_client_for("isim")
    notice = isim.post(
        url(incident, "notices/"),
        {
            "party": "press",
            "method": "other",
            "recipient": "Evening Chronicle",
            "told_at": timezone.now().isoformat(),
            "summary": "Holding line.",
        },
        format="json",
    )
    assert notice.status_code == 400
    assert "Press Office" in notice.json()["cleared_by"][0]
    notice = isim.post(
        url(incident, "notices/"),
        {
            "party": "press",
            "method": "other",
            "recipient": "Evening Chronicle",
            "told_at": timezone.now().isoformat(),
            "summary": "Holding line.",
            "cleared_by": "press",
        },
        format="json",
    )
    assert notice.status_code == 201
    assert PartyNotice.objects.get().cleared_by == org["press"]

    cause = isim.post(url(incident, "root-causes/"), {"cause": "addressing_error"}, format="json")
    assert cause.status_code == 201
    assert RootCause.objects.get().cause == "addressing_error"

    first = isim.post(url(incident, "tracker-form/"), {"summary": "Lost."}, format="json")
    assert first.status_code == 201
    assert (first.json()["version"], first.json()["complete"]) == (1, False)
    second = isim.post(url(incident, "tracker-form/"), {**COMPLETE_TRACKER, "change_note": "Day 2"}, format="json")
    assert second.json()["version"] == 2
    versions = isim.get(url(incident, "tracker-form/")).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["complete"] is True
    assert TrackerFormVersion.objects.count() == 2


def test_transitions_and_the_closing_checklist(org, incident, api_client_for):
    chief = api_client_for("chief")
    plan = chief.get(url(incident, "plan/")).json()
    assert plan["status"] == "reported"
    assert {"element": "evaluation", "message": "No lessons learned are recorded"} in plan["closure_missing"]
    assert [t["status"] for t in plan["transitions"]] == ["under_investigation"]

    refused = chief.post(url(incident, "transitions/"), {"status": "closed"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["status"] == ["A reported incident cannot become closed"]

    make_ready_to_close(org, incident)
    closed = chief.post(url(incident, "transitions/"), {"status": "closed"}, format="json")
    assert closed.status_code == 200, closed.json()
    assert closed.json()["status"] == "closed"
    assert closed.json()["transitions"] == [
        {"status": "under_investigation", "label": "Re-open the incident", "reason_required": True}
    ]


def test_closing_over_the_api_lists_what_is_missing(org, incident, api_client_for):
    make_ready_to_close(org, incident, skip={"lessons", "improvement"})
    response = api_client_for("siro").post(url(incident, "transitions/"), {"status": "closed"}, format="json")
    assert response.status_code == 400
    assert response.json()["status"] == [
        "The incident cannot be closed yet:",
        "No lessons learned are recorded",
        "No improvement action is recorded",
    ]


def test_my_actions_lists_open_actions_across_incidents(org, incident, api_client_for):
    other = IncidentFactory(reporter=org["reporter"])
    for target in (incident, other):
        api_client_for("isim").post(
            url(target, "actions/"),
            {
                "kind": "improvement",
                "topic": "training",
                "description": f"Train staff ({target.reference})",
                "owner": "manager",
                "due_on": (timezone.localdate() + timedelta(days=7)).isoformat(),
            },
            format="json",
        )
    mine = api_client_for("manager").get("/api/v1/actions/mine/").json()
    assert len(mine) == 2
    assert api_client_for("reporter").get("/api/v1/actions/mine/").json() == []


def test_the_schema_still_builds(org, api_client_for):
    response = api_client_for("siro").get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/incidents/{reference}/transitions/" in response.content
