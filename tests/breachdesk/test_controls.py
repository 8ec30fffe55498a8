"""The controls register (DOMAIN.md s.7, the East Midlands enforcement conditions): where each
control stands, the gaps an incident shows, the rules of recording a check, and who may see
and record what, on the page, the form and the API."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from breachdesk.choices import Role
from breachdesk.models import AuditEvent, ControlCheck, OrgUnit, RoleAssignment
from breachdesk.selectors import (
    control_gaps_for_incident,
    control_register_for_user,
    control_status_for_partner,
    control_status_for_unit,
    control_training_valid_until,
)
from breachdesk.services import control_check_record
from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


@pytest.fixture
def blank(org):
    """The demo organisation with an empty register (the demo's own checks removed)."""
    ControlCheck.objects.all().delete()
    return org


@pytest.fixture
def frozen_today():
    """Recording a check validates against today's date in London: pin it (midday, UK time)."""
    with time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=ZoneInfo("Europe/London")), tick=False):
        yield TODAY


def unit(code):
    return OrgUnit.objects.get(code=code)


def record(actor, **overrides):
    values = {
        "subject": "unit",
        "kind": "premises_risk_assessed",
        "in_place": True,
        "checked_on": TODAY - timedelta(days=10),
        "evidence": "Assessment PRA-1 on the shared drive",
    }
    values.update(overrides)
    return control_check_record(actor=actor, **values)


def by_kind(statuses):
    return {s.kind: s for s in statuses}


def login(username):
    client = Client()
    assert client.login(username=username, password=DEMO_PASSWORD)
    return client


# --- where a control stands -----------------------------------------------------------------


def test_a_unit_inherits_the_nearest_ancestors_check(blank, frozen_today):
    siro = blank["siro"]
    record(siro, unit=unit("NE"), kind="staff_trained", evidence="Regional training log")
    area = record(siro, unit=unit("NE-TYNE"), kind="staff_trained", in_place=False, evidence="")

    # when
    newcastle = by_kind(control_status_for_unit(unit("NE-TYNE-NCL"), today=TODAY))
    durham = by_kind(control_status_for_unit(unit("NE-DUR-DUR"), today=TODAY))

    # then: the area's record is nearer than the region's
    assert newcastle["staff_trained"].check == area
    assert newcastle["staff_trained"].inherited_from == unit("NE-TYNE")
    assert newcastle["staff_trained"].is_gap
    assert newcastle["staff_trained"].reason == "Not in place, checked 28 February 2026"
    assert newcastle["staff_trained"].subject_label == "Newcastle Probation Office"
    # the other area has none of its own: the region's covers it
    assert not durham["staff_trained"].is_gap
    assert durham["staff_trained"].inherited_from == unit("NE")
    assert durham["staff_trained"].reason == "In place, checked 28 February 2026, valid until 28 February 2028"


def test_a_units_own_check_stands_instead_of_its_areas(blank, frozen_today):
    siro = blank["siro"]
    record(siro, unit=unit("NE-TYNE"), kind="media_encrypted", evidence="Area encryption audit")
    own = record(siro, unit=unit("NE-TYNE-NCL"), kind="media_encrypted", in_place=False, evidence="")

    newcastle = by_kind(control_status_for_unit(unit("NE-TYNE-NCL"), today=TODAY))["media_encrypted"]
    sunderland = by_kind(control_status_for_unit(unit("NE-TYNE-SUN"), today=TODAY))["media_encrypted"]
    area = by_kind(control_status_for_unit(unit("NE-TYNE"), today=TODAY))["media_encrypted"]

    assert (newcastle.check, newcastle.inherited_from, newcastle.is_gap) == (own, None, True)
    assert (sunderland.is_gap, sunderland.inherited_from) == (False, unit("NE-TYNE"))
    assert (area.is_gap, area.inherited_from) == (False, None)

    # and the other way round: a unit that fixed its own gap is not dragged down by the area
    record(siro, unit=unit("NE-TYNE"), kind="premises_risk_assessed", in_place=False, evidence="")
    record(siro, unit=unit("NE-TYNE-NCL"), kind="premises_risk_assessed")
    assert not by_kind(control_status_for_unit(unit("NE-TYNE-NCL"), today=TODAY))["premises_risk_assessed"].is_gap


def test_the_latest_check_stands_by_date_then_by_id(blank, frozen_today):
    siro = blank["siro"]
    ncl = unit("NE-TYNE-NCL")
    record(siro, unit=ncl, checked_on=TODAY - timedelta(days=1), in_place=False, evidence="")
    record(siro, unit=ncl, checked_on=TODAY - timedelta(days=5))  # recorded later, checked earlier
    assert by_kind(control_status_for_unit(ncl, today=TODAY))["premises_risk_assessed"].is_gap

    same_day = record(siro, unit=ncl, checked_on=TODAY - timedelta(days=1))
    status = by_kind(control_status_for_unit(ncl, today=TODAY))["premises_risk_assessed"]
    assert (status.check, status.is_gap) == (same_day, False)


def test_nothing_recorded_is_a_gap_for_every_required_control(blank):
    statuses = control_status_for_unit(unit("NE-DUR-DAR"), today=TODAY)
    assert [s.kind for s in statuses] == ["premises_risk_assessed", "media_encrypted", "staff_trained"]
    assert all(s.is_gap and s.reason == "Never recorded" and s.check is None for s in statuses)


def test_a_check_is_valid_on_its_last_day_and_a_gap_the_day_after(blank, frozen_today):
    ncl = unit("NE-TYNE-NCL")
    until = TODAY - timedelta(days=2)
    record(blank["siro"], unit=ncl, checked_on=TODAY - timedelta(days=30), valid_until=until)

    on_the_day = by_kind(control_status_for_unit(ncl, today=until))["premises_risk_assessed"]
    day_after = by_kind(control_status_for_unit(ncl, today=until + timedelta(days=1)))["premises_risk_assessed"]

    assert not on_the_day.is_gap
    assert day_after.is_gap
    assert day_after.reason == "Expired on 8 March 2026"


def test_training_counts_for_two_years_unless_a_date_is_given(blank, frozen_today):
    siro, ncl = blank["siro"], unit("NE-TYNE-NCL")
    trained = record(siro, unit=ncl, kind="staff_trained", checked_on=date(2024, 5, 10))
    assert trained.valid_until == date(2026, 5, 10)
    leap = record(siro, unit=ncl, kind="staff_trained", checked_on=date(2024, 2, 29))
    assert leap.valid_until == date(2026, 2, 28) == control_training_valid_until(date(2024, 2, 29))
    shorter = record(siro, unit=ncl, kind="staff_trained", checked_on=date(2025, 1, 1), valid_until=date(2025, 6, 1))
    assert shorter.valid_until == date(2025, 6, 1)
    # other controls keep what was entered, which may be nothing
    assert record(siro, unit=ncl, kind="media_encrypted").valid_until is None
    # the latest (2025) check ran out on 1 June 2025
    assert by_kind(control_status_for_unit(ncl, today=TODAY))["staff_trained"].reason == "Expired on 1 June 2025"


def test_a_training_record_made_without_a_date_still_lapses_after_two_years(blank):
    ControlCheck.objects.create(
        subject="unit", unit=unit("NE-DUR"), kind="staff_trained", in_place=True, checked_on=date(2023, 1, 5),
        evidence="Imported", recorded_by=blank["siro"], recorded_at=timezone.now(),
    )  # fmt: skip
    status = by_kind(control_status_for_unit(unit("NE-DUR-DAR"), today=TODAY))["staff_trained"]
    assert status.is_gap
    assert status.reason == "Expired on 5 January 2025"


# --- projects and processors ----------------------------------------------------------------


def test_partners_are_matched_ignoring_case_and_surrounding_spaces(blank, frozen_today):
    record(
        blank["siro"], subject="processor", partner="  Acme Shredding Ltd ", kind="sharing_agreement",
        evidence="Contract schedule 4",
    )  # fmt: skip
    statuses = by_kind(control_status_for_partner("processor", "ACME shredding ltd", today=TODAY))

    assert not statuses["sharing_agreement"].is_gap
    assert statuses["sharing_agreement"].subject_label == "Acme Shredding Ltd"  # stored without the spaces
    assert statuses["media_encrypted"].reason == "Never recorded"
    assert set(statuses) == {"sharing_agreement", "media_encrypted", "staff_trained"}
    # a project of the same name is another subject, with nothing recorded
    assert all(s.is_gap for s in control_status_for_partner("project", "Acme Shredding Ltd", today=TODAY))
    assert all(s.is_gap for s in control_status_for_partner("processor", "Acme Shredding Limited", today=TODAY))


def test_an_incident_shows_its_units_gaps_and_its_processors(blank, frozen_today):
    siro = blank["siro"]
    record(siro, unit=unit("NE-TYNE"), kind="staff_trained", evidence="Area log")
    record(siro, unit=unit("NE-TYNE-NCL"), kind="premises_risk_assessed")
    record(siro, unit=unit("NE-TYNE-NCL"), kind="media_encrypted", in_place=False, evidence="")
    record(
        siro, subject="processor", partner="Acme Shredding Ltd", kind="sharing_agreement", in_place=False, evidence=""
    )
    record(siro, subject="processor", partner="Acme Shredding Ltd", kind="media_encrypted", evidence="ISO 27001 cert")
    record(siro, subject="processor", partner="Acme Shredding Ltd", kind="staff_trained", evidence="Training log")

    incident = IncidentFactory(reporter=blank["reporter"], third_party="  ACME shredding ltd")
    gaps = control_gaps_for_incident(incident, today=TODAY)

    assert [(g.subject, g.kind, g.reason) for g in gaps] == [
        ("unit", "media_encrypted", "Not in place, checked 28 February 2026"),
        ("processor", "sharing_agreement", "Not in place, checked 28 February 2026"),
    ]
    html = render_to_string("controls/_incident_gaps.html", {"control_gaps": gaps})
    assert "Control gaps for Newcastle Probation Office" in html
    assert "Control gaps for Acme Shredding Ltd (processor or contractor)" in html
    assert "Portable devices and removable media encrypted" in html
    assert "govuk-warning-text" in html

    # a third party named differently is another organisation: only the unit's gap shows
    other = IncidentFactory(reporter=blank["reporter"], third_party="Acme Shredding Limited")
    assert [g.subject for g in control_gaps_for_incident(other, today=TODAY)] == ["unit"]


def test_an_incident_from_a_unit_with_every_control_in_place_shows_none(blank, frozen_today):
    for kind in ("premises_risk_assessed", "media_encrypted", "staff_trained"):
        record(blank["siro"], unit=unit("NE-DUR"), kind=kind)
    incident = IncidentFactory(reporter=blank["reporter2"], third_party="Someone with no checks")
    assert control_gaps_for_incident(incident, today=TODAY) == []
    html = render_to_string("controls/_incident_gaps.html", {"control_gaps": []})
    assert "No control gaps recorded for this unit." in html


# --- recording a check: the rules -----------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"checked_on": TODAY + timedelta(days=1)}, "checked_on", "The date of the check must be today or in the past"),
        (
            {"valid_until": TODAY - timedelta(days=11)},
            "valid_until",
            "must be the same as or after the date of the check",
        ),
        ({"subject": "processor", "unit": None}, "partner", "Enter the name of the project or processor"),
        (
            {"subject": "project", "unit": None, "partner": "   "},
            "partner",
            "Enter the name of the project or processor",
        ),
        ({"partner": "Acme Shredding Ltd"}, "partner", "A check for a unit names no project or processor"),
        ({"subject": "processor", "partner": "Acme"}, "unit", "A check for a project or processor names no unit"),
        ({"unit": None}, "unit", "Choose the unit the check is for"),
        ({"evidence": "  "}, "evidence", "Enter the evidence that the control is in place"),
        ({"kind": "siro_appointed"}, "kind", "A unit does not need this control"),
        ({"kind": "firewall"}, "kind", "Choose the control that was checked"),
        ({"subject": "vendor"}, "subject", "Choose a unit, a collaborative project or a processor"),
        ({"partner": "x" * 201, "subject": "processor", "unit": None}, "partner", "200 characters or fewer"),
        ({"evidence": "x" * 10_001}, "evidence", "10,000 characters or fewer"),
        (
            {"kind": "staff_trained", "checked_on": date(2025, 1, 1), "valid_until": date(2027, 1, 2)},
            "valid_until",
            "Training counts for two years at most: the date must be on or before 1 January 2027",
        ),
    ],
)
def test_every_bad_check_is_refused_with_a_clear_message_and_nothing_written(
    blank, frozen_today, overrides, field, message
):
    checks, events = ControlCheck.objects.count(), AuditEvent.objects.count()
    values = {"unit": unit("NE-TYNE-NCL"), **overrides}
    with pytest.raises(ValidationError) as refused:
        record(blank["siro"], **values)
    assert any(message in m for m in refused.value.message_dict[field]), refused.value.message_dict
    assert (ControlCheck.objects.count(), AuditEvent.objects.count()) == (checks, events)


def test_a_control_not_in_place_needs_no_evidence_and_the_check_is_audited(blank, frozen_today):
    check = record(blank["isim"], unit=unit("NE-TYNE-NCL"), kind="media_encrypted", in_place=False, evidence="")
    event = AuditEvent.objects.get(action="control.checked", object_id=str(check.pk))
    assert event.actor == blank["isim"]
    assert event.after["unit"] == "NE-TYNE-NCL"
    assert event.after["in_place"] is False
    assert check.recorded_by == blank["isim"]


@pytest.mark.parametrize(
    ("username", "subject", "where", "allowed"),
    [
        ("siro", "unit", "NE-DUR-DUR", True),
        ("dpo", "unit", "NE-TYNE-NCL", True),
        ("isim", "unit", "NE-TYNE-SUN", True),
        ("isim", "unit", "NE-DUR-DUR", False),  # outside the ISIM's area
        ("chief", "unit", "NE-TYNE", True),
        ("chief", "unit", "NE", False),  # above the Chief Officer's area
        ("manager", "unit", "NE-TYNE-NCL", False),
        ("isr", "unit", "NE-TYNE-NCL", False),
        ("scs", "unit", "NE-TYNE-NCL", False),
        ("reporter", "unit", "NE-TYNE-NCL", False),
        ("siro", "processor", "Acme", True),
        ("dpo", "project", "Acme", True),
        ("isim", "processor", "Acme", True),
        ("chief", "processor", "Acme", False),
        ("manager", "project", "Acme", False),
    ],
)
def test_who_may_record_a_check(blank, frozen_today, username, subject, where, allowed):
    target = {"unit": unit(where)} if subject == "unit" else {"subject": subject, "partner": where}
    kind = "premises_risk_assessed" if subject == "unit" else "sharing_agreement"
    if allowed:
        assert record(blank[username], kind=kind, **target).pk
    else:
        with pytest.raises(PermissionDenied):
            record(blank[username], kind=kind, **target)
        assert not ControlCheck.objects.exists()


# --- the register page ----------------------------------------------------------------------


@pytest.mark.parametrize("username", ["reporter", "reporter2", "press"])
def test_the_register_is_refused_to_staff_without_a_managing_role(org, username):
    assert login(username).get("/controls/").status_code == 403


def test_the_register_shows_each_unit_in_scope_with_in_place_and_gaps(org):
    # given the demo's checks: area training, Newcastle's premises in place and media not
    page = login("manager").get("/controls/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="unit-NE-TYNE-NCL"' in html
    assert 'id="unit-NE-TYNE-SUN"' not in html  # the manager's unit only
    assert 'id="unit-NE-DUR-DUR"' not in html
    assert '<th scope="col" class="govuk-table__header">Control</th>' in html
    assert '<caption class="govuk-table__caption govuk-table__caption--m">Newcastle Probation Office' in html
    assert 'govuk-tag--green">In place' in html
    assert 'govuk-tag--red">Gap' in html
    assert "Recorded for Tyne and Wear Probation Area" in html  # the area's training record
    assert "Premises risk assessment PRA-NCL-01" in html
    assert "Acme Shredding Ltd" in html  # processors are organisation-wide
    assert "Record a check" not in html  # a line manager reads only
    assert 'href="/controls/"' in html  # in the header for managers


def test_the_register_offers_recording_only_where_the_user_may(org):
    chief = login("chief").get("/controls/").content.decode()
    assert 'href="/controls/new/?unit=NE-TYNE-SUN"' in chief
    assert 'href="/controls/new/?unit=NE-DUR-DUR"' not in chief  # not in the Chief Officer's scope at all
    assert "?subject=processor&amp;partner=Acme%20Shredding%20Ltd" not in chief

    siro = login("siro").get("/controls/").content.decode()
    assert 'id="unit-NE-DUR-DUR"' in siro
    assert 'href="/controls/new/?unit=NE-DUR-DUR"' in siro
    assert "?subject=processor&amp;partner=Acme%20Shredding%20Ltd" in siro
    assert "Expired on" in siro  # Durham's training record is over two years old


def test_the_register_for_the_siro_covers_every_unit_and_the_demo_processor(org):
    register = control_register_for_user(org["siro"])
    assert [e.unit.code for e in register.units] == list(
        OrgUnit.objects.order_by("path").values_list("code", flat=True)
    )
    assert [(e.subject, e.subject_label) for e in register.partners] == [("processor", "Acme Shredding Ltd")]
    newcastle = next(e for e in register.units if e.unit.code == "NE-TYNE-NCL")
    assert {s.kind: s.is_gap for s in newcastle.statuses} == {
        "premises_risk_assessed": False,
        "media_encrypted": True,
        "staff_trained": False,
    }
    assert control_register_for_user(org["reporter"]).units == ()


def test_the_header_links_to_the_register_only_for_those_who_may_read_it(org):
    assert 'href="/controls/"' not in login("reporter").get("/incidents/").content.decode()
    assert 'href="/controls/"' in login("scs").get("/incidents/").content.decode()


def test_the_register_page_takes_a_fixed_number_of_queries(org, django_assert_max_num_queries):
    area = unit("NE-TYNE")
    siro = org["siro"]
    client = login("siro")
    with django_assert_max_num_queries(9) as few:
        assert client.get("/controls/").status_code == 200

    # when the organisation grows to many units, each with a history of checks
    for n in range(40):
        office = OrgUnit.objects.create(code=f"NE-TYNE-X{n}", name=f"Office {n}", level="unit", parent=area)
        for kind in ("premises_risk_assessed", "media_encrypted", "staff_trained"):
            for days in (400, 200, 3):
                ControlCheck.objects.create(
                    subject="unit", unit=office, kind=kind, in_place=days != 3, checked_on=TODAY - timedelta(days),
                    evidence="x", recorded_by=siro, recorded_at=timezone.now(),
                )  # fmt: skip
        ControlCheck.objects.create(
            subject="processor", partner=f"Processor {n}", kind="sharing_agreement", in_place=True,
            checked_on=TODAY, evidence="x", recorded_by=siro, recorded_at=timezone.now(),
        )  # fmt: skip

    # then the page asks no more of the database, for the SIRO or for an area's ISIM
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/controls/")
    assert page.status_code == 200
    assert 'id="unit-NE-TYNE-X39"' in page.content.decode()
    isim = login("isim")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert isim.get("/controls/").status_code == 200


# --- the form -------------------------------------------------------------------------------


def form_data(**overrides):
    data = {
        "subject": "unit",
        "unit": "NE-TYNE-SUN",
        "kind": "premises_risk_assessed",
        "in_place": "true",
        "checked_on": (timezone.localdate() - timedelta(days=3)).strftime("%d/%m/%Y"),
        "valid_until": "",
        "evidence": "Assessment PRA-SUN-02",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("username", ["reporter", "manager", "isr", "scs", "press"])
def test_the_form_is_refused_to_those_who_may_not_record(org, username):
    client = login(username)
    assert client.get("/controls/new/").status_code == 403
    assert client.post("/controls/new/", form_data()).status_code == 403
    assert ControlCheck.objects.filter(unit__code="NE-TYNE-SUN").count() == 0


def test_the_form_for_a_unit_outside_scope_is_not_found(org):
    chief = login("chief")
    assert chief.get("/controls/new/?unit=NE-DUR-DUR").status_code == 404
    assert chief.post("/controls/new/", form_data(unit="NE-DUR-DUR")).status_code == 404
    assert chief.get("/controls/new/?unit=NOWHERE").status_code == 404
    assert not ControlCheck.objects.filter(unit__code="NE-DUR-DUR").exists()


def test_the_form_prefills_the_unit_and_offers_a_chief_officer_units_only(org):
    html = login("chief").get("/controls/new/?unit=NE-TYNE-SUN").content.decode()
    assert 'value="NE-TYNE-SUN" selected' in html
    assert 'value="NE-DUR-DUR"' not in html
    assert 'name="partner"' not in html
    assert 'value="processor"' not in html
    assert 'value="siro_appointed"' not in html  # a unit does not need it
    isim = login("isim").get("/controls/new/?subject=processor&partner=Acme%20Shredding%20Ltd").content.decode()
    assert 'value="Acme Shredding Ltd"' in isim


def test_recording_through_the_form(org):
    response = login("chief").post("/controls/new/", form_data())
    assert response.status_code == 302
    assert response["Location"] == "/controls/#unit-NE-TYNE-SUN"
    check = ControlCheck.objects.get(unit__code="NE-TYNE-SUN")
    assert (check.kind, check.in_place, check.recorded_by.username) == ("premises_risk_assessed", True, "chief")

    response = login("isim").post(
        "/controls/new/", form_data(subject="processor", unit="", partner=" Acme Shredding Ltd ", kind="staff_trained")
    )
    assert response.status_code == 302
    check = ControlCheck.objects.get(partner="Acme Shredding Ltd", kind="staff_trained")
    assert check.valid_until == control_training_valid_until(check.checked_on)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"evidence": ""}, "Enter the evidence that the control is in place"),
        ({"checked_on": "31/02/2026"}, "Enter the date of the check as day/month/year"),
        ({"checked_on": ""}, "Enter the date of the check"),
        ({"in_place": ""}, "Select whether the control is in place"),
        ({"unit": ""}, "Choose the unit the check is for"),
        ({"valid_until": "01/01/2000"}, "must be the same as or after the date of the check"),
        ({"subject": "processor", "partner": ""}, "A check for a project or processor names no unit"),
        ({"checked_on": (timezone.localdate() + timedelta(days=2)).strftime("%d/%m/%Y")}, "today or in the past"),
    ],
)
def test_the_form_shows_each_problem_in_the_error_summary_and_writes_nothing(org, overrides, message):
    client = login("isim")  # signing in is itself audited
    events = AuditEvent.objects.count()
    response = client.post("/controls/new/", form_data(**overrides))
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert message in html
    assert not ControlCheck.objects.filter(unit__code="NE-TYNE-SUN").exists()
    assert AuditEvent.objects.count() == events


# --- the API --------------------------------------------------------------------------------


def api_body(**overrides):
    body = {
        "subject": "unit",
        "unit": "NE-TYNE-SUN",
        "kind": "media_encrypted",
        "in_place": True,
        "checked_on": (timezone.localdate() - timedelta(days=1)).isoformat(),
        "evidence": "BitLocker report, 12 devices",
    }
    body.update(overrides)
    return body


def test_the_api_lists_checks_within_scope(org, api_client_for):
    assert api_client_for("reporter").get("/api/v1/controls/").status_code == 403

    manager2 = api_client_for("manager2").get("/api/v1/controls/")
    assert manager2.status_code == 200
    seen = {(c["subject"], c["unit"] or c["partner"]) for c in manager2.json()["results"]}
    assert seen == {("processor", "Acme Shredding Ltd")}  # Durham City has none; its area's are above it

    siro = api_client_for("siro").get("/api/v1/controls/").json()["results"]
    assert len(siro) == ControlCheck.objects.count()
    assert {"id", "subject", "unit", "partner", "kind", "in_place", "checked_on", "valid_until", "evidence"} <= set(
        siro[0]
    )

    manager = api_client_for("manager")
    only = manager.get("/api/v1/controls/", {"unit": "NE-TYNE-NCL", "kind": "media_encrypted"}).json()["results"]
    assert [(c["unit"], c["in_place"]) for c in only] == [("NE-TYNE-NCL", False)]
    assert manager.get("/api/v1/controls/", {"unit": "NE-DUR-DUR"}).status_code == 404
    assert manager.get("/api/v1/controls/", {"partner": " acme SHREDDING ltd"}).json()["results"][0]["partner"] == (
        "Acme Shredding Ltd"
    )
    assert "kind" in manager.get("/api/v1/controls/", {"kind": "firewall"}).json()


def test_the_api_records_a_check(org, api_client_for):
    response = api_client_for("chief").post("/api/v1/controls/", api_body(), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["unit"] == "NE-TYNE-SUN"
    assert response.json()["recorded_by"] == "chief"

    response = api_client_for("isim").post(
        "/api/v1/controls/",
        api_body(subject="project", unit="", partner="Joint Records Project", kind="siro_appointed"),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["partner"] == "Joint Records Project"


@pytest.mark.parametrize(
    ("username", "overrides", "status"),
    [
        ("manager", {}, 403),
        ("reporter", {}, 403),
        ("scs", {}, 403),
        ("chief", {"unit": "NE-DUR-DUR"}, 404),  # outside the Chief Officer's scope
        ("isim", {"unit": "NE-DUR-DAR"}, 404),
        ("chief", {"unit": "NE"}, 404),  # the region is above the Chief Officer's area
        ("chief", {"subject": "processor", "unit": "", "partner": "Acme Shredding Ltd"}, 403),
    ],
)
def test_the_api_refuses_who_may_not_record(org, api_client_for, username, overrides, status):
    checks = ControlCheck.objects.count()
    response = api_client_for(username).post("/api/v1/controls/", api_body(**overrides), format="json")
    assert response.status_code == status, response.json()
    assert ControlCheck.objects.count() == checks


def test_a_unit_seen_through_one_role_but_not_recordable_through_another_is_refused(org, api_client_for):
    # given the ISIM of Tyne and Wear who also sits on the region's senior team
    RoleAssignment.objects.create(user=org["isim"], role=Role.SCS, unit=unit("NE"))
    isim = api_client_for("isim")
    assert isim.get("/api/v1/controls/gaps/", {"unit": "NE-DUR-DUR"}).status_code == 200  # may read it
    response = isim.post("/api/v1/controls/", api_body(unit="NE-DUR-DUR"), format="json")
    assert response.status_code == 403
    assert "only for their units" in response.json()["detail"]
    assert not ControlCheck.objects.filter(unit__code="NE-DUR-DUR").exists()
    html = login("isim").get("/controls/").content.decode()
    assert 'id="unit-NE-DUR-DUR"' in html
    assert 'href="/controls/new/?unit=NE-DUR-DUR"' not in html
    assert 'href="/controls/new/?unit=NE-TYNE-NCL"' in html


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"evidence": ""}, "evidence", "Enter the evidence that the control is in place"),
        ({"checked_on": "2999-01-01"}, "checked_on", "today or in the past"),
        ({"valid_until": "2000-01-01"}, "valid_until", "same as or after the date of the check"),
        ({"subject": "processor", "unit": ""}, "partner", "Enter the name of the project or processor"),
        ({"partner": "Acme"}, "partner", "A check for a unit names no project or processor"),
        ({"unit": ""}, "unit", "Choose the unit the check is for"),
        ({"kind": "sharing_agreement"}, "kind", "A unit does not need this control"),
        ({"kind": "firewall"}, "kind", "is not a valid choice"),
        ({"in_place": None}, "in_place", "may not be null"),
    ],
)
def test_the_api_names_each_bad_field_and_writes_nothing(org, api_client_for, overrides, field, message):
    checks, events = ControlCheck.objects.count(), AuditEvent.objects.count()
    response = api_client_for("isim").post("/api/v1/controls/", api_body(**overrides), format="json")
    assert response.status_code == 400
    assert any(message in m for m in response.json()[field]), response.json()
    assert (ControlCheck.objects.count(), AuditEvent.objects.count()) == (checks, events)


def test_the_api_gives_the_gaps_of_a_unit_or_a_partner(org, api_client_for):
    manager = api_client_for("manager")
    gaps = manager.get("/api/v1/controls/gaps/", {"unit": "NE-TYNE-NCL"}).json()
    assert [(g["kind"], g["is_gap"]) for g in gaps] == [("media_encrypted", True)]
    assert gaps[0]["reason"].startswith("Not in place, checked ")
    assert gaps[0]["check"]["unit"] == "NE-TYNE-NCL"

    sunderland = manager.get("/api/v1/controls/gaps/", {"unit": "NE-TYNE-SUN"})
    assert sunderland.status_code == 404  # the manager's scope is Newcastle only

    isim_sun = api_client_for("isim").get("/api/v1/controls/gaps/", {"unit": "NE-TYNE-SUN"}).json()
    assert [g["reason"] for g in isim_sun] == ["Never recorded", "Never recorded"]

    acme = manager.get("/api/v1/controls/gaps/", {"partner": "ACME Shredding Ltd ", "subject": "processor"}).json()
    assert [g["kind"] for g in acme] == ["media_encrypted", "staff_trained"]
    assert acme[0]["subject_label"] == "Acme Shredding Ltd"

    assert api_client_for("manager2").get("/api/v1/controls/gaps/", {"unit": "NE-TYNE-NCL"}).status_code == 404
    assert api_client_for("reporter").get("/api/v1/controls/gaps/", {"unit": "NE-TYNE-NCL"}).status_code == 403
    assert "unit" in manager.get("/api/v1/controls/gaps/").json()
    assert "subject" in manager.get("/api/v1/controls/gaps/", {"partner": "Acme"}).json()
    assert manager.get("/api/v1/controls/gaps/", {"unit": "NE-TYNE-NCL", "partner": "Acme"}).status_code == 400


def test_the_api_reads_take_a_fixed_number_of_queries(org, api_client_for, django_assert_max_num_queries):
    siro = api_client_for("siro")
    with django_assert_max_num_queries(7) as few:
        assert siro.get("/api/v1/controls/").status_code == 200
        assert siro.get("/api/v1/controls/gaps/", {"unit": "NE-TYNE-NCL"}).status_code == 200
    for n in range(30):
        ControlCheck.objects.create(
            subject="unit", unit=unit("NE-TYNE-NCL"), kind="media_encrypted", in_place=n % 2 == 0,
            checked_on=TODAY - timedelta(days=n), evidence="x", recorded_by=org["siro"], recorded_at=timezone.now(),
        )  # fmt: skip
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert siro.get("/api/v1/controls/").status_code == 200
        assert siro.get("/api/v1/controls/gaps/", {"unit": "NE-TYNE-NCL"}).status_code == 200


def test_the_schema_documents_the_controls_endpoints():
    from django.urls import include, path
    from drf_spectacular.generators import SchemaGenerator

    from breachdesk.api import api_urls

    # The controls endpoints alone, so the test does not hang on every other app's schema.
    schema = SchemaGenerator(patterns=[path("api/v1/", include((api_urls(), "api")))]).get_schema(public=True)
    controls = schema["paths"]["/api/v1/controls/"]
    assert set(controls) == {"get", "post"}
    assert {p["name"] for p in controls["get"]["parameters"]} >= {"unit", "partner", "subject", "kind", "cursor"}
    gaps = schema["paths"]["/api/v1/controls/gaps/"]["get"]
    assert {p["name"] for p in gaps["parameters"]} == {"unit", "partner", "subject"}


# --- the demo -------------------------------------------------------------------------------


def test_the_demo_register_is_seeded_once(org):
    from django.core.management import call_command

    count = ControlCheck.objects.count()
    assert count >= 5
    call_command("seed_demo", verbosity=0)
    assert ControlCheck.objects.count() == count


@pytest.mark.parametrize(
    ("username", "shown"), [("reporter", False), ("press", False), ("manager", True), ("siro", True)]
)
def test_the_service_header_links_to_the_register_for_those_who_may_see_it(org, username, shown):
    html = login(username).get("/tasks/").content.decode()
    assert ('href="/controls/"' in html) is shown
