"""Letters to a group of the people affected (Art 34(2)), as one job: the request checks the
list of people and queues it; a worker renders the letters in chunks, records its progress
after each, and joins them into one PDF for printing. A batch whose worker died, or whose
message was lost, is picked up again by the sweep and starts over from its saved list."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from breachdesk.audit import audit_record
from breachdesk.selectors import user_has_role
from incidents.choices import TimelineKind
from incidents.models import Incident, TimelineEntry
from incidents.services.plan import PLAN_ROLES
from riskassess.models import RiskGroup

from ..choices import LetterBatchState, ReportKind
from ..models import LetterBatch, batch_path, reports_storage
from ..reports import data
from ..reports.render import html_to_pdf, render_html

logger = logging.getLogger(__name__)

CHUNK = 100  # letters per WeasyPrint document: progress is saved after each
NAME_MAX = 200
ADDRESS_MAX = 500
FIELDS_MAX = 2000
UPLOAD_MAX_BYTES = 50 * 1024 * 1024
STALE_AFTER = timedelta(minutes=2)  # a processing batch with no heartbeat for this long has lost its worker
QUEUED_GRACE = timedelta(seconds=30)  # a queued batch no worker has claimed by then is run by the sweep


@dataclass(frozen=True)
class Row:
    name: str
    address: list[str]
    fields: list[str]


def _address(raw: str, postcode: str) -> list[str]:
    lines = [p.strip() for line in raw.splitlines() for p in line.split(",")]
    lines = [line for line in lines if line]
    if postcode.strip() and postcode.strip().upper() not in (line.upper() for line in lines):
        lines.append(postcode.strip().upper())
    return lines


def parse_recipients(content: bytes, *, limit: int) -> list[Row]:
    """Every row checked before anything is saved: a clear message naming the rows to fix,
    or the whole list."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"recipients": ["The file must be a CSV file saved as UTF-8"]}) from None
    if not text.strip():
        raise ValidationError({"recipients": ["The selected file is empty"]})
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        headers = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
    except csv.Error as error:
        raise ValidationError({"recipients": [f"The file could not be read as CSV: {error}"]}) from None
    missing = [h for h in ("name", "address") if h not in headers]
    if missing:
        raise ValidationError(
            {"recipients": [f"The first row must name the columns; it has no {' or '.join(missing)} column"]}
        )
    rows: list[Row] = []
    problems: list[str] = []

    def cell(record: dict[str, Any], key: str) -> str:
        source = headers.get(key)
        value = record.get(source) if source is not None else None
        return value.strip() if isinstance(value, str) else ""

    try:
        for number, record in enumerate(reader, start=2):
            if len(rows) >= limit:
                raise ValidationError({"recipients": [f"A batch can hold at most {limit:,} people: split the file"]})
            if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
                continue  # a blank line
            name, address = cell(record, "name"), cell(record, "address")
            if not name:
                problems.append(f"row {number} has no name")
            elif len(name) > NAME_MAX:
                problems.append(f"row {number}: the name is longer than {NAME_MAX} characters")
            if not address:
                problems.append(f"row {number} has no address")
            elif len(address) > ADDRESS_MAX:
                problems.append(f"row {number}: the address is longer than {ADDRESS_MAX} characters")
            fields = cell(record, "fields")
            if len(fields) > FIELDS_MAX:
                problems.append(f"row {number}: the fields are longer than {FIELDS_MAX} characters")
            rows.append(Row(name, _address(address, cell(record, "postcode")), data.split_fields(fields)))
    except csv.Error as error:
        raise ValidationError({"recipients": [f"The file could not be read as CSV: {error}"]}) from None
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise ValidationError({"recipients": [f"Fix the file and upload it again: {shown}"]})
    if not rows:
        raise ValidationError({"recipients": ["The file has no people in it, only the header row"]})
    return rows


def letter_batch_create(
    *, incident: Incident, actor: User, group: RiskGroup | None, upload: UploadedFile
) -> LetterBatch:
    """Check the list and queue the letters. Nothing is saved if any row is wrong."""
    if not user_has_role(actor, PLAN_ROLES):
        raise PermissionDenied("Only managers, the ISR, ISIM, Chief Officer, SCS, DPO and SIRO can send letters.")
    if group is not None and group.assessment.incident_id != incident.pk:
        raise ValidationError({"group": ["Select a group from this incident's risk assessment"]})
    if upload.size is not None and upload.size > UPLOAD_MAX_BYTES:
        raise ValidationError({"recipients": ["The file must be 50 MB or smaller"]})
    content = upload.read(UPLOAD_MAX_BYTES + 1)
    if len(content) > UPLOAD_MAX_BYTES:
        raise ValidationError({"recipients": ["The file must be 50 MB or smaller"]})
    rows = parse_recipients(content, limit=settings.LETTER_BATCH_MAX)
    storage = reports_storage()
    batch = LetterBatch(
        incident=incident,
        group=group,
        group_name=group.name if group is not None else "Everyone affected",
        source_name=(upload.name or "recipients.csv")[-255:],
        total=len(rows),
        created_by=actor,
        created_at=timezone.now(),
    )
    batch.source.name = storage.save(batch_path(batch, "recipients.csv"), ContentFile(content))
    try:
        with transaction.atomic(durable=True):
            batch.save()
            TimelineEntry.objects.create(
                incident=incident,
                kind=TimelineKind.PLAN,
                actor=actor,
                created_at=batch.created_at,
                body=f"Letters to {len(rows):,} people queued ({batch.group_name})",
                data={"letter_batch": batch.pk},
            )
            audit_record(
                actor=actor,
                action="letters.queued",
                object_type="letter_batch",
                object_id=batch.pk,
                incident_ref=incident.reference,
                after={"group": batch.group_name, "total": len(rows), "source": batch.source_name},
            )
            transaction.on_commit(lambda: _enqueue(batch.pk))
    except BaseException:
        storage.delete(batch.source.name)
        raise
    return batch


def _enqueue(batch_id: int) -> None:
    from ..tasks import letter_batch_task

    try:
        letter_batch_task.delay(batch_id)
    except Exception:  # the sweep runs it anyway: the row is the truth
        logger.exception("Could not queue letter batch %s; the sweep will pick it up", batch_id)


def _claim(batch_id: int | None) -> LetterBatch | None:
    now = timezone.now()
    runnable = Q(state=LetterBatchState.QUEUED) | Q(
        state=LetterBatchState.PROCESSING, heartbeat_at__lt=now - STALE_AFTER
    )
    qs = LetterBatch.objects.select_for_update(skip_locked=True, of=("self",), no_key=True).filter(runnable)
    if batch_id is not None:
        qs = qs.filter(pk=batch_id)
    else:
        qs = qs.filter(created_at__lt=now - QUEUED_GRACE).order_by("created_at")
    with transaction.atomic():
        batch = qs.select_related("incident", "group").first()
        if batch is None:
            return None
        batch.state = LetterBatchState.PROCESSING
        batch.started_at = batch.heartbeat_at = now
        batch.done = 0
        batch.save(update_fields=["state", "started_at", "heartbeat_at", "done"])
    return batch


def _progress(batch: LetterBatch, done: int) -> None:
    batch.done = done
    batch.heartbeat_at = timezone.now()
    LetterBatch.objects.filter(pk=batch.pk).update(done=done, heartbeat_at=batch.heartbeat_at)


def render_letters(
    incident: Incident, group: RiskGroup | None, rows: list[Row], *, on_chunk: Any = None
) -> tuple[bytes, int]:
    """All the letters as one PDF for printing: rendered ``CHUNK`` at a time, then joined by
    pikepdf (qpdf), which joins thousands of pages in well under a second where a pure-Python
    join takes as long as the rendering. Joining drops each chunk's structure tree, so the
    chunks are not tagged; each letter's own preview and issued PDF are."""
    import pikepdf

    common = data.letter_common(incident, group)
    merged = pikepdf.Pdf.new()
    chunks: list[pikepdf.Pdf] = []  # kept open until saved: their pages are copied lazily
    pages = 0
    try:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            addressees = [data.Addressee(r.name, r.address, r.fields) for r in chunk]
            html = render_html(ReportKind.SUBJECT_LETTER, {**common, "addressees": addressees, "batch": True})
            pdf = html_to_pdf(html, tagged=False)
            source = pikepdf.Pdf.open(io.BytesIO(pdf.content))
            chunks.append(source)
            merged.pages.extend(source.pages)
            pages += pdf.pages
            if on_chunk is not None:
                on_chunk(start + len(chunk))
        merged.docinfo["/Title"] = f"Letters about your personal information, {incident.reference}"
        out = io.BytesIO()
        merged.save(out)
    finally:
        for source in chunks:
            source.close()
        merged.close()
    return out.getvalue(), pages


def letter_batch_run(*, batch_id: int | None = None) -> bool:
    """Run one batch (the given one, or the oldest that nobody is running). True if a batch
    was run to the end, successfully or not."""
    batch = _claim(batch_id)
    if batch is None:
        return False
    storage = reports_storage()
    try:
        with storage.open(batch.source.name, "rb") as handle:
            rows = parse_recipients(handle.read(), limit=max(batch.total, 1))
        content, pages = render_letters(batch.incident, batch.group, rows, on_chunk=lambda n: _progress(batch, n))
    except Exception as error:  # recorded on the batch for the person who started it
        logger.exception("Letter batch %s failed", batch.pk)
        LetterBatch.objects.filter(pk=batch.pk).update(
            state=LetterBatchState.FAILED,
            error=f"The letters could not be generated: {error}",
            finished_at=timezone.now(),
        )
        return True
    digest = hashlib.sha256(content).hexdigest()
    output = storage.save(batch_path(batch, "letters.pdf"), ContentFile(content))
    with transaction.atomic():
        LetterBatch.objects.filter(pk=batch.pk).update(
            state=LetterBatchState.DONE,
            done=batch.total,
            output=output,
            sha256=digest,
            pages=pages,
            source="",
            finished_at=timezone.now(),
        )
        audit_record(
            actor=None,
            actor_username="breachdesk",
            action="letters.generated",
            object_type="letter_batch",
            object_id=batch.pk,
            incident_ref=batch.incident.reference,
            after={"total": batch.total, "pages": pages, "sha256": digest},
        )
    # The list of names and addresses is not kept once the letters exist (data minimisation).
    storage.delete(batch.source.name)
    return True


def letter_batches_sweep(*, limit: int = 5) -> int:
    """Run batches that no worker took up, or whose worker died."""
    ran = 0
    while ran < limit and letter_batch_run():
        ran += 1
    return ran


def letter_batch_retry(*, batch: LetterBatch, actor: User) -> LetterBatch:
    if not user_has_role(actor, PLAN_ROLES):
        raise PermissionDenied("Only managers, the ISR, ISIM, Chief Officer, SCS, DPO and SIRO can send letters.")
    with transaction.atomic():
        locked = LetterBatch.objects.select_for_update(no_key=True).get(pk=batch.pk)
        if locked.state != LetterBatchState.FAILED:
            raise ValidationError({"__all__": ["Only a failed batch can be tried again"]})
        locked.state, locked.error, locked.done, locked.finished_at = LetterBatchState.QUEUED, "", 0, None
        locked.save(update_fields=["state", "error", "done", "finished_at"])
        audit_record(
            actor=actor,
            action="letters.retried",
            object_type="letter_batch",
            object_id=locked.pk,
            incident_ref=batch.incident.reference,
        )
        transaction.on_commit(lambda: _enqueue(locked.pk))
    return locked


def letters_open(*, batch: LetterBatch, actor: User) -> IO[bytes]:
    """The generated letters, and an audit event saying who took a copy."""
    handle: IO[bytes] = reports_storage().open(batch.output.name, "rb")
    try:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="letters.downloaded",
                object_type="letter_batch",
                object_id=batch.pk,
                incident_ref=batch.incident.reference,
                after={"sha256": batch.sha256},
            )
    except BaseException:
        handle.close()
        raise
    return handle
