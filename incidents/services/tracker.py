"""The Security Incident Tracker Form (PC02-14) and the enquiries, complaints and claims of
the people affected (Ombudsman para 16; Principle "Putting things right")."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from breachdesk.audit import audit_record
from notifications.services.deadlines import investigation_start

from ..choices import EnquiryKind, EnquiryOutcome, Status
from ..models import TRACKER_FIELDS, Enquiry, Incident, TrackerFormVersion
from .plan import TEXT_MAX, _text, _timeline, require_open, require_plan_role

TRACKER_TEXT_MAX = 10_000


def tracker_form_update(
    *, incident: Incident, actor: User, fields: dict[str, str], change_note: str = ""
) -> TrackerFormVersion:
    """Start the tracker form (which starts the investigation, PC02-14) or save an update as
    a new version (Day 2+). Earlier versions are never changed."""
    require_plan_role(actor)
    require_open(incident, what="update the tracker form")
    unknown = set(fields) - set(TRACKER_FIELDS)
    if unknown:
        raise ValidationError({f: ["This is not a tracker form field"] for f in sorted(unknown)})
    cleaned = {f: (fields.get(f) or "").strip() for f in TRACKER_FIELDS}
    errors = {
        f: [f"Must be {TRACKER_TEXT_MAX:,} characters or fewer"]
        for f, v in cleaned.items()
        if len(v) > TRACKER_TEXT_MAX
    }
    if len(cleaned["investigating_officer"]) > 200:
        errors["investigating_officer"] = ["Must be 200 characters or fewer"]
    if not any(cleaned.values()):
        errors["__all__"] = ["Fill in at least one part of the form"]
    note = (change_note or "").strip()
    if len(note) > 500:
        errors["change_note"] = ["Must be 500 characters or fewer"]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # The incident's row lock orders concurrent updates, so versions never collide.
        locked = Incident.objects.select_for_update(of=("self",), no_key=True).get(pk=incident.pk)
        previous = TrackerFormVersion.objects.filter(incident=locked).order_by("-version").first()
        if previous is not None and all(getattr(previous, f) == v for f, v in cleaned.items()):
            raise ValidationError({"__all__": [f"Nothing has changed since version {previous.version}"]})
        version = (TrackerFormVersion.objects.filter(incident=locked).aggregate(m=Max("version"))["m"] or 0) + 1
        row = TrackerFormVersion.objects.create(
            incident=locked, version=version, change_note=note, created_by=actor, created_at=timezone.now(), **cleaned
        )
        changed = [f for f in TRACKER_FIELDS if previous is None or getattr(previous, f) != cleaned[f]]
        _timeline(
            locked,
            actor,
            "Tracker form started." if version == 1 else f"Tracker form updated (version {version}). {note}".strip(),
            tracker_version=version,
        )
        audit_record(
            actor=actor,
            action="tracker_form.saved",
            object_type="tracker_form",
            object_id=row.pk,
            incident_ref=locked.reference,
            before={f: getattr(previous, f) for f in changed} if previous is not None else None,
            after={"version": version, **{f: cleaned[f] for f in changed}},
        )
        if locked.status == Status.REPORTED:
            investigation_start(incident=locked, actor=actor)
    return row


EARLIEST_YEAR = 2000  # no record here is older; an earlier date is a typing slip

ENQUIRY_UPDATABLE = (
    "identity_verified",
    "identity_method",
    "data_held",
    "fields_held",
    "answered_at",
    "outcome",
    "compensation_paid",
    "apology_at",
    "notes",
    "contact",
)


def _enquiry_errors(data: dict[str, Any], *, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    kind = data.get("kind")
    if kind not in EnquiryKind.values:
        errors["kind"] = ["Choose an enquiry, a complaint or a compensation claim"]
    received = data.get("received_at")
    if received is None:
        errors["received_at"] = ["Enter when it was received"]
    elif received > now:
        errors["received_at"] = ["When it was received must not be in the future"]
    elif received.year < EARLIEST_YEAR:
        errors["received_at"] = [f"Enter a date from {EARLIEST_YEAR} onwards"]
    for field in ("answered_at", "apology_at"):
        at = data.get(field)
        if at is None:
            continue
        if at > now:
            errors[field] = ["This must not be in the future"]
        elif received is not None and at < received:
            errors[field] = ["This must not be before it was received"]
    if data.get("outcome", EnquiryOutcome.PENDING) not in EnquiryOutcome.values:
        errors["outcome"] = ["Choose an outcome from the list"]
    if kind == EnquiryKind.ENQUIRY and data.get("answered_at") and not data.get("identity_verified"):
        errors["answered_at"] = ["Verify the person's identity before answering whether their data was in it"]
    if data.get("data_held") and not (data.get("fields_held") or "").strip():
        errors["fields_held"] = ["List the fields held about this person"]
    if kind == EnquiryKind.ENQUIRY and data.get("answered_at") and data.get("data_held") is None:
        errors["data_held"] = ["Say whether their data was held before recording the answer"]
    paid = data.get("compensation_paid")
    if paid is not None:
        if kind != EnquiryKind.COMPENSATION_CLAIM:
            errors["compensation_paid"] = ["Compensation is recorded on a compensation claim"]
        elif Decimal(paid) < 0:
            errors["compensation_paid"] = ["Compensation must be 0 or more"]
    for field, limit in (("person_name", 200), ("contact", 300), ("identity_method", 300)):
        if len((data.get(field) or "").strip()) > limit:
            errors[field] = [f"Must be {limit} characters or fewer"]
    for field in ("fields_held", "notes"):
        if len((data.get(field) or "").strip()) > TEXT_MAX:
            errors[field] = [f"Must be {TEXT_MAX:,} characters or fewer"]
    return errors


def enquiry_record(
    *,
    incident: Incident,
    actor: User,
    kind: str,
    person_name: str,
    received_at: datetime,
    contact: str = "",
    identity_verified: bool = False,
    identity_method: str = "",
    notes: str = "",
) -> Enquiry:
    """Log a person's enquiry, complaint or compensation claim. Allowed on a closed incident:
    people keep asking after the file is closed."""
    require_plan_role(actor)
    name = _text(person_name, field="person_name", label="the person's name", limit=200)
    data = {
        "kind": kind,
        "person_name": name,
        "received_at": received_at,
        "contact": contact,
        "identity_verified": identity_verified,
        "identity_method": identity_method,
        "notes": notes,
    }
    errors = _enquiry_errors(data, now=timezone.now())
    if identity_verified and not identity_method.strip():
        errors["identity_method"] = ["Say how the identity was verified"]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        enquiry = Enquiry.objects.create(
            incident=incident,
            kind=kind,
            person_name=name,
            contact=contact.strip(),
            received_at=received_at,
            identity_verified=identity_verified,
            identity_method=identity_method.strip(),
            notes=notes.strip(),
            recorded_by=actor,
            recorded_at=now,
            updated_at=now,
        )
        _timeline(incident, actor, f"{EnquiryKind(kind).label} received.", enquiry=enquiry.pk)
        # The person's name and contact stay out of the timeline and the audit trail's text.
        audit_record(
            actor=actor,
            action="enquiry.recorded",
            object_type="enquiry",
            object_id=enquiry.pk,
            incident_ref=incident.reference,
            after={"kind": kind, "received_at": received_at, "identity_verified": identity_verified},
        )
    return enquiry


def enquiry_update(*, enquiry: Enquiry, actor: User, changes: dict[str, Any]) -> Enquiry:
    """Verify identity, answer, decide a complaint, pay compensation, apologise."""
    require_plan_role(actor)
    unknown = set(changes) - set(ENQUIRY_UPDATABLE)
    if unknown:
        raise ValidationError({f: ["This field cannot be changed here"] for f in sorted(unknown)})
    with transaction.atomic():
        locked = (
            Enquiry.objects.select_for_update(of=("self",), no_key=True).select_related("incident").get(pk=enquiry.pk)
        )
        merged = {f: getattr(locked, f) for f in (*ENQUIRY_UPDATABLE, "kind", "received_at", "person_name")}
        for field, value in changes.items():
            merged[field] = value.strip() if isinstance(value, str) else value
        errors = _enquiry_errors(merged, now=timezone.now())
        if merged["identity_verified"] and not (merged["identity_method"] or "").strip():
            errors["identity_method"] = ["Say how the identity was verified"]
        if errors:
            raise ValidationError(errors)
        changed = [f for f in ENQUIRY_UPDATABLE if merged[f] != getattr(locked, f)]
        if not changed:
            return locked
        before = {f: getattr(locked, f) for f in changed}
        for field in changed:
            setattr(locked, field, merged[field])
        locked.updated_at = timezone.now()
        locked.save(update_fields=[*changed, "updated_at"])
        summary = []
        if "answered_at" in changed and locked.answered_at:
            summary.append("answered")
        if "outcome" in changed:
            summary.append(f"outcome {locked.get_outcome_display().lower()}")
        if "apology_at" in changed and locked.apology_at:
            summary.append("apology given")
        if "compensation_paid" in changed and locked.compensation_paid is not None:
            summary.append(f"compensation £{locked.compensation_paid}")
        _timeline(
            locked.incident,
            actor,
            f"{locked.get_kind_display()} updated" + (f": {', '.join(summary)}." if summary else "."),
            enquiry=locked.pk,
        )
        audit_record(
            actor=actor,
            action="enquiry.updated",
            object_type="enquiry",
            object_id=locked.pk,
            incident_ref=locked.incident.reference,
            before=before,
            after={f: getattr(locked, f) for f in changed},
        )
    return locked
