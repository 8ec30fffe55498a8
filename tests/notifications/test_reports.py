"""Formal reports: each generated from an incident built through the services, its PDF text
checked item by item; issuing freezes the file and its hash verifies; scoping."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from pypdf import PdfReader

from breachdesk.models import AuditEvent
from incidents.services import enquiry_record, enquiry_update, party_notice_record, tracker_form_update
from notifications.choices import AckMethod, ReportKind
from notifications.models import IssuedReport, Notification
from notifications.reports import data
from notifications.reports.render import render_html
from notifications.reports.summary import Period
from notifications.services import notification_acknowledge, timers_sweep
from notifications.services.deadlines import ico_submission_record
from notifications.services.reports import (
    enquiry_report,
    incident_report,
    parse_period,
    report_issue,
    report_verify,
    summary_report,
)
from riskassess.models import RiskGroup
from tests.conftest import requires_postgres
from tests.factories import IncidentFactory
from tests.incidents.test_plan import COMPLETE_TRACKER, make_ready_to_close

pytestmark = pytest.mark.django_db

# 08:15 UTC in July is 09:15 in London (BST): the reports must say 09:15.
SUMMER_MORNING = datetime(2026, 7, 14, 8, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def reports_root(settings, tmp_path):
    settings.REPORTS_ROOT = tmp_path / "reports"
    return settings.REPORTS_ROOT


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "") for page in reader.pages).split())


@pytest.fixture
def handled(org, mailbox):
    """A realistic incident: reported, contained, assessed, decided, the ICO told, the people
    affected told, the police told, a tracker form, lessons and an improvement action."""
    incident = IncidentFactory(
        reporter=org["reporter"],
        occurred_at=SUMMER_MORNING,
        location="Train from York to Leeds",
        data_categories=["criminal_offence"],
    )
    timers_sweep()  # the line manager is emailed, and confirms receipt
    manager_note = Notification.objects.get(incident=incident, recipient=org["manager"])
    notification_acknowledge(notification_id=manager_note.pk, by=org["manager"], method=AckMethod.LINK)
    incident = make_ready_to_close(org, incident)
    party_notice_record(
        incident=incident,
        actor=org["isim"],
        party="police",
        method="phone",
        recipient="West Yorkshire Police",
        told_at=timezone.now(),
        summary="Told them of the loss in case the stick is handed in.",
    )
    return incident


def test_ico_notification_carries_every_item_of_the_icos_form(org, handled):
    report = incident_report("ico-notification", handled)
    pdf = report.pdf()
    text = pdf_text(pdf.content)
    for expected in [
        handled.reference,
        "OFFICIAL-SENSITIVE",
        f"Page 1 of {pdf.pages}",
        "Follow-up report",  # the initial report is already recorded
        handled.title,
        "A case file was left in a café.",
        "Was this a cyber incident? No",
        "Reported by Rita Porter",
        "14 July 2026, 09:15",  # when it happened, in Europe/London
        timezone.localtime(handled.discovered_at).strftime("%-d %B %Y, %H:%M"),
        "Criminal convictions or offences",
        "Basic identifiers (name, address, contact details)",
        "Offenders",
        "84,000 (between 84,000 and 137,000 people",
        "Vigilante attack",
        "very high",
        "Search lost property: Searched; not found.",
        "Encrypt every memory stick in the office",
        "Direct letter",
        "West Yorkshire Police",
        "Police: not involved. No theft.",
        "Staff trained in data protection",
        "Dee Patel",  # the DPO
        org["dpo"].email,
        org["reporter"].email,
    ]:
        assert expected in text, expected
    assert "Reasons for the delay" not in text  # the ICO was told within 72 hours


def test_the_reasons_for_delay_appear_only_when_the_ico_was_told_late(org):
    incident = IncidentFactory(reporter=org["reporter"], discovered_at=timezone.now() - timedelta(days=4))
    before = pdf_text(incident_report("ico-notification", incident).pdf().content)
    assert "Initial report" in before
    assert "Reasons for the delay" in before  # 72 hours have passed and nobody has told the ICO
    assert "The reason for the delay has not been recorded" in before

    ico_submission_record(
        incident=incident,
        actor=org["dpo"],
        kind="initial",
        submitted_at=timezone.now(),
        summary="Initial report.",
        case_reference="IC-123456-A1B2",
        late_reason="The stick's contents were only confirmed on day four.",
    )
    after = pdf_text(incident_report("ico-notification", incident).pdf().content)
    assert "IC-123456-A1B2" in after
    assert "Reasons for the delay" in after
    assert "The stick's contents were only confirmed on day four." in after


def test_tracker_form_shows_the_current_version_and_its_history(org, handled):
    tracker_form_update(
        incident=handled,
        actor=org["isim"],
        fields={**COMPLETE_TRACKER, "next_steps": "Audit every team's memory sticks."},
        change_note="Next steps agreed with the SIRO",
    )
    text = pdf_text(incident_report("tracker-form", handled).pdf().content)
    assert "Security Incident Tracker Form" in text
    assert "Audit every team's memory sticks." in text
    assert "Encrypt all removable media in the office." not in text  # version 1's, replaced
    assert "Next steps agreed with the SIRO" in text
    assert "Version When By What changed 2" in text  # the history table, newest first
    assert "Complete? Yes" in text


def test_ombudsman_pack_tests_the_handling_against_each_principle(org, handled):
    enquiry = enquiry_record(
        incident=handled,
        actor=org["isim"],
        kind="complaint",
        person_name="Pat Smith",
        received_at=timezone.now(),
    )
    enquiry_update(enquiry=enquiry, actor=org["isim"], changes={"apology_at": timezone.now()})
    context = data.ombudsman_pack(handled)
    text = pdf_text(incident_report("ombudsman-pack", handled).pdf().content)
    for principle in [
        "Getting it right",
        "Being customer focused",
        "Being open and accountable",
        "Acting fairly and proportionately",
        "Putting things right",
        "Seeking continuous improvement",
    ]:
        assert principle in text
    # the chronology: reporting, every notification's send and receipt, decisions, the ICO
    assert "Reported" in text
    [sent] = [e for e in context["chronology"] if e.what.startswith("Escalation sent")]
    # the line manager by the link; the others (told once the manager confirmed) in the app
    [receipt] = [e for e in context["chronology"] if e.what == "Receipt confirmed (Signed email link)"]
    assert "Receipt confirmed (In BreachDesk)" in {e.what for e in context["chronology"]}
    assert "Mo Anand" in sent.who
    assert receipt.on_time is True
    assert "Receipt confirmed (Signed email link)" in text
    # each entry reads as one line: when, what, the deadline it answered, who
    sent_line = f"{timezone.localtime(sent.at):%-d %b %Y, %H:%M} Escalation sent (Email) \N{EN DASH} {sent.who}"
    receipt_line = (
        f"{timezone.localtime(receipt.at):%-d %b %Y, %H:%M} Receipt confirmed (Signed email link) "
        f"(due {timezone.localtime(receipt.due_at):%-d %b, %H:%M}: on time) \N{EN DASH} {receipt.who}"
    )
    assert sent_line in text
    assert receipt_line in text
    assert "Decision: Tell the people affected: yes" in text
    assert "ICO: initial report" in text
    assert "Apology to Pat Smith" in text
    assert "Lesson: Removable media must be encrypted." in text
    assert "Sex offenders matchable by name, address and offence" in text  # risk by group
    assert "Telling the people affected: yes, because High risk." in text  # the communication strategy
    times = [e.at for e in context["chronology"]]
    assert times == sorted(times)


def test_letter_to_a_group_speaks_plainly_about_their_risk(org, handled):
    group = RiskGroup.objects.get(assessment__incident=handled, name__startswith="Sex offenders")
    text = pdf_text(incident_report("subject-letter", handled, group=group).pdf().content)
    assert "Vigilante attack. We think the chance of this happening is medium." in text
    assert "Police risk assessment of each person" in text  # what we did, for this group
    assert "Criminal convictions or offences" in text
    assert "tell your probation officer or the police" not in text  # no location data was lost
    assert "Dee Patel" in text
    assert "ico.org.uk" in text


def test_enquiry_answer_lists_the_fields_held_about_that_person(org, handled):
    enquiry = enquiry_record(
        incident=handled,
        actor=org["isim"],
        kind="enquiry",
        person_name="Jo Bloggs",
        contact="1 High Street\nYork\nYO1 1AA",
        received_at=timezone.now(),
    )
    enquiry = enquiry_update(
        enquiry=enquiry,
        actor=org["isim"],
        changes={
            "identity_verified": True,
            "identity_method": "Date of birth and PNC number checked",
            "data_held": True,
            "fields_held": "Name, date of birth\nRelease date",
            "answered_at": timezone.now(),
        },
    )
    text = pdf_text(enquiry_report(enquiry).pdf().content)
    assert "Dear Jo Bloggs" in text
    assert "1 High Street York YO1 1AA" in text
    assert "They held information about you." in text
    held = text.split("What information about you was involved", 1)[1].split("What this could mean", 1)[0]
    assert held.replace("•", "").split() == ["Name", "Date", "of", "birth", "Release", "date"]


def test_issuing_freezes_the_file_and_its_hash_is_in_the_audit_trail(org, handled, reports_root):
    report = incident_report("ico-notification", handled)
    first = report_issue(request=report, actor=org["dpo"], issued_to="The ICO")
    second = report_issue(request=incident_report("ico-notification", handled), actor=org["dpo"], issued_to="The ICO")
    assert (first.version, second.version) == (1, 2)
    stored = Path(reports_root) / first.file.name
    content = stored.read_bytes()
    assert hashlib.sha256(content).hexdigest() == first.sha256
    event = AuditEvent.objects.get(action="report.issued", object_id=str(first.pk))
    assert event.after["sha256"] == first.sha256
    assert report_verify(first).ok
    text = pdf_text(content)
    assert "Issued as version 1 by Dee Patel to The ICO" in text
    assert oct(stored.stat().st_mode & 0o777) == "0o640"
    # anyone changing the stored file is caught
    stored.write_bytes(content.replace(b"OFFICIAL-SENSITIVE", b"OFFICIAL-SENSITIVX", 1) + b"\n")
    assert not report_verify(first).ok
    assert "changed since it was issued" in report_verify(first).message


def test_issuing_refuses_bad_input_and_the_wrong_people_and_leaves_nothing(org, handled, reports_root):
    report = incident_report("tracker-form", handled)
    with pytest.raises(ValidationError, match="Enter who the report is issued to"):
        report_issue(request=report, actor=org["dpo"], issued_to="   ")
    with pytest.raises(PermissionDenied):
        report_issue(request=report, actor=org["reporter"], issued_to="The ICO")
    assert not IssuedReport.objects.exists()
    assert not any(Path(reports_root).rglob("*.pdf"))


def test_pdfs_are_tagged_and_embed_their_fonts(handled):
    reader = PdfReader(io.BytesIO(incident_report("tracker-form", handled).pdf().content))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root  # tagged for screen readers
    assert root["/Lang"] == "en-GB"
    fonts = reader.pages[0]["/Resources"]["/Font"]
    for ref in fonts.values():
        descriptor = ref.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor  # embedded
    assert reader.metadata.title.startswith("Security Incident Tracker Form")


def test_siro_summary_counts_clocks_recurrence_and_actions(org, handled):
    repeat = IncidentFactory(reporter=org["reporter"])  # same unit and kind: a recurrence
    today = timezone.localdate()
    report = summary_report(org["siro"], period=Period(today - timedelta(days=7), today), unit=None)
    ctx = report.context
    assert ctx["total"] == 2
    assert dict(ctx["status_rows"])["Under investigation"] == 1
    assert dict(ctx["severity_rows"])["Very high"] == 1
    assert [r[0].reference for r in ctx["recurrences"]] == [repeat.reference]
    ico = ctx["ico"]
    assert (ico.met, ico.missed) == (1, 0)
    html = render_html(ReportKind.SIRO_SUMMARY, ctx)
    assert html.count("<svg") == 4
    assert 'role="img"' in html
    assert "<desc>" in html
    text = pdf_text(report.pdf().content)
    assert "Incidents by status" in text
    assert "Encrypt every memory stick in the office" in text  # open improvement action
    assert repeat.reference in text
    with pytest.raises(PermissionDenied):
        summary_report(org["reporter"], period=Period(today, today), unit=None)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-13-01", "2026-12-31", "Enter the start date as a real date"),
        ("2026-06-01", "2026-05-01", "The end date must be the same as or after the start date"),
        ("2020-01-01", "2026-01-01", "at most three years"),
    ],
)
def test_summary_period_is_checked(start, end, message):
    with pytest.raises(ValidationError, match=message):
        parse_period(start, end)


@requires_postgres
def test_an_issued_report_cannot_be_changed_or_deleted_in_the_database(org, handled):
    issued = report_issue(request=incident_report("tracker-form", handled), actor=org["isim"], issued_to="The SIRO")
    for statement in (
        "UPDATE notifications_issuedreport SET sha256 = 'x' WHERE id = %s",
        "DELETE FROM notifications_issuedreport WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="issued reports are frozen"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [issued.pk])
    issued.refresh_from_db()
    assert report_verify(issued).ok
