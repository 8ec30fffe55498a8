"""Every write to an incident: each use case is one transaction that changes the rows,
writes the timeline entry and the audit event, and starts the clocks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from breachdesk.audit import audit_batch, audit_record
from breachdesk.models import OrgUnit
from notifications.services import deadlines_start_for_incident, escalation_start
from notifications.services.deadlines import deadlines_follow_discovery

from ..choices import Encryption, Status, TimelineKind
from ..models import Incident, ReferenceSequence, TimelineEntry
from ..validation import incident_errors

# Fields a reporter or manager may change after filing ("report now, details later").
EDITABLE_FIELDS = (
    "title",
    "description",
    "category",
    "discovered_at",
    "occurred_at",
    "suspected",
    "org_unit",
    "location",
    "circumstances",
    "data_categories",
    "subject_categories",
    "approx_subjects",
    "approx_records",
    "encryption",
    "third_party",
)
NOTE_MAX = 10_000


def _snapshot(incident: Incident, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in fields:
        if field == "org_unit":
            out[field] = incident.org_unit.code
        else:
            out[field] = getattr(incident, field)
    return out


def _next_reference(*, at: datetime) -> str:
    """BD-<year>-<six digits>, from the year's counter row in one statement that creates,
    increments and locks it: two concurrent reports never get the same number, and a
    rolled-back report rolls its increment back with it, so numbers are never skipped or
    reused. Taken at the very end of the report's transaction, to hold the lock briefly."""
    year = timezone.localtime(at).year
    table = connection.ops.quote_name(ReferenceSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("year", "last") VALUES (%s, 1) '  # noqa: S608 - the table name is ours
            f'ON CONFLICT ("year") DO UPDATE SET "last" = {table}."last" + 1 RETURNING "last"',
            [year],
        )
        (number,) = cursor.fetchone()
    return f"BD-{year}-{number:06d}"


def incident_report(
    *,
    reporter: User,
    title: str,
    description: str,
    category: str,
    discovered_at: datetime,
    org_unit: OrgUnit,
    occurred_at: datetime | None = None,
    suspected: bool = True,
    location: str = "",
    circumstances: str = "",
    data_categories: list[str] | None = None,
    subject_categories: list[str] | None = None,
    approx_subjects: int | None = None,
    approx_records: int | None = None,
    encryption: str = Encryption.UNKNOWN,
    third_party: str = "",
) -> Incident:
    """File an incident (PC02-10: report first, investigate later) and start its clocks."""
    now = timezone.now()
    data = {
        "title": title,
        "description": description,
        "category": category,
        "discovered_at": discovered_at,
        "org_unit": org_unit,
        "occurred_at": occurred_at,
        "location": location,
        "circumstances": circumstances,
        "data_categories": data_categories or [],
        "subject_categories": subject_categories or [],
        "approx_subjects": approx_subjects,
        "approx_records": approx_records,
        "encryption": encryption,
        "third_party": third_party,
    }
    errors = incident_errors(data, now=now)
    if errors:
        raise ValidationError(errors)
    # Everything is written first under a provisional reference; the real one and the audit
    # events (which name it) come last, so the two locks that every report queues for (the
    # year's counter and the audit chain's head) are held for a few statements, not the
    # whole report.
    provisional = f"~{uuid.uuid4().hex[:24]}"  # the column holds 32
    with transaction.atomic(), audit_batch() as audit:
        incident = Incident.objects.create(
            reference=provisional,
            title=title.strip(),
            description=description.strip(),
            category=category,
            discovered_at=discovered_at,
            occurred_at=occurred_at,
            suspected=suspected,
            org_unit=org_unit,
            location=location.strip(),
            circumstances=circumstances.strip(),
            data_categories=sorted(set(data_categories or [])),
            subject_categories=sorted(set(subject_categories or [])),
            approx_subjects=approx_subjects,
            approx_records=approx_records,
            encryption=encryption,
            third_party=third_party.strip(),
            status=Status.REPORTED,
            reporter=reporter,
            reported_at=now,
            updated_at=now,
        )
        TimelineEntry.objects.create(
            incident=incident,
            kind=TimelineKind.REPORTED,
            actor=reporter,
            created_at=now,
            body="Incident reported." if not suspected else "Suspected loss reported.",
        )
        audit_record(
            actor=reporter,
            action="incident.reported",
            object_type="incident",
            object_id=incident.pk,
            incident_ref=incident.reference,
            after={"reference": incident.reference, "status": incident.status, **_snapshot(incident, EDITABLE_FIELDS)},
        )
        deadlines_start_for_incident(incident=incident, actor=reporter)
        escalation_start(incident=incident, actor=reporter)
        incident.reference = _next_reference(at=now)
        Incident.objects.filter(pk=incident.pk).update(reference=incident.reference)
        audit.rename_incident(provisional, incident.reference)
    return incident


def incident_update(*, incident: Incident, actor: User, changes: dict[str, Any]) -> Incident:
    """Change details after filing. Records who changed what from what, or nothing at all
    when a rule is broken."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({f: ["This field cannot be changed here"] for f in sorted(unknown)})
    if incident.status == Status.CLOSED:
        raise ValidationError({"__all__": ["A closed incident cannot be changed; re-open it first"]})
    with transaction.atomic():
        locked = (
            Incident.objects.select_for_update(of=("self",), no_key=True).select_related("org_unit").get(pk=incident.pk)
        )
        merged = {f: getattr(locked, f) for f in ("discovered_at", "occurred_at")}
        merged.update(changes)
        errors = incident_errors(merged, now=timezone.now(), partial=True)
        if errors:
            raise ValidationError(errors)
        for list_field in ("data_categories", "subject_categories"):
            if list_field in changes:
                changes[list_field] = sorted(set(changes[list_field] or []))
        for text_field in ("title", "description", "location", "circumstances", "third_party"):
            if isinstance(changes.get(text_field), str):
                changes[text_field] = changes[text_field].strip()
        changed = [f for f, v in changes.items() if _snapshot_value(locked, f) != _comparable(v)]
        if not changed:
            return locked
        before = _snapshot(locked, changed)
        for field in changed:
            setattr(locked, field, changes[field])
        locked.updated_at = timezone.now()
        locked.save(update_fields=[*changed, "updated_at"])
        after = _snapshot(locked, changed)
        if "discovered_at" in changed:
            deadlines_follow_discovery(
                incident=locked, old=before["discovered_at"], new=locked.discovered_at, actor=actor
            )
        TimelineEntry.objects.create(
            incident=locked,
            kind=TimelineKind.UPDATED,
            actor=actor,
            created_at=locked.updated_at,
            body="Changed: " + ", ".join(str(getattr(Incident._meta.get_field(f), "verbose_name", f)) for f in changed),
            data={"fields": changed},
        )
        audit_record(
            actor=actor,
            action="incident.updated",
            object_type="incident",
            object_id=locked.pk,
            incident_ref=locked.reference,
            before=before,
            after=after,
        )
    return locked


def _snapshot_value(incident: Incident, field: str) -> Any:
    return incident.org_unit_id if field == "org_unit" else getattr(incident, field)


def _comparable(value: Any) -> Any:
    return value.pk if isinstance(value, OrgUnit) else value


def incident_add_note(*, incident: Incident, author: User, body: str) -> TimelineEntry:
    """PC02-12: keep notes, especially when things move fast."""
    text = (body or "").strip()
    if not text:
        raise ValidationError({"body": ["Enter the note"]})
    if len(text) > NOTE_MAX:
        raise ValidationError({"body": [f"The note must be {NOTE_MAX:,} characters or fewer"]})
    with transaction.atomic():
        entry = TimelineEntry.objects.create(
            incident=incident, kind=TimelineKind.NOTE, actor=author, created_at=timezone.now(), body=text
        )
        audit_record(
            actor=author,
            action="incident.note_added",
            object_type="timeline_entry",
            object_id=entry.pk,
            incident_ref=incident.reference,
            after={"body": text},
        )
    return entry
