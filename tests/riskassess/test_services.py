from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from breachdesk.audit import audit_verify
from breachdesk.models import AuditEvent
from notifications.models import Deadline
from riskassess.models import Decision, RiskAssessment
from riskassess.services import decision_record, risk_assessment_create
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

JTRACK = {
    "data_categories": ["criminal_offence", "basic_identifiers"],
    "subject_categories": ["offenders"],
    "subjects_count": 84_000,
    "ease_of_identification": "maximum",
    "confidentiality": "unknown_recipients",
    "integrity": "none",
    "availability": "none",
    "malicious": False,
    "datasets": [
        {
            "name": "Prisoners (PNC extract)",
            "records": 84_000,
            "people": 84_000,
            "fields_held": "name, DOB, release date",
        },
        {"name": "Prolific offenders", "records": 33_000, "people": 33_000},
        {"name": "Priority offenders", "records": 10_000, "people": 10_000},
        {"name": "Drug intervention", "records": 10_000, "people": 10_000},
    ],
    "groups": [
        {
            "name": "Sex offenders matchable by name, address and offence",
            "size": 34,
            "harm": "Vigilante attack",
            "likelihood": "medium",
            "severity": "high",
            "mitigation": "Police risk assessment of each person",
            "owner": "ISIM",
        },
        {"name": "All", "harm": "Fraud (no financial data)", "likelihood": "low", "severity": "medium"},
    ],
}


@pytest.fixture
def incident(org):
    return IncidentFactory(reporter=org["reporter"])


def test_assessment_versions_are_kept_and_high_risk_starts_the_art34_clock(org, incident):
    # when the ISIM assesses
    first = risk_assessment_create(incident=incident, actor=org["isim"], data=dict(JTRACK))

    # then the result is stored with its reasons, the group register and the population range
    assert (first.version, first.level, first.risk_to_individuals) == (1, "very_high", "high")
    assert first.recommendations["notify_subjects"] is True
    assert (first.population_min, first.population_max) == (84_000, 137_000)
    assert first.groups.count() == 2
    assert any("Art 34(1)" in line for line in first.rationale)
    subjects = Deadline.objects.get(incident=incident, code="subjects_informed")
    assert subjects.state == "pending"

    # when it is reassessed, the first version is unchanged
    second = risk_assessment_create(
        incident=incident,
        actor=org["dpo"],
        data={**JTRACK, "confidentiality": "known_recipients", "subjects_count": 10},
    )
    first.refresh_from_db()
    assert second.version == 2
    assert first.confidentiality == "unknown_recipients"
    assert AuditEvent.objects.filter(action="risk.assessed", incident_ref=incident.reference).count() == 2
    assert audit_verify().ok


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"ease_of_identification": "total"}, "ease_of_identification"),
        ({"confidentiality": ""}, "confidentiality"),
        ({"subjects_count": -4}, "subjects_count"),
        ({"data_categories": ["gossip"]}, "data_categories"),
        ({"dpc_adjustment": 1}, "dpc_adjustment_reason"),
        ({"dpc_adjustment": 2, "dpc_adjustment_reason": "x"}, "dpc_adjustment"),
        ({"malicious": None}, "malicious"),
        ({"groups": [{"name": "x", "harm": "", "likelihood": "huge", "severity": "low"}]}, "groups"),
        ({"datasets": [{"name": "", "records": -1}]}, "datasets"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(org, incident, bad, field):
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        risk_assessment_create(incident=incident, actor=org["isim"], data={**JTRACK, **bad})
    assert field in excinfo.value.message_dict
    assert not RiskAssessment.objects.exists()
    assert AuditEvent.objects.count() == events


def test_only_managers_and_above_assess(org, incident):
    with pytest.raises(PermissionDenied):
        risk_assessment_create(incident=incident, actor=org["reporter"], data=dict(JTRACK))


def test_decisions_need_a_reason_to_go_against_and_drive_the_clocks(org, incident):
    low = {
        **JTRACK,
        "data_categories": ["basic_identifiers"],
        "subject_categories": ["staff"],
        "subjects_count": 3,
        "confidentiality": "known_recipients",
        "recipients_trusted_and_data_recovered": True,
        "datasets": [],
        "groups": [],
    }
    with pytest.raises(ValidationError, match="Assess the risk first"):
        decision_record(incident=incident, actor=org["dpo"], kind="notify_regulator", decision=False)
    risk_assessment_create(incident=incident, actor=org["isim"], data=low)

    # the recommendation is not to notify the ICO; following it needs no reason
    with pytest.raises(PermissionDenied):
        decision_record(incident=incident, actor=org["isim"], kind="notify_regulator", decision=False)
    decision_record(incident=incident, actor=org["dpo"], kind="notify_regulator", decision=False)
    ico = Deadline.objects.get(incident=incident, code="ico_notified")
    assert ico.state == "not_required"

    # going against a recommendation needs a reason
    with pytest.raises(ValidationError) as excinfo:
        decision_record(incident=incident, actor=org["siro"], kind="notify_subjects", decision=True)
    assert "reason" in excinfo.value.message_dict
    decision_record(
        incident=incident,
        actor=org["siro"],
        kind="notify_subjects",
        decision=True,
        reason="They asked to be kept informed.",
    )
    assert Deadline.objects.get(incident=incident, code="subjects_informed").state == "pending"
    assert Decision.objects.filter(incident=incident).count() == 2
    assert AuditEvent.objects.filter(action="risk.decided").count() == 2


def test_deciding_not_to_tell_people_closes_the_art34_clock_with_the_reason(org, incident):
    risk_assessment_create(incident=incident, actor=org["isim"], data=dict(JTRACK))
    decision_record(
        incident=incident,
        actor=org["chief"],
        kind="notify_subjects",
        decision=False,
        reason="Police advise that telling them now would prejudice the investigation (s.68(7)).",
    )
    subjects = Deadline.objects.get(incident=incident, code="subjects_informed")
    assert subjects.state == "not_required"
    assert "Police advise" in subjects.reason


def test_views_form_result_compare_and_decide(org, incident):
    client = Client()
    client.force_login(org["isim"])
    assert client.get(f"/incidents/{incident.reference}/risk/").status_code == 200
    form = client.get(f"/incidents/{incident.reference}/risk/new/")
    assert form.status_code == 200
    assert "Maximum: name and address" in form.content.decode()  # guidance beside the factor
    post = {
        "data_categories": ["criminal_offence"],
        "subject_categories": ["victims"],
        "subjects_count": "2",
        "ease_of_identification": "maximum",
        "confidentiality": "known_recipients",
        "integrity": "none",
        "availability": "none",
        "malicious": "false",
        "encryption": "none",
        "recipients_trusted_and_data_recovered": "false",
        "backup_available": "false",
        "theft": "false",
        "mappa_information": "false",
        "law_enforcement_processing": "true",
        "measures_removed_high_risk": "false",
        "disproportionate_effort": "false",
        "dpc_adjustment": "0",
        "ds-TOTAL_FORMS": "3",
        "ds-INITIAL_FORMS": "0",
        "grp-TOTAL_FORMS": "3",
        "grp-INITIAL_FORMS": "0",
        "grp-0-name": "Victims",
        "grp-0-harm": "Harassment by the offender",
        "grp-0-likelihood": "high",
        "grp-0-severity": "high",
    }
    bad = client.post(f"/incidents/{incident.reference}/risk/new/", {**post, "dpc_adjustment": "1"})
    assert bad.status_code == 400
    assert "Give the reason for adjusting the score" in bad.content.decode()
    assert not RiskAssessment.objects.exists()
    done = client.post(f"/incidents/{incident.reference}/risk/new/", post)
    assert done.status_code == 302
    result = client.get(done["Location"]).content.decode()
    assert "DPA 2018 s.67" in result
    assert "Harassment by the offender" in result
    client.post(f"/incidents/{incident.reference}/risk/new/", {**post, "confidentiality": "none"})
    compare = client.get(f"/incidents/{incident.reference}/risk/compare/?a=1&b=2").content.decode()
    assert "Changed" in compare

    dpo = Client()
    dpo.force_login(org["dpo"])
    # following the recommendation (no police: no theft, malice or MAPPA) needs no reason
    dpo.post(
        f"/incidents/{incident.reference}/risk/decisions/",
        {"kind": "involve_police", "decision": "false", "reason": ""},
    )
    assert Decision.objects.get().reason == ""
    # going against it (the ICO is recommended for criminal data about victims) does
    assert RiskAssessment.objects.get(version=2).recommendations["notify_regulator"] is True
    response = dpo.post(
        f"/incidents/{incident.reference}/risk/decisions/",
        {"kind": "notify_regulator", "decision": "false", "reason": ""},
        follow=True,
    )
    assert "give your reason" in response.content.decode()
    assert Decision.objects.count() == 1
    page = dpo.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Version 2" in page


def test_risk_pages_are_scoped(org, incident):
    other = Client()
    other.force_login(org["reporter2"])
    assert other.get(f"/incidents/{incident.reference}/risk/").status_code == 404
    assert other.get(f"/incidents/{incident.reference}/risk/new/").status_code == 404


def test_api_create_matches_the_contract(org, incident, api_client_for):
    client = api_client_for("isim")
    response = client.post(
        f"/api/v1/incidents/{incident.reference}/risk-assessments/",
        {
            "data_categories": ["criminal_offence"],
            "subject_categories": ["offenders"],
            "ease_of_identification": "maximum",
            "confidentiality": "known_recipients",
            "integrity": "none",
            "availability": "none",
            "malicious": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["version"] == 1
    assert body["severity"] == {"dpc": 4, "ei": 1.0, "cb": 0.75, "score": 4.75, "level": "very_high"}
    assert body["risk_to_individuals"] == "high"
    assert body["recommendations"]["notify_regulator"] is True
    assert body["recommendations"]["involve_police"] is True
    assert isinstance(body["rationale"], list)
    assert client.get(f"/api/v1/incidents/{incident.reference}/risk-assessments/1/").json()["version"] == 1


def test_api_bad_input_names_each_field(org, incident, api_client_for):
    response = api_client_for("isim").post(
        f"/api/v1/incidents/{incident.reference}/risk-assessments/",
        {
            "ease_of_identification": "total",
            "confidentiality": "none",
            "integrity": "none",
            "availability": "none",
            "malicious": False,
            "subjects_count": -1,
            "dpc_adjustment": 1,
        },
        format="json",
    )
    assert response.status_code == 400
    assert {"ease_of_identification", "subjects_count"} <= set(response.json())
    assert not RiskAssessment.objects.exists()
    missing_reason = api_client_for("isim").post(
        f"/api/v1/incidents/{incident.reference}/risk-assessments/",
        {
            "ease_of_identification": "maximum",
            "confidentiality": "none",
            "integrity": "none",
            "availability": "none",
            "malicious": False,
            "dpc_adjustment": 1,
        },
        format="json",
    )
    assert set(missing_reason.json()) == {"dpc_adjustment_reason"}


def test_api_decisions(org, incident, api_client_for):
    risk_assessment_create(incident=incident, actor=org["isim"], data=dict(JTRACK))
    url = f"/api/v1/incidents/{incident.reference}/decisions/"
    refused = api_client_for("isim").post(url, {"kind": "notify_subjects", "decision": True}, format="json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only the DPO, SIRO or Chief Officer can decide this."}
    against = api_client_for("dpo").post(url, {"kind": "notify_subjects", "decision": False}, format="json")
    assert against.status_code == 400
    assert "reason" in against.json()
    ok = api_client_for("dpo").post(url, {"kind": "notify_subjects", "decision": True}, format="json")
    assert ok.status_code == 201
    assert ok.json()["recommended"] is True
    assert [d["kind"] for d in api_client_for("manager").get(url).json()] == ["notify_subjects"]


def test_late_timing_is_kept(org, incident):
    assessment = risk_assessment_create(incident=incident, actor=org["isim"], data=dict(JTRACK))
    assert assessment.created_at <= timezone.now() + timedelta(seconds=1)
