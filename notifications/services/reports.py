"""Issuing a report: render it once more with who issues it and to whom, freeze the PDF on
disk, record its SHA-256 in the row and in the audit trail, all or nothing. Drafts are
rendered on request and never stored. Letters to a whole group are one job for a worker."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from breachdesk.audit import audit_record
from breachdesk.choices import SUMMARY_ROLES
from breachdesk.models import OrgUnit
from breachdesk.selectors import user_has_role
from incidents.choices import TimelineKind
from incidents.models import Enquiry, Incident, TimelineEntry
from incidents.services.plan import PLAN_ROLES
from riskassess.models import RiskGroup

from ..choices import ReportKind
from ..models import IssuedReport, report_path, reports_storage
from ..reports import data
from ..reports.render import Pdf, render_html, render_pdf
from ..reports.summary import Period, siro_summary

logger = logging.getLogger(__name__)

ISSUED_TO_MAX = 300
NOTE_MAX = 2000
PERIOD_MAX_DAYS = 366 * 3


@dataclass(frozen=True)
class ReportRequest:
    """One report, fully specified: its kind, what it is about, and the context to draw."""

    kind: ReportKind
    incident: Incident | None
    subject: str
    title: str
    context: dict[str, Any]

    def html(self, *, preview: bool = False, request: Any = None, **extra: Any) -> str:
        return render_html(self.kind, {**self.context, **extra}, preview=preview, request=request)

    def pdf(self, **extra: Any) -> Pdf:
        return render_pdf(self.kind, {**self.context, **extra})

    @property
    def filename(self) -> str:
        stem = self.incident.reference if self.incident is not None else "summary"
        suffix = f"-{self.subject.replace(':', '-').replace('..', '-to-')}" if self.subject else ""
        return f"{stem}-{self.kind}{suffix}.pdf"


def incident_report(kind: str, incident: Incident, *, group: RiskGroup | None = None) -> ReportRequest:
    """The report of ``kind`` for an incident the caller has already scoped."""
    try:
        report_kind = ReportKind(kind)
    except ValueError:
        raise ValidationError({"kind": [f"There is no report called “{kind}”"]}) from None
    builders = {
        ReportKind.ICO_NOTIFICATION: data.ico_notification,
        ReportKind.TRACKER_FORM: data.tracker_form,
        ReportKind.OMBUDSMAN_PACK: data.ombudsman_pack,
    }
    if report_kind in builders:
        return ReportRequest(report_kind, incident, "", report_kind.label, builders[report_kind](incident))
    if report_kind == ReportKind.SUBJECT_LETTER:
        subject = f"group:{group.pk}" if group is not None else ""
        title = f"{report_kind.label}: {group.name}" if group is not None else report_kind.label
        return ReportRequest(report_kind, incident, subject, title, data.subject_letter(incident, group=group))
    raise ValidationError({"kind": [f"“{report_kind.label}” is not an incident report"]})


def enquiry_report(enquiry: Enquiry) -> ReportRequest:
    return ReportRequest(
        ReportKind.ENQUIRY_LETTER,
        enquiry.incident,
        f"enquiry:{enquiry.pk}",
        f"{ReportKind.ENQUIRY_LETTER.label}: {enquiry.person_name}",
        data.enquiry_letter(enquiry),
    )


def parse_period(start: str | None, end: str | None) -> Period:
    """A period from two ISO dates, with messages that say what to fix."""
    errors: dict[str, list[str]] = {}
    parsed: dict[str, date] = {}
    for name, value, label in (("start", start, "start"), ("end", end, "end")):
        try:
            parsed[name] = date.fromisoformat((value or "").strip())
        except ValueError:
            errors[name] = [f"Enter the {label} date as a real date, for example 2026-04-01"]
    if not errors and parsed["end"] < parsed["start"]:
        errors["end"] = ["The end date must be the same as or after the start date"]
    if not errors and (parsed["end"] - parsed["start"]).days > PERIOD_MAX_DAYS:
        errors["end"] = ["The period can be at most three years"]
    if not errors and parsed["start"] > timezone.localdate():
        errors["start"] = ["The start date must be today or in the past"]
    if errors:
        raise ValidationError(errors)
    return Period(parsed["start"], parsed["end"])


def require_summary_role(user: User | AnonymousUser) -> None:
    if not user_has_role(user, SUMMARY_ROLES):
        raise PermissionDenied("Only the SIRO, DPO, Chief Officer, deputy, SCS and ISIM can see the SIRO summary.")


def summary_report(user: User | AnonymousUser, *, period: Period, unit: OrgUnit | None) -> ReportRequest:
    require_summary_role(user)
    context = siro_summary(user, period=period, unit=unit, window_days=settings.RECURRENCE_WINDOW_DAYS)
    subject = f"{period.key}:{unit.code if unit is not None else 'all'}"
    return ReportRequest(ReportKind.SIRO_SUMMARY, None, subject, f"SIRO summary {context['reference']}", context)


def _clean(value: str | None, *, field: str, limit: int, required: str | None) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise ValidationError({field: [required]})
    if len(cleaned) > limit:
        raise ValidationError({field: [f"Use {limit} characters or fewer"]})
    return cleaned


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def report_issue(*, request: ReportRequest, actor: User, issued_to: str, note: str = "") -> IssuedReport:
    """Freeze the report as the next version. Incident reports are issued by those who run
    the plan; the SIRO summary by those who may see it. The file on disk, the row and the
    audit event (with the hash) exist together or not at all."""
    if request.incident is not None and not user_has_role(actor, PLAN_ROLES):
        raise PermissionDenied("Only managers, the ISR, ISIM, Chief Officer, SCS, DPO and SIRO can issue reports.")
    if request.incident is None:
        require_summary_role(actor)
    to = _clean(issued_to, field="issued_to", limit=ISSUED_TO_MAX, required="Enter who the report is issued to")
    note = _clean(note, field="note", limit=NOTE_MAX, required=None)
    issued_at = timezone.now()
    filters = {"incident": request.incident, "kind": request.kind, "subject": request.subject}
    for _attempt in range(3):
        version = (IssuedReport.objects.filter(**filters).aggregate(v=Max("version"))["v"] or 0) + 1
        pdf = request.pdf(
            issued={"version": version, "by": actor.get_full_name() or actor.username, "to": to},
            generated_at=issued_at,
        )
        digest = sha256_of(pdf.content)
        storage = reports_storage()
        row = IssuedReport(
            **filters,
            version=version,
            title=request.title,
            sha256=digest,
            size=len(pdf.content),
            pages=pdf.pages,
            issued_to=to,
            note=note,
            issued_by=actor,
            issued_at=issued_at,
        )
        # Storage read from settings now, not at import: REPORTS_ROOT is what it is today.
        row.file.name = storage.save(report_path(row, request.filename), ContentFile(pdf.content))
        try:
            with transaction.atomic(durable=True):
                row.save()
                if request.incident is not None:
                    TimelineEntry.objects.create(
                        incident=request.incident,
                        kind=TimelineKind.PLAN,
                        actor=actor,
                        created_at=issued_at,
                        body=f"{request.title} issued to {to} (version {version}, SHA-256 {digest[:12]}…)",
                        data={"issued_report": row.pk},
                    )
                audit_record(
                    actor=actor,
                    action="report.issued",
                    object_type="issued_report",
                    object_id=row.pk,
                    incident_ref=request.incident.reference if request.incident is not None else "",
                    after={
                        "kind": str(request.kind),
                        "subject": request.subject,
                        "version": version,
                        "sha256": digest,
                        "size": len(pdf.content),
                        "pages": pdf.pages,
                        "issued_to": to,
                    },
                )
        except IntegrityError:
            storage.delete(row.file.name)  # someone else issued this version first: take the next
            continue
        except BaseException:
            try:
                storage.delete(row.file.name)
            except OSError:
                logger.exception("Could not remove report file %s after a failed issue", row.file.name)
            raise
        return row
    raise ValidationError({"__all__": ["Several people issued this report at once: try again"]})


@dataclass(frozen=True)
class Verification:
    ok: bool
    message: str


def report_verify(issued: IssuedReport) -> Verification:
    """Does the stored file still hash to what was recorded, in the row and in the audit
    trail? Any difference means the file was changed after it was issued."""
    from breachdesk.models import AuditEvent

    try:
        with reports_storage().open(issued.file.name, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return Verification(False, "The stored file is missing")
    event = AuditEvent.objects.filter(
        action="report.issued", object_type="issued_report", object_id=str(issued.pk)
    ).first()
    recorded = event.after.get("sha256") if event is not None and event.after else None
    if recorded != issued.sha256:
        return Verification(False, "The audit trail does not hold this report's hash")
    if digest != issued.sha256:
        return Verification(False, "The stored file has changed since it was issued")
    return Verification(True, f"SHA-256 {digest} matches the audit trail")


def report_open(*, issued: IssuedReport, actor: User) -> IO[bytes]:
    """The frozen file, opened for reading, and an audit event saying who took a copy. The
    caller has checked that ``actor`` may see it."""
    handle: IO[bytes] = reports_storage().open(issued.file.name, "rb")
    try:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="report.downloaded",
                object_type="issued_report",
                object_id=issued.pk,
                incident_ref=issued.incident.reference if issued.incident is not None else "",
                after={"version": issued.version, "sha256": issued.sha256},
            )
    except BaseException:
        handle.close()
        raise
    return handle
