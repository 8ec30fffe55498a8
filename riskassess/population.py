"""The exact population of an incident's lost data sets, and answers to "was I in it?".

Linking follows ``riskassess/linkage.py``: records sharing a strong identifier, or the same
name and date of birth, are one person, transitively. Only records that share a token with
another are brought into Python; every other record is a person on its own and is counted
by the database, so a million rows cost a few grouped scans and a union-find over the
linked minority.
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from breachdesk.audit import audit_record
from incidents.models import Enquiry, Incident

from .choices import DataSetStatus
from .identifiers import STRONG, IdentifierType, normalise
from .linkage import NAME_DOB
from .models import TOKEN_COLUMNS, LostDataSet, PersonRecord, PopulationSnapshot
from .pseudonym import Tokeniser, keyring

logger = logging.getLogger(__name__)

LOOKUP_KINDS = (
    IdentifierType.FULL_NAME,
    IdentifierType.DATE_OF_BIRTH,
    IdentifierType.PNC_ID,
    IdentifierType.PRISON_NUMBER,
    IdentifierType.NI_NUMBER,
)


def done_datasets(incident: Incident) -> list[LostDataSet]:
    return list(LostDataSet.objects.filter(incident=incident, status=DataSetStatus.DONE).order_by("uploaded_at", "id"))


@dataclass
class Columns:
    """Every record of the data sets as arrays: data set, exposed-field bits, and each token
    as two 64-bit halves (0, 0 where the record has none)."""

    dataset: np.ndarray
    fields: np.ndarray
    tokens: list[tuple[np.ndarray, np.ndarray]]


_BINARY_HEADER = 19  # PGCOPY signature, flags, header extension length
_RECORD = np.dtype(
    [("n", ">i2"), ("l0", ">i4"), ("dataset", ">i8"), ("l1", ">i4"), ("fields", ">i8")]
    + [item for i in range(4) for item in ((f"l{i + 2}", ">i4"), (f"hi{i}", ">u8"), (f"lo{i}", ">u8"))]
)
_ZERO = "'00000000000000000000000000000000'::uuid"


def read_columns(ids: list[int]) -> Columns:
    if connection.vendor == "postgresql":
        tokens = ", ".join(f"coalesce({c}, {_ZERO})" for c in TOKEN_COLUMNS)
        wanted = ", ".join(str(int(pk)) for pk in ids)
        sql = (  # only integers and fixed names are formatted in
            f"COPY (SELECT dataset_id, fields, {tokens} FROM riskassess_personrecord "  # noqa: S608
            f"WHERE dataset_id IN ({wanted})) TO STDOUT WITH (FORMAT binary)"
        )
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            cursor.connection.cursor().copy_expert(sql, buffer)
        raw = buffer.getbuffer()
        body = raw[_BINARY_HEADER : len(raw) - 2]
        table = np.frombuffer(body, dtype=_RECORD)
        if len(table) and not (
            (table["n"] == 6).all() and (table["l0"] == 8).all() and (table["l2"] == 16).all()
        ):  # pragma: no cover - a change of column types would show here first
            raise RuntimeError("Unexpected layout of the records")
        columns = Columns(
            dataset=table["dataset"].astype(np.int64),
            fields=table["fields"].astype(np.int64),
            tokens=[(table[f"hi{i}"].astype(np.uint64), table[f"lo{i}"].astype(np.uint64)) for i in range(4)],
        )
        del table, body, raw
        buffer.close()
        return columns
    rows = list(PersonRecord.objects.filter(dataset_id__in=ids).values_list("dataset_id", "fields", *TOKEN_COLUMNS))
    halves = [
        (
            np.array([(int(r[2 + i]) >> 64) if r[2 + i] else 0 for r in rows], dtype=np.uint64),
            np.array([(int(r[2 + i]) & (2**64 - 1)) if r[2 + i] else 0 for r in rows], dtype=np.uint64),
        )
        for i in range(4)
    ]
    return Columns(
        dataset=np.array([r[0] for r in rows], dtype=np.int64),
        fields=np.array([r[1] for r in rows], dtype=np.int64),
        tokens=halves,
    )


def people_labels(columns: Columns) -> np.ndarray:
    """For each record, the index of the first record of its person: records sharing a token
    are one person, transitively (the connected components, found by propagating the least
    index through each group of equal tokens and then along the labels, until nothing
    changes)."""
    n = len(columns.dataset)
    labels = np.arange(n, dtype=np.int64)
    groups = []
    for hi, lo in columns.tokens:
        present = np.flatnonzero((hi | lo) != 0)
        if len(present) < 2:
            continue
        # Sorting by the first half is enough unless two different tokens share it (odds of
        # about n^2 / 2^65), which the check below notices.
        order = present[np.argsort(hi[present], kind="stable")]
        h, low = hi[order], lo[order]
        if ((h[1:] == h[:-1]) & (low[1:] != low[:-1])).any():
            order = present[np.lexsort((lo[present], hi[present]))]
            h, low = hi[order], lo[order]
        starts_mask = np.empty(len(order), dtype=bool)
        starts_mask[0] = True
        starts_mask[1:] = (h[1:] != h[:-1]) | (low[1:] != low[:-1])
        sizes = np.diff(np.append(np.flatnonzero(starts_mask), len(order)))
        if (sizes == 1).all():
            continue
        group = np.cumsum(starts_mask) - 1
        groups.append((order, group, np.flatnonzero(starts_mask)))
    changed = bool(groups)
    while changed:
        changed = False
        for order, group, starts in groups:
            current = labels[order]
            least = np.minimum.reduceat(current, starts)[group]
            if (least != current).any():
                labels[order] = least
                changed = True
        while True:
            jumped = labels[labels]
            if (jumped == labels).all():
                break
            labels = jumped
    return labels


def _distinct(values: np.ndarray) -> np.ndarray:
    ordered = np.sort(values)
    keep = np.empty(len(ordered), dtype=bool)
    keep[:1] = True
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def compute(datasets: list[LostDataSet]) -> dict[str, Any]:
    """The exact figures for these data sets (API.md ``GET .../population/``)."""
    started = time.monotonic()
    ids = [d.pk for d in datasets]
    slot = {pk: i for i, pk in enumerate(ids)}
    columns = read_columns(ids)
    n = len(columns.dataset)
    labels = people_labels(columns)
    roots = labels == np.arange(n)
    count = int(roots.sum())
    person = (np.cumsum(roots) - 1)[labels]  # each record's person, numbered 0..count-1
    # Which data sets each person is in: one bit per data set.
    slots = np.zeros(n, dtype=np.int64)
    for pk, i in slot.items():
        slots[columns.dataset == pk] = i
    in_sets = np.zeros(count, dtype=np.int64)
    np.bitwise_or.at(in_sets, person, np.left_shift(np.int64(1), slots))
    regions = dict(zip(*(v.tolist() for v in np.unique(in_sets, return_counts=True)), strict=True))
    # Which fields each person had exposed, over all their records: each (data set, bits)
    # pair becomes a set of labels, as a Python int over every label in the incident.
    all_labels: list[str] = []
    for d in datasets:
        all_labels.extend(label for label in d.labels if label not in all_labels)
    label_bit = {label: 1 << i for i, label in enumerate(all_labels)}
    # (fields << 6 | data set slot): at most 56 labels a data set and 64 data sets.
    pair_keys, pair_of = np.unique(np.left_shift(columns.fields, 6) | slots, return_inverse=True)
    masks: list[int] = []
    for key in pair_keys.tolist():
        labels_of, bits = datasets[key & 63].labels, key >> 6
        masks.append(sum(label_bit[labels_of[i]] for i in range(len(labels_of)) if bits >> i & 1))
    distinct = _distinct(person * len(pair_keys) + pair_of)
    owner, code = distinct // len(pair_keys), distinct % len(pair_keys)
    codes_per_person = np.bincount(owner, minlength=count)
    exposure: Counter[int] = Counter()
    alone = codes_per_person[owner] == 1
    for c, k in enumerate(np.bincount(code[alone], minlength=len(pair_keys)).tolist()):
        if k:
            exposure[masks[c]] += k
    several_owner, several_code = owner[~alone].tolist(), code[~alone].tolist()
    mask, current = 0, -1
    for o, c in zip(several_owner, several_code, strict=True):
        if o != current:
            if current >= 0:
                exposure[mask] += 1
            mask, current = 0, o
        mask |= masks[c]
    if current >= 0:
        exposure[mask] += 1
    rows = np.bincount(slots, minlength=len(ids)).tolist()
    people = [sum(k for bits, k in regions.items() if bits >> i & 1) for i in range(len(ids))]
    no_token = np.ones(n, dtype=bool)
    for hi, lo in columns.tokens:
        no_token &= (hi | lo) == 0
    per_person = np.bincount(person, minlength=count)
    overlaps = []
    for size in range(2, len(ids) + 1):
        for subset in combinations(range(len(ids)), size):
            wanted = sum(1 << i for i in subset)
            k = sum(c for bits, c in regions.items() if bits & wanted == wanted)
            if k or size == 2:
                overlaps.append({"datasets": [ids[i] for i in subset], "people": k})

    def names_of(bits: int, table: list[Any]) -> list[Any]:
        return [table[i] for i in range(len(table)) if bits >> i & 1]

    return {
        "unique_people": count,
        "rows": n,
        "unlinkable_rows": int(no_token.sum()),
        "linked_records": int(per_person[per_person > 1].sum()),
        "range_without_linking": [max(people, default=0), n],
        "datasets": [
            {"id": pk, "name": d.name, "rows": rows[i], "people": people[i]}
            for i, (pk, d) in enumerate(zip(ids, datasets, strict=True))
        ],
        "overlaps": overlaps,
        "regions": [
            {"datasets": names_of(bits, ids), "people": k}
            for bits, k in sorted(regions.items(), key=lambda item: (-item[1], item[0]))
        ],
        "combinations": [
            {"fields": sorted(names_of(bits, all_labels)), "people": k}
            for bits, k in sorted(exposure.items(), key=lambda item: (-item[1], item[0]))
        ],
        "seconds": round(time.monotonic() - started, 3),
    }


def population_refresh(incident: Incident) -> PopulationSnapshot | None:
    """Work the figures out again for the data sets now done; None when there are none."""
    datasets = done_datasets(incident)
    if not datasets:
        PopulationSnapshot.objects.filter(incident=incident).delete()
        return None
    result = compute(datasets)
    snapshot, _ = PopulationSnapshot.objects.update_or_create(
        incident=incident,
        defaults={"datasets": sorted(d.pk for d in datasets), "result": result, "computed_at": timezone.now()},
    )
    return snapshot


def population_get(incident: Incident) -> PopulationSnapshot | None:
    """The figures for the data sets done now, worked out again if they have changed."""
    snapshot = PopulationSnapshot.objects.filter(incident=incident).first()
    current = sorted(
        LostDataSet.objects.filter(incident=incident, status=DataSetStatus.DONE).values_list("pk", flat=True)
    )
    if snapshot is not None and snapshot.datasets == current:
        return snapshot
    return population_refresh(incident)


def exact_people(incident: Incident) -> int | None:
    """The exact number of people in the incident's lost data sets, where it is known."""
    snapshot = population_get(incident)
    return int(snapshot.result["unique_people"]) if snapshot is not None else None


# --- Enquiries ------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    dataset_id: int
    name: str
    fields: list[str]


@dataclass(frozen=True)
class LookupResult:
    found: bool
    datasets: list[Found]

    @property
    def fields(self) -> list[str]:
        seen: list[str] = []
        for d in self.datasets:
            seen.extend(f for f in d.fields if f not in seen)
        return seen


def lookup_errors(identifiers: Mapping[str, object]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The normalised identifiers, and errors naming each one that cannot be read."""
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for kind in LOOKUP_KINDS:
        raw = identifiers.get(kind)
        if raw is None or not str(raw).strip():
            continue
        value = normalise(kind, raw)
        if value is None:
            errors[kind] = [f"This is not a {IdentifierType(kind).label.lower()} that can be read."]
        else:
            values[kind] = value
    for unknown in sorted(set(identifiers) - set(LOOKUP_KINDS)):
        errors[unknown] = ["Look people up by full name with date of birth, PNC ID, prison number or NI number."]
    strong = any(kind in values for kind in STRONG)
    pair = IdentifierType.FULL_NAME in values and IdentifierType.DATE_OF_BIRTH in values
    if not errors and not (strong or pair):
        errors["__all__"] = [
            "Give a PNC ID, prison number or NI number, or a full name with a date of birth: "
            "nothing less identifies one person."
        ]
    return values, errors


def lookup(incident: Incident, values: Mapping[str, str]) -> LookupResult:
    """Which of the incident's data sets held this person, and which fields: every record
    linked to them, directly or through another record, as the counting does."""
    datasets = {d.pk: d for d in done_datasets(incident)}
    if not datasets:
        return LookupResult(False, [])
    ring = keyring()
    wanted: dict[str, set[uuid.UUID]] = {c: set() for c in TOKEN_COLUMNS}
    for version in {d.key_version for d in datasets.values()}:
        tokens = Tokeniser(ring, version)
        for kind in STRONG:
            if kind in values:
                wanted[kind].add(uuid.UUID(bytes=tokens(kind, values[kind])))
        if IdentifierType.FULL_NAME in values and IdentifierType.DATE_OF_BIRTH in values:
            pair = f"{values[IdentifierType.FULL_NAME]}\x1f{values[IdentifierType.DATE_OF_BIRTH]}"
            wanted[NAME_DOB].add(uuid.UUID(bytes=tokens(NAME_DOB, pair)))
    found: dict[tuple[int, int], int] = {}  # (data set, row) -> exposed-field bits
    asked: dict[str, set[uuid.UUID]] = {c: set() for c in TOKEN_COLUMNS}
    while any(wanted[c] - asked[c] for c in TOKEN_COLUMNS):
        query = Q()
        for column in TOKEN_COLUMNS:
            new = wanted[column] - asked[column]
            if new:
                query |= Q(**{f"{column}__in": new})
                asked[column] |= new
        rows = PersonRecord.objects.filter(query, dataset_id__in=list(datasets)).values_list(
            "dataset_id", "row", "fields", *TOKEN_COLUMNS
        )
        for dataset, row, bits, *tokens_of in rows:
            if (dataset, row) in found:
                continue
            found[(dataset, row)] = bits
            for column, value in zip(TOKEN_COLUMNS, tokens_of, strict=True):
                if value is not None:
                    wanted[column].add(value)
    bits_by_set: dict[int, int] = {}
    for (dataset, _row), bits in found.items():
        bits_by_set[dataset] = bits_by_set.get(dataset, 0) | bits
    result = []
    for pk, d in datasets.items():
        if pk in bits_by_set:
            labels = list(d.labels)
            result.append(Found(pk, d.name, [labels[i] for i in range(len(labels)) if bits_by_set[pk] >> i & 1]))
    return LookupResult(bool(result), result)


def enquiry_lookup(*, enquiry: Enquiry, actor: User, identifiers: Mapping[str, object]) -> LookupResult:
    """Answer a verified enquirer from the data sets, and record the answer on the enquiry
    (whether data was held, and which fields) for the letter. The identifiers given are not
    kept; the audit trail records that a lookup was made and what it found."""
    from incidents.services.tracker import enquiry_update

    if not enquiry.identity_verified:
        raise ValidationError(
            {"enquiry": ["Record that the enquirer's identity has been verified before looking them up."]}
        )
    values, errors = lookup_errors(identifiers)
    if errors:
        raise ValidationError(errors)
    if not done_datasets(enquiry.incident):
        raise ValidationError({"__all__": ["No data set of this incident has been processed yet."]})
    started = time.monotonic()
    result = lookup(enquiry.incident, values)
    with transaction.atomic():
        enquiry_update(
            enquiry=enquiry,
            actor=actor,
            changes={"data_held": result.found, "fields_held": ", ".join(result.fields)},
        )
        audit_record(
            actor=actor,
            action="population.lookup",
            object_type="enquiry",
            object_id=enquiry.pk,
            incident_ref=enquiry.incident.reference,
            after={
                "found": result.found,
                "datasets": [d.dataset_id for d in result.datasets],
                "identifiers_used": sorted(values),
                "ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
    return result
