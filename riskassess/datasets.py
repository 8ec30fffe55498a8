"""Extracts of lost data sets: received, checked, pseudonymised on the way in, and forgotten.

The file is held only as a temporary file in ``DATASET_UPLOAD_DIR`` (mode 0600), removed
when the job ends however it ends, and by the sweep if nothing ever ran it. What is kept per
row is a ``PersonRecord``: the data set, the keyed hashes of the identifiers that link people,
and a bitmask of the fields the row exposed. No raw value is stored, logged or put in an
error message (errors name rows and columns, never contents).

Processing runs in a Celery job (``riskassess.tasks``) and writes in chunks, reporting
progress and honouring a cancel between them. The records of a data set count only once it
is ``done``; a failure or a cancel deletes whatever was written, and a job cut off mid-way
is run again from the start by the sweep, so nothing is ever half-stored.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from breachdesk.audit import audit_record
from breachdesk.choices import Role
from breachdesk.selectors import user_has_role
from incidents.models import Incident

from .choices import DataSetStatus
from .identifiers import NORMALISERS, STRONG, IdentifierType, date_text, latest_birth_day
from .linkage import NAME_DOB
from .models import TOKEN_COLUMNS, LostDataSet, PersonRecord
from .pseudonym import Rekeyer, Tokeniser, keyring

logger = logging.getLogger(__name__)

CHUNK_ROWS = 25_000
MAX_LABELS = 56  # one bit each in PersonRecord.fields (riskassess.population packs 6 more)
MAX_DATASETS = 64  # per incident, one bit each when counting who was where
MAX_COLUMNS = 200
STALE_AFTER = timedelta(minutes=5)  # a processing job silent this long has died
QUEUED_GRACE = timedelta(seconds=30)  # the job's own message normally arrives before this
ORPHAN_AFTER = timedelta(hours=6)  # a received file nobody went on to map
XLSX_MAGIC = b"PK\x03\x04"

# Which column of PersonRecord holds the token of each linking identifier.
TOKEN_COLUMN = {
    IdentifierType.PNC_ID: "pnc_id",
    IdentifierType.PRISON_NUMBER: "prison_number",
    IdentifierType.NI_NUMBER: "ni_number",
}


def _uploaders() -> frozenset[Role]:
    """Who may upload, cancel and look people up: those who assess the risk."""
    from .services import ASSESSORS

    return frozenset(ASSESSORS)


class DataSetError(Exception):
    """Bad input found while processing: the message is for the person who uploaded it."""


class Cancelled(Exception):
    pass


def upload_dir() -> Path:
    path = Path(settings.DATASET_UPLOAD_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _remove(name: str) -> None:
    if name:
        (upload_dir() / name).unlink(missing_ok=True)


# --- Receiving a file -----------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """A file taken in and checked, waiting in the upload folder for its mapping."""

    upload_name: str
    file_name: str
    file_format: str  # "csv" or "xlsx"
    sha256: str
    size: int
    header: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "upload_name": self.upload_name,
            "file_name": self.file_name,
            "file_format": self.file_format,
            "sha256": self.sha256,
            "size": self.size,
            "header": self.header,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Received:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def receive_upload(upload: IO[bytes] | Any, file_name: str) -> Received:
    """Copy the upload into the upload folder, checking it on the way: its size, that it is
    UTF-8 text or an XLSX workbook (by content, not by name), and its header row. Raises
    ``ValidationError`` on the ``file`` field and keeps nothing if anything is wrong."""
    limit = settings.DATASET_MAX_BYTES
    name = secrets.token_hex(16) + ".upload"
    path = upload_dir() / name
    digest = hashlib.sha256()
    size = 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    is_text = True
    first = b""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            chunks = upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(1 << 20), b"")
            for chunk in chunks:
                if not first:
                    first = chunk[:8]
                size += len(chunk)
                if size > limit:
                    raise ValidationError(
                        {"file": [f"The file is larger than the limit of {limit // (1024 * 1024)} MB."]}
                    )
                digest.update(chunk)
                out.write(chunk)
                if is_text and not first.startswith(XLSX_MAGIC):
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as error:
                        raise ValidationError(
                            {
                                "file": [
                                    "The file is not UTF-8 text (a byte near position "
                                    f"{size - len(chunk) + error.start}"
                                    ' cannot be read). Save it as "CSV UTF-8" and upload it again.'
                                ]
                            }
                        ) from None
        if size == 0:
            raise ValidationError({"file": ["The file is empty."]})
        file_format = "xlsx" if first.startswith(XLSX_MAGIC) else "csv"
        if file_format == "csv":
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise ValidationError(
                    {"file": ['The file ends part-way through a character: save it as "CSV UTF-8" and upload again.']}
                ) from None
            if b"\x00" in path.read_bytes()[: 1 << 16]:
                raise ValidationError({"file": ["The file is not text: upload a CSV or an Excel workbook (.xlsx)."]})
        header, has_rows = _header(path, file_format)
        errors = header_errors(header)
        if not has_rows and not errors:
            errors.append("The file has a header row but no rows of data.")
        if errors:
            raise ValidationError({"file": errors})
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Received(name, Path(file_name or "upload").name[-255:], file_format, digest.hexdigest(), size, header)


def _header(path: Path, file_format: str) -> tuple[list[str], bool]:
    rows = _rows(path, file_format)
    try:
        header = next(rows, None)
        if header is None:
            return [], False
        has_rows = any(any(cell.strip() for cell in row) for row in rows)
    except DataSetError as error:
        raise ValidationError({"file": [str(error)]}) from None
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()
    return [cell.strip() for cell in header], has_rows


def header_errors(header: Sequence[str]) -> list[str]:
    if not header or not any(header):
        return ["The first row must name the columns; it is empty."]
    errors = []
    if len(header) > MAX_COLUMNS:
        errors.append(f"The file has {len(header)} columns; at most {MAX_COLUMNS} can be read.")
    seen: dict[str, int] = {}
    for number, column in enumerate(header, start=1):
        if not column:
            errors.append(f"Column {number} has no name in the header row.")
            continue
        key = column.casefold()
        if key in seen:
            errors.append(f'The column name "{_safe(column)}" appears twice (columns {seen[key]} and {number}).')
        else:
            seen[key] = number
    return errors


def _safe(text: str, limit: int = 60) -> str:
    """A column name fit to show back: printable and short."""
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rows(path: Path, file_format: str) -> Iterator[list[str]]:
    """Every row of the file as text cells (the header first)."""
    if file_format == "xlsx":
        yield from _xlsx_rows(path)
        return
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            yield from reader
        except csv.Error as error:
            raise DataSetError(f"Row {reader.line_num} of the file cannot be read as CSV ({error}).") from None
        except UnicodeDecodeError:
            raise DataSetError('The file is not UTF-8 text: save it as "CSV UTF-8" and upload it again.') from None


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    with path.open("rb") as handle:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
            raise DataSetError(f"The file is not a workbook Excel can open ({type(error).__name__}).") from None
        try:
            if not workbook.worksheets:
                raise DataSetError("The workbook has no sheet.")
            for row in workbook.worksheets[0].iter_rows(values_only=True):
                yield [_cell_text(value) for value in row]
        finally:
            workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- Mapping columns ------------------------------------------------------------------

_GUESSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (IdentifierType.PNC_ID, ("pnc", "pncid", "pncnumber", "policenationalcomputer")),
    (IdentifierType.PRISON_NUMBER, ("prisonnumber", "prisonno", "prisonerno", "prisonernumber", "nomsnumber")),
    (IdentifierType.NI_NUMBER, ("nino", "ninumber", "nationalinsurance", "nationalinsurancenumber", "nino")),
    (IdentifierType.DATE_OF_BIRTH, ("dob", "dateofbirth", "birthdate", "born")),
    (IdentifierType.POSTCODE, ("postcode", "postalcode", "zip")),
    (IdentifierType.EMAIL, ("email", "emailaddress", "mail")),
    (IdentifierType.PHONE, ("phone", "telephone", "tel", "mobile", "phonenumber")),
    (IdentifierType.ADDRESS, ("address", "addressline1", "street", "address1", "homeaddress")),
    (IdentifierType.FULL_NAME, ("name", "fullname", "surname", "forename", "firstname", "lastname", "givenname")),
)


def guess_kind(column: str) -> str:
    """A first guess at what a column holds, from its name, for the person to confirm."""
    key = "".join(c for c in column.casefold() if c.isalnum())
    for kind, names in _GUESSES:
        if key in names:
            return kind
    return IdentifierType.FIELD


@dataclass(frozen=True)
class Plan:
    """How each row becomes a record: the columns behind each token, and the fields."""

    names: tuple[int, ...]
    births: tuple[int, ...]
    strong: tuple[tuple[str, tuple[int, ...]], ...]  # (identifier type, columns)
    bits: tuple[tuple[int, int], ...]  # (column, bit)
    width: int


def mapping_errors(
    header: Sequence[str], mapping: object
) -> tuple[list[dict[str, str]], list[str], dict[str, list[str]]]:
    """The columns with their types, the exposed-field labels, and any errors. Columns the
    mapping leaves out are exposed fields: everything in the file was lost."""
    errors: dict[str, list[str]] = {}
    if not isinstance(mapping, dict):
        return [], [], {"mapping": ["The mapping must be an object of column name to identifier type."]}
    kinds = set(IdentifierType.values)
    by_name = {column.casefold(): column for column in header}
    chosen: dict[str, str] = {}
    for column, kind in mapping.items():
        key = str(column).strip().casefold()
        if key not in by_name:
            errors.setdefault("mapping", []).append(f'The file has no column called "{_safe(str(column))}".')
        elif not isinstance(kind, str) or kind not in kinds:
            errors.setdefault("mapping", []).append(
                f'"{_safe(str(kind))}" for column "{_safe(by_name[key])}" is not one of: {", ".join(sorted(kinds))}.'
            )
        else:
            chosen[by_name[key]] = kind
    columns = [{"column": column, "kind": chosen.get(column, IdentifierType.FIELD)} for column in header]
    mapped = {c["kind"] for c in columns}
    if not errors and mapped <= {IdentifierType.FIELD}:
        errors["mapping"] = ["Say which column holds at least one identifier (a name, date of birth or ID)."]
    labels: list[str] = []
    for c in columns:
        label = c["column"] if c["kind"] == IdentifierType.FIELD else IdentifierType(c["kind"]).label
        if label not in labels:
            labels.append(label)
    if len(labels) > MAX_LABELS:
        errors.setdefault("mapping", []).append(
            f"The file exposes {len(labels)} different fields; at most {MAX_LABELS} can be recorded."
        )
    return columns, labels, errors


def plan_for(columns: Sequence[dict[str, str]], labels: Sequence[str]) -> Plan:
    bit = {label: 1 << i for i, label in enumerate(labels)}
    index = [(i, c["kind"], c["column"]) for i, c in enumerate(columns)]
    return Plan(
        names=tuple(i for i, kind, _ in index if kind == IdentifierType.FULL_NAME),
        births=tuple(i for i, kind, _ in index if kind == IdentifierType.DATE_OF_BIRTH),
        strong=tuple((kind, cols) for kind in STRONG if (cols := tuple(i for i, k, _ in index if k == kind))),
        bits=tuple(
            (i, bit[column if kind == IdentifierType.FIELD else IdentifierType(kind).label])
            for i, kind, column in index
        ),
        width=len(columns),
    )


# --- Pseudonymising rows --------------------------------------------------------------

Token = str | None  # a token in hex
Row = tuple[Token, Token, Token, Token, int]  # pnc_id, prison_number, ni_number, name_dob, fields


def pseudonymise(rows: Iterable[Sequence[str]], plan: Plan, tokens: Tokeniser) -> Iterator[Row]:
    """Rows of text to records: (pnc, prison, NI, name+dob tokens, exposed-field bits).
    Several name columns (forename, surname) are joined in file order; of several columns of
    one strong identifier, the first valid value counts. Blank rows are skipped.

    Written for speed (a million rows a data set): functions looked up once, and names and
    dates, which repeat, normalised once each per job (the caches go with the job: no raw
    value outlives it)."""
    width = plan.width
    names, births, bits = plan.names, plan.births, plan.bits
    slot: dict[str, int] = {IdentifierType.PNC_ID: 0, IdentifierType.PRISON_NUMBER: 1, IdentifierType.NI_NUMBER: 2}
    strong = [(slot[kind], NORMALISERS[kind], tokens.for_kind(kind), cols) for kind, cols in plan.strong]
    full_name = NORMALISERS[IdentifierType.FULL_NAME]
    latest = latest_birth_day()
    name_dob = tokens.for_kind(NAME_DOB)
    name_cache: dict[str, str | None] = {}
    date_cache: dict[str, str | None] = {}
    single_name = names[0] if len(names) == 1 else None
    for number, row in enumerate(rows, start=2):
        if len(row) != width:
            if len(row) > width:
                if any(cell.strip() for cell in row[width:]):
                    raise DataSetError(f"Row {number} has more values than the header has columns.")
                row = row[:width]
            else:
                if not row or not any(cell.strip() for cell in row):
                    continue
                row = [*row, *([""] * (width - len(row)))]
        fields = 0
        for i, b in bits:
            cell = row[i]
            if cell and not cell.isspace():
                fields |= b
        if not fields:
            continue
        out: list[Token] = [None, None, None, None]
        for position, normalised, tokenise, cols in strong:
            for i in cols:
                value = normalised(row[i])
                if value is not None:
                    out[position] = tokenise(value)
                    break
        if names and births:
            raw_name = row[single_name] if single_name is not None else " ".join(row[i] for i in names)
            name = name_cache.get(raw_name, "")
            if name == "":
                name = name_cache[raw_name] = full_name(raw_name)
            if name is not None:
                for i in births:
                    raw_born = row[i]
                    born = date_cache.get(raw_born, "")
                    if born == "":
                        born = date_cache[raw_born] = date_text(raw_born, latest)
                    if born is not None:
                        out[3] = name_dob(f"{name}\x1f{born}")
                        break
        yield (out[0], out[1], out[2], out[3], fields)


# --- Storing records ------------------------------------------------------------------


class RecordWriter:
    """Writes one data set's records so that they count all at once or never.

    PostgreSQL: into a table of the data set's own (no indexes while loading, which makes
    loading several times faster), attached to the partitioned records table by ``attach``
    inside the transaction that marks the data set done; ``discard`` drops it. Elsewhere
    (SQLite in development): straight into the records table, which nothing reads until the
    data set is done; ``discard`` deletes them."""

    COLUMNS = '(dataset_id, "row", pnc_id, prison_number, ni_number, name_dob, fields)'

    def __init__(self, dataset_id: int) -> None:
        self.dataset_id = int(dataset_id)
        self.rows = 0
        self.postgres = connection.vendor == "postgresql"
        self.table = f"riskassess_personrecord_{self.dataset_id}"

    def begin(self) -> None:
        self.discard()
        if self.postgres:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE TABLE {self.table} (LIKE riskassess_personrecord INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                )
                cursor.execute(
                    f"ALTER TABLE {self.table} ADD CONSTRAINT {self.table}_in CHECK (dataset_id = {self.dataset_id})"
                )

    def write(self, rows: Sequence[Row]) -> None:
        first = self.rows
        self.rows += len(rows)
        if self.postgres:
            prefix = f"{self.dataset_id}\t"
            buffer = io.StringIO()
            buffer.writelines(
                f"{prefix}{n}\t{a or NULL}\t{b or NULL}\t{c or NULL}\t{d or NULL}\t{fields}\n"
                for n, (a, b, c, d, fields) in enumerate(rows, start=first)
            )
            buffer.seek(0)
            with connection.cursor() as cursor:
                cursor.connection.cursor().copy_expert(f"COPY {self.table} {self.COLUMNS} FROM STDIN", buffer)
            return

        def _uuid(t: Token) -> uuid.UUID | None:
            return uuid.UUID(hex=t) if t is not None else None

        PersonRecord.objects.bulk_create(
            [
                PersonRecord(
                    dataset_id=self.dataset_id,
                    row=n,
                    pnc_id=_uuid(a),
                    prison_number=_uuid(b),
                    ni_number=_uuid(c),
                    name_dob=_uuid(d),
                    fields=fields,
                )
                for n, (a, b, c, d, fields) in enumerate(rows, start=first)
            ],
            batch_size=2000,
        )

    def attach(self) -> None:
        """Call inside the transaction that marks the data set done."""
        if self.postgres:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"ALTER TABLE riskassess_personrecord ATTACH PARTITION {self.table} "
                    f"FOR VALUES IN ({self.dataset_id})"
                )
                cursor.execute(f"ALTER TABLE {self.table} DROP CONSTRAINT {self.table}_in")
                cursor.execute(f"ANALYZE {self.table}")

    def discard(self) -> None:
        if self.postgres:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        else:
            PersonRecord.objects.filter(dataset_id=self.dataset_id).delete()


NULL = "\\N"


# --- Creating and running a data set --------------------------------------------------


def dataset_create(*, incident: Incident, actor: User, name: str, received: Received, mapping: object) -> LostDataSet:
    """Queue a received file for processing with its mapping. On any error the file is
    removed and nothing is recorded."""
    try:
        if not user_has_role(actor, _uploaders()):
            raise PermissionDenied(
                "Only managers, the ISR, ISIM, Chief Officer, SCS, DPO or SIRO can upload data sets."
            )
        errors: dict[str, list[str]] = {}
        name = (name or "").strip()
        if not name:
            errors["name"] = ['Give the data set a name, e.g. "Prisoner releases 2025".']
        elif len(name) > 200:
            errors["name"] = ["The name can be at most 200 characters."]
        columns, labels, mapping_problems = mapping_errors(received.header, mapping)
        errors.update(mapping_problems)
        earlier = (
            LostDataSet.objects.filter(incident=incident, file_sha256=received.sha256)
            .exclude(status=DataSetStatus.FAILED)
            .first()
        )
        kept = LostDataSet.objects.filter(incident=incident).exclude(status=DataSetStatus.FAILED).count()
        if kept >= MAX_DATASETS:
            errors.setdefault("file", []).append(f"An incident can have at most {MAX_DATASETS} data sets.")
        if earlier is not None:
            errors.setdefault("file", []).append(
                f'This file was already uploaded to this incident as "{earlier.name}" on '
                f"{timezone.localtime(earlier.uploaded_at):%d %B %Y at %H:%M}."
            )
        if errors:
            raise ValidationError(errors)
        if not (upload_dir() / received.upload_name).exists():
            raise ValidationError(
                {"file": ["The uploaded file is no longer here (it waited too long): upload it again."]}
            )
        with transaction.atomic():
            dataset = LostDataSet.objects.create(
                incident=incident,
                name=name,
                file_name=received.file_name,
                file_sha256=received.sha256,
                file_bytes=received.size,
                columns=columns,
                labels=labels,
                key_version=keyring().version,
                upload_name=received.upload_name,
                uploaded_by=actor,
                uploaded_at=timezone.now(),
            )
            audit_record(
                actor=actor,
                action="dataset.uploaded",
                object_type="lost_dataset",
                object_id=dataset.pk,
                incident_ref=incident.reference,
                after={
                    "name": name,
                    "file_name": received.file_name,
                    "sha256": received.sha256,
                    "bytes": received.size,
                    "columns": columns,
                },
            )
            transaction.on_commit(lambda: _enqueue(dataset.pk))
    except BaseException:
        _remove(received.upload_name)
        raise
    return dataset


def _enqueue(dataset_id: int) -> None:
    from .tasks import dataset_process_task

    dataset_process_task.delay(dataset_id)


def dataset_cancel(*, dataset: LostDataSet, actor: User) -> LostDataSet:
    """Stop a data set that has not finished: at once if it has not started, else at the
    job's next chunk. Whatever was written is removed."""
    if not user_has_role(actor, _uploaders()):
        raise PermissionDenied("Only managers, the ISR, ISIM, Chief Officer, SCS, DPO or SIRO can cancel.")
    now = timezone.now()
    with transaction.atomic():
        locked = LostDataSet.objects.select_for_update(no_key=True).get(pk=dataset.pk)
        if locked.status not in (DataSetStatus.QUEUED, DataSetStatus.PROCESSING):
            raise ValidationError({"__all__": ["Only a data set that is waiting or being processed can be cancelled."]})
        if locked.cancel_requested_at is None:
            locked.cancel_requested_by, locked.cancel_requested_at = actor, now
            locked.save(update_fields=["cancel_requested_by", "cancel_requested_at"])
            audit_record(
                actor=actor,
                action="dataset.cancel_requested",
                object_type="lost_dataset",
                object_id=locked.pk,
                incident_ref=locked.incident.reference,
            )
        if locked.status == DataSetStatus.QUEUED:
            _finish_failed(locked, _cancelled_message(locked))
    locked.refresh_from_db()
    return locked


def _cancelled_message(dataset: LostDataSet) -> str:
    who = dataset.cancel_requested_by.get_full_name() or dataset.cancel_requested_by.get_username()  # type: ignore[union-attr]
    when = timezone.localtime(dataset.cancel_requested_at)
    return f"Cancelled by {who} at {when:%H:%M on %d %B %Y}. Nothing from the file was kept."


def _claim(dataset_id: int | None) -> LostDataSet | None:
    now = timezone.now()
    stale = Q(status=DataSetStatus.PROCESSING, heartbeat_at__lt=now - STALE_AFTER)
    qs = LostDataSet.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
    if dataset_id is not None:
        qs = qs.filter(Q(status=DataSetStatus.QUEUED) | stale, pk=dataset_id)
    else:  # the sweep: jobs whose message was lost (after a grace), or whose worker died
        qs = qs.filter(Q(status=DataSetStatus.QUEUED, uploaded_at__lt=now - QUEUED_GRACE) | stale)
        qs = qs.order_by("uploaded_at")
    with transaction.atomic():
        dataset = qs.select_related("incident").first()
        if dataset is None:
            return None
        dataset.status = DataSetStatus.PROCESSING
        dataset.started_at = dataset.heartbeat_at = now
        dataset.progress = 0
        dataset.save(update_fields=["status", "started_at", "heartbeat_at", "progress"])
    return dataset


def _estimate_rows(path: Path, file_format: str) -> int:
    """Roughly how many rows, for the progress bar: lines of a CSV (a quoted line break
    makes it an overestimate), the sheet's stated size for a workbook."""
    if file_format == "xlsx":
        from openpyxl import load_workbook

        with path.open("rb") as handle:
            workbook = load_workbook(handle, read_only=True)
            try:
                return max(1, (workbook.worksheets[0].max_row or 1) - 1)
            finally:
                workbook.close()
    count = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
    return max(1, count)


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def dataset_process(*, dataset_id: int | None = None, on_chunk: Callable[[int], None] | None = None) -> bool:
    """Run one data set (the given one, or the oldest nobody is running) to the end: done,
    or failed with nothing kept. True if one was run."""
    dataset = _claim(dataset_id)
    if dataset is None:
        return False
    started = time.monotonic()
    writer = RecordWriter(dataset.pk)
    path = upload_dir() / dataset.upload_name if dataset.upload_name else None
    try:
        if dataset.cancel_requested_at is not None:
            raise Cancelled
        if path is None or not path.exists():
            raise DataSetError("The uploaded file is no longer here (the job was interrupted): upload it again.")
        writer.begin()  # also clears an attempt that was cut off
        file_format = "xlsx" if path.open("rb").read(4) == XLSX_MAGIC else "csv"
        estimate = _estimate_rows(path, file_format)
        tokens = Tokeniser(keyring(), dataset.key_version)
        plan = plan_for(dataset.columns, dataset.labels)
        rows = _rows(path, file_format)
        next(rows, None)  # the header
        done = 0
        writing = 0.0
        for chunk in _chunks(pseudonymise(rows, plan, tokens), CHUNK_ROWS):
            mark = time.monotonic()
            writer.write(chunk)
            writing += time.monotonic() - mark
            done += len(chunk)
            progress = min(99, done * 100 // estimate)
            if on_chunk is not None:
                on_chunk(done)
            still_wanted = (
                LostDataSet.objects.filter(pk=dataset.pk, cancel_requested_at__isnull=True).update(
                    progress=progress, heartbeat_at=timezone.now()
                )
                == 1
            )
            if not still_wanted:
                raise Cancelled
        if done == 0:
            raise DataSetError("No row of the file has any value in a mapped column.")
        with transaction.atomic():
            locked = LostDataSet.objects.select_for_update(no_key=True).get(pk=dataset.pk)
            if locked.cancel_requested_at is not None:
                raise Cancelled
            mark = time.monotonic()
            writer.attach()
            attaching = time.monotonic() - mark
            locked.status, locked.rows, locked.progress = DataSetStatus.DONE, done, 100
            locked.finished_at = timezone.now()
            locked.upload_name = ""
            locked.save(update_fields=["status", "rows", "progress", "finished_at", "upload_name"])
            audit_record(
                actor=None,
                actor_username="breachdesk",
                action="dataset.processed",
                object_type="lost_dataset",
                object_id=dataset.pk,
                incident_ref=dataset.incident.reference,
                after={
                    "rows": done,
                    "seconds": round(time.monotonic() - started, 1),
                    "key_version": dataset.key_version,
                },
            )
        logger.info(
            "Data set %s processed: %s rows in %.1f s (writing %.1f s, attaching and indexing %.1f s)",
            dataset.pk,
            done,
            time.monotonic() - started,
            writing,
            attaching,
        )
    except Cancelled:
        dataset.refresh_from_db()
        _finish_failed(dataset, _cancelled_message(dataset))
    except DataSetError as error:
        _finish_failed(dataset, str(error))
    except Exception as error:  # recorded for the person who uploaded it; no values in it
        logger.error("Data set %s failed: %s", dataset.pk, type(error).__name__)
        _finish_failed(dataset, "Processing stopped on an unexpected error; nothing from the file was kept. Try again.")
    finally:
        if path is not None:
            path.unlink(missing_ok=True)
    # The figures are worked out by whichever job of the incident finishes last (a page or
    # the API asking before then works them out itself): not once per data set, each time
    # over all of them, while the others still need the processor.
    busy = LostDataSet.objects.filter(
        incident_id=dataset.incident_id, status__in=(DataSetStatus.QUEUED, DataSetStatus.PROCESSING)
    )
    if not busy.exists():
        from .population import population_refresh

        population_refresh(dataset.incident)
    return True


def _finish_failed(dataset: LostDataSet, message: str) -> None:
    with transaction.atomic():
        RecordWriter(dataset.pk).discard()
        LostDataSet.objects.filter(pk=dataset.pk).update(
            status=DataSetStatus.FAILED, error=message, finished_at=timezone.now(), upload_name="", rows=0
        )
        audit_record(
            actor=None,
            actor_username="breachdesk",
            action="dataset.failed",
            object_type="lost_dataset",
            object_id=dataset.pk,
            incident_ref=dataset.incident.reference,
            after={"error": message},
        )
    _remove(dataset.upload_name)


def datasets_sweep(*, limit: int = 3) -> int:
    """Run data sets whose message was lost or whose worker died, and remove received files
    that were never mapped."""
    ran = 0
    while ran < limit and dataset_process():
        ran += 1
    wanted = set(
        LostDataSet.objects.filter(status__in=(DataSetStatus.QUEUED, DataSetStatus.PROCESSING))
        .exclude(upload_name="")
        .values_list("upload_name", flat=True)
    )
    cutoff = time.time() - ORPHAN_AFTER.total_seconds()
    for path in upload_dir().iterdir():
        if path.name not in wanted and path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
    return ran


# --- Rotating the pseudonym key -------------------------------------------------------


def datasets_rekey(*, chunk: int = 50_000) -> list[tuple[LostDataSet, int]]:
    """Bring every processed data set's tokens up to the newest key in ``PSEUDONYM_KEYS``,
    one data set per transaction, without any raw value: each token is hashed once more
    under each newer key (``riskassess/pseudonym.py``). Returns the data sets re-keyed with
    their row counts. Safe to run again; a data set still processing is re-keyed next time."""
    ring = keyring()
    done: list[tuple[LostDataSet, int]] = []
    for dataset in LostDataSet.objects.filter(status=DataSetStatus.DONE, key_version__lt=ring.version).select_related(
        "incident"
    ):
        rekey = Rekeyer(ring, dataset.key_version)

        def fresh(value: uuid.UUID | None, rekey: Rekeyer = rekey) -> str | None:
            return rekey(value.bytes).hex() if value is not None else None

        with transaction.atomic():
            locked = LostDataSet.objects.select_for_update(no_key=True).get(pk=dataset.pk)
            if locked.key_version >= ring.version:
                continue
            rows = PersonRecord.objects.filter(dataset_id=dataset.pk).values_list("row", *TOKEN_COLUMNS).order_by("row")
            count = 0
            batch: list[tuple[Any, ...]] = []
            for row, *tokens in rows.iterator(chunk_size=chunk):
                batch.append((*(fresh(t) for t in tokens), row))
                if len(batch) >= chunk:
                    _update_tokens(dataset.pk, batch)
                    count += len(batch)
                    batch = []
            if batch:
                _update_tokens(dataset.pk, batch)
                count += len(batch)
            before = locked.key_version
            locked.key_version = ring.version
            locked.save(update_fields=["key_version"])
            audit_record(
                actor=None,
                actor_username="breachdesk",
                action="dataset.rekeyed",
                object_type="lost_dataset",
                object_id=dataset.pk,
                incident_ref=dataset.incident.reference,
                before={"key_version": before},
                after={"key_version": ring.version, "rows": count},
            )
        done.append((dataset, count))
    return done


def _update_tokens(dataset_id: int, batch: list[tuple[Any, ...]]) -> None:
    sets = ", ".join(f"{c} = %s" for c in TOKEN_COLUMNS)
    sql = f'UPDATE riskassess_personrecord SET {sets} WHERE dataset_id = {int(dataset_id)} AND "row" = %s'  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg2.extras import execute_batch

            execute_batch(cursor.cursor, sql, batch, page_size=1000)
        else:
            cursor.executemany(sql, batch)
