"""My tasks: recommendations waiting for a decision and actions to finish, each with its
one-click answer and a reason box where a reason is required."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from breachdesk.models import AuditEvent
from incidents.models import Action
from incidents.services.plan import action_create
from riskassess.models import Decision
from riskassess.services import decision_record, risk_assessment_create
from tests.factories import IncidentFactory
from tests.riskassess.test_services import JTRACK

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def assessed(org):
    incident = IncidentFactory(reporter=org["reporter"])
    assessment = risk_assessment_create(incident=incident, actor=org["isim"], data=dict(JTRACK))
    return incident, assessment


def test_deciders_see_each_undecided_recommendation_and_others_do_not(org, assessed):
    incident, assessment = assessed
    page = _client(org["dpo"]).get("/tasks/").content.decode()
    assert "Recommendations waiting for your decision" in page
    assert f"task-decision-{incident.reference}" in page
    for kind, label in (("notify_regulator", "Notify the ICO"), ("notify_subjects", "Tell the people affected")):
        recommended = "yes" if assessment.recommendations[kind] else "no"
        assert f"{label}? Recommended: {recommended}" in page
    # the reporter and the line manager do not decide
    assert "Recommendations waiting" not in _client(org["reporter"]).get("/tasks/").content.decode()
    assert "Recommendations waiting" not in _client(org["manager"]).get("/tasks/").content.decode()


def test_deciding_from_the_list_records_it_and_takes_it_off(org, assessed):
    incident, assessment = assessed
    client = _client(org["dpo"])
    recommended = bool(assessment.recommendations["notify_regulator"])
    response = client.post(
        f"/incidents/{incident.reference}/risk/decisions/",
        {"from": "tasks", "kind": "notify_regulator", "decision": str(recommended).lower(), "reason": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == "/tasks/#decisions"
    decision = Decision.objects.get(incident=incident, kind="notify_regulator")
    assert decision.decision is recommended
    assert decision.decided_by == org["dpo"]
    page = client.get("/tasks/").content.decode()
    assert f"Decision recorded for {incident.reference}" in page
    assert "Notify the ICO? Recommended" not in page
    assert "Tell the people affected? Recommended" in page  # still to decide


def test_going_against_the_recommendation_without_a_reason_changes_nothing(org, assessed):
    incident, assessment = assessed
    client = _client(org["dpo"])
    against = str(not assessment.recommendations["notify_subjects"]).lower()
    events = AuditEvent.objects.count()
    response = client.post(
        f"/incidents/{incident.reference}/risk/decisions/",
        {"from": "tasks", "kind": "notify_subjects", "decision": against, "reason": "  "},
        follow=True,
    )
    assert "You are going against the recommendation: give your reason" in response.content.decode()
    assert not Decision.objects.filter(incident=incident).exists()
    assert AuditEvent.objects.count() == events
    client.post(
        f"/incidents/{incident.reference}/risk/decisions/",
        {"from": "tasks", "kind": "notify_subjects", "decision": against, "reason": "All were told by phone."},
    )
    assert Decision.objects.get(incident=incident, kind="notify_subjects").reason == "All were told by phone."


def test_a_fully_decided_incident_leaves_the_list(org, assessed):
    incident, assessment = assessed
    for kind in ("notify_regulator", "notify_subjects", "involve_police"):
        decision_record(
            incident=incident, actor=org["siro"], kind=kind, decision=bool(assessment.recommendations.get(kind))
        )
    assert f"task-decision-{incident.reference}" not in _client(org["dpo"]).get("/tasks/").content.decode()


def test_a_chief_officer_sees_only_their_units_decisions(org, assessed):
    incident, _ = assessed
    durham = IncidentFactory(reporter=org["reporter2"])
    risk_assessment_create(incident=durham, actor=org["siro"], data=dict(JTRACK))
    page = _client(org["chief"]).get("/tasks/").content.decode()
    assert f"task-decision-{incident.reference}" in page
    assert f"task-decision-{durham.reference}" not in page
    assert f"task-decision-{durham.reference}" in _client(org["siro"]).get("/tasks/").content.decode()


@pytest.fixture
def action(org):
    # set a week ago, due two days ago: overdue now
    with time_machine.travel(timezone.now() - timedelta(days=7)):
        incident = IncidentFactory(reporter=org["reporter"])
        return action_create(
            incident=incident,
            actor=org["isim"],
            kind="improvement",
            topic="training",
            description="Refresher training for the office",
            owner=org["manager"],
            due_on=timezone.localdate() + timedelta(days=5),
        )


def test_an_action_is_marked_done_from_the_list(org, action):
    client = _client(org["manager"])
    page = client.get("/tasks/").content.decode()
    assert f'id="task-action-{action.pk}"' in page
    assert "Overdue" in page
    response = client.post(
        f"/incidents/{action.incident.reference}/actions/{action.pk}/finish/",
        {"from": "tasks", "outcome": "done", "text": "Twelve staff trained on 3 March; register attached."},
    )
    assert response["Location"] == "/tasks/#my-actions"
    action.refresh_from_db()
    assert action.state == "done"
    assert action.outcome.startswith("Twelve staff")
    assert f'id="task-action-{action.pk}"' not in client.get("/tasks/").content.decode()


def test_marking_done_without_saying_what_was_done_changes_nothing(org, action):
    client = _client(org["manager"])
    response = client.post(
        f"/incidents/{action.incident.reference}/actions/{action.pk}/finish/",
        {"from": "tasks", "outcome": "done", "text": ""},
        follow=True,
    )
    assert f"{action.incident.reference}: Say what was done, or why it was not done" in response.content.decode()
    action.refresh_from_db()
    assert action.state == "open"
    assert Action.objects.filter(pk=action.pk, state="open").exists()


def test_the_decisions_list_queries_do_not_grow(org, django_assert_max_num_queries):
    client = _client(org["dpo"])
    first = IncidentFactory(reporter=org["reporter"])
    risk_assessment_create(incident=first, actor=org["isim"], data=dict(JTRACK))
    with django_assert_max_num_queries(30) as few:
        client.get("/tasks/")
    for _ in range(5):
        more = IncidentFactory(reporter=org["reporter"])
        risk_assessment_create(incident=more, actor=org["isim"], data=dict(JTRACK))
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/tasks/").content.decode()
    assert page.count('id="task-decision-') == 6


def test_a_long_queue_of_receipts_shows_the_most_urgent_and_how_many_more(org):
    from notifications.services import timers_sweep

    for _ in range(23):
        IncidentFactory(reporter=org["reporter"])
    timers_sweep()
    page = _client(org["manager"]).get("/tasks/").content.decode()
    assert page.count("I have received this<span") == 20
    assert "3 more waiting. These are the 20 due soonest" in page


def test_a_decision_without_yes_or_no_or_of_an_unknown_kind_changes_nothing(org, assessed):
    incident, _ = assessed
    client = _client(org["dpo"])
    url = f"/incidents/{incident.reference}/risk/decisions/"
    page = client.post(url, {"from": "tasks", "kind": "notify_regulator", "reason": ""}, follow=True)
    assert "Select yes or no" in page.content.decode()
    page = client.post(url, {"from": "tasks", "kind": "tell_the_press", "decision": "true"}, follow=True)
    assert page.redirect_chain[-1][0] == "/tasks/#decisions"
    assert "Select a valid choice" in page.content.decode()
    assert not Decision.objects.filter(incident=incident).exists()


def test_the_decision_card_says_the_assessments_finding_in_plain_words(org, assessed):
    _, assessment = assessed
    page = _client(org["dpo"]).get("/tasks/").content.decode()
    finding = (
        f"{assessment.get_level_display().lower()} severity; {assessment.get_risk_to_individuals_display().lower()}."
    )
    assert finding in page
    assert "risk to people risk" not in page


def test_the_lists_are_read_once_then_from_the_cache_until_something_is_recorded(org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notifications.models import Notification
    from notifications.services import timers_sweep

    first = IncidentFactory(reporter=org["reporter"])
    timers_sweep()  # the line manager is told, which is recorded
    client = _client(org["manager"])
    assert f">{first.reference}</a>" in client.get("/tasks/").content.decode()

    with CaptureQueriesContext(connection) as again:
        page = client.get("/tasks/").content.decode()
    assert f">{first.reference}</a>" in page
    read = " ".join(q["sql"] for q in again.captured_queries)
    assert "notifications_notification" not in read, "a view with nothing recorded reads no list again"
    assert "incidents_action" not in read

    # Confirming receipt is recorded, so the next view works the lists out again.
    receipt = Notification.objects.get(incident=first, recipient=org["manager"])
    assert client.post(f"/notifications/{receipt.pk}/acknowledge/").status_code == 302
    assert f">{first.reference}</a>" not in client.get("/tasks/").content.decode()

    # So is anything else anyone records: a new incident's receipt shows at once.
    second = IncidentFactory(reporter=org["reporter"])
    timers_sweep()
    assert f">{second.reference}</a>" in client.get("/tasks/").content.decode()


def test_each_person_has_their_own_cached_lists(org):
    from notifications.services import timers_sweep

    incident = IncidentFactory(reporter=org["reporter"])
    timers_sweep()
    assert f">{incident.reference}</a>" in _client(org["manager"]).get("/tasks/").content.decode()
    assert f">{incident.reference}</a>" not in _client(org["press"]).get("/tasks/").content.decode()


def test_a_role_taken_away_outside_the_services_takes_effect_on_the_next_view(org, assessed):
    """Roles are edited in the admin, which records no audit event: the cached lists are kept
    per role held as well as per person, so the next view is worked out again."""
    from breachdesk.models import RoleAssignment

    incident, _assessment = assessed
    client = _client(org["dpo"])
    assert f"task-decision-{incident.reference}" in client.get("/tasks/").content.decode()
    events = AuditEvent.objects.count()
    RoleAssignment.objects.filter(user=org["dpo"], role="dpo").delete()
    assert AuditEvent.objects.count() == events  # nothing recorded
    assert f"task-decision-{incident.reference}" not in client.get("/tasks/").content.decode()
