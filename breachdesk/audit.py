"""The audit trail: append events to a hash chain and verify it.

Every service writes its audit event through ``audit_record`` inside its own transaction,
so a change and its audit event are committed together or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .db import insert_rows
from .models import AuditChainHead, AuditCheckpoint, AuditEvent

GENESIS_HASH = "0" * 64


def _canonical(value: Any) -> Any:
    """What the database will give back for ``value``: JSON types only."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def event_hash(
    *,
    seq: int,
    occurred_at: datetime,
    actor_id: int | None,
    actor_username: str,
    action: str,
    object_type: str,
    object_id: str,
    incident_ref: str,
    before: Any,
    after: Any,
    prev_hash: str,
) -> str:
    payload = {
        "seq": seq,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(),
        "actor_id": actor_id,
        "actor_username": actor_username,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "incident_ref": incident_ref,
        "before": before,
        "after": after,
        "prev_hash": prev_hash,
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


class AuditBatch:
    """The events of one use case, appended together when it ends (``audit_batch``)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.renames: dict[str, str] = {}

    def rename_incident(self, provisional: str, reference: str) -> None:
        """The incident these events name got its reference only at the end of the use case:
        where they say ``provisional`` (as their incident or as a value in before/after),
        they will say ``reference``. ``provisional`` must be unguessable (e.g. a UUID)."""
        self.renames[provisional] = reference

    def _renamed(self, event: dict[str, Any]) -> dict[str, Any]:
        def rename(value: Any) -> Any:
            return self.renames.get(value, value) if isinstance(value, str) else value

        out = dict(event, incident_ref=rename(event["incident_ref"]))
        for key in ("before", "after"):
            if isinstance(event[key], dict):
                out[key] = {k: rename(v) for k, v in event[key].items()}
        return out


_batch: ContextVar[AuditBatch | None] = ContextVar("breachdesk_audit_batch", default=None)


@contextmanager
def audit_batch() -> Iterator[AuditBatch]:
    """Collect a use case's audit events and append them together when it ends, still inside
    its transaction: one lock of the chain's head, one insert, one update, and the lock is
    held from there to the commit instead of from the use case's first event. Nested
    batches join the outer one; an exception discards the events with everything else."""
    outer = _batch.get()
    if outer is not None:
        yield outer
        return
    batch = AuditBatch()
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)
    if batch.events:
        _append([batch._renamed(event) for event in batch.events] if batch.renames else batch.events)


def audit_record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    object_type: str,
    object_id: str | int = "",
    incident_ref: str = "",
    before: Any = None,
    after: Any = None,
    actor_username: str = "",
) -> None:
    """Append one event to the chain, or to the current ``audit_batch``. Call inside the
    transaction of the change it records."""
    user = actor if actor is not None and actor.is_authenticated else None
    fields = {
        "actor_id": user.pk if user is not None else None,
        "actor_username": user.get_username() if user is not None else actor_username,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "incident_ref": incident_ref,
        "before": _canonical(before),
        "after": _canonical(after),
    }
    batch = _batch.get()
    if batch is not None:
        batch.events.append(fields)
    else:
        _append([fields])


def _append(events: list[dict[str, Any]]) -> None:
    # No savepoint: the events belong to their caller's transaction and fail with it.
    with transaction.atomic(savepoint=False):
        # The chain's lock: the head row, locked FOR UPDATE, so seq and prev_hash are taken
        # in commit order. A database with no head row yet gets one (once). The head is read
        # and written with plain SQL: every change of every use case passes here, and the
        # ORM took longer to build these two statements than the database took to run them.
        seq, prev = _head_locked()
        rows = []
        for fields in events:
            seq += 1
            occurred_at = timezone.now()
            digest = event_hash(seq=seq, occurred_at=occurred_at, prev_hash=prev, **fields)
            rows.append(AuditEvent(seq=seq, occurred_at=occurred_at, prev_hash=prev, hash=digest, **fields))
            prev = digest
        insert_rows(AuditEvent, rows)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {_HEAD} SET seq = %s, hash = %s WHERE id = 1", [seq, prev])  # noqa: S608


_HEAD = AuditChainHead._meta.db_table


def _head_locked() -> tuple[int, str]:
    """The chain's head (sequence number and hash), locked until the transaction ends."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = f"SELECT seq, hash FROM {_HEAD} WHERE id = 1{lock}"  # noqa: S608 - fixed SQL
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
        if row is None:
            AuditChainHead.objects.get_or_create(id=1)
            cursor.execute(sql)
            row = cursor.fetchone()
    return int(row[0]), str(row[1])


def change_key(prefix: str, *parts: Any) -> str:
    """A cache key that changes whenever anything is recorded. It holds the head of the audit
    chain, and every change anywhere is an audit event written in the change's own
    transaction, so what is cached under the key is worked out again after any change; with
    nothing recorded, it is one small read and one cache read."""
    head = AuditChainHead.objects.filter(id=1).values_list("seq", "hash").first() or (0, "")
    key = json.dumps([list(head), *parts], default=str)
    return f"{prefix}:{hashlib.sha256(key.encode()).hexdigest()}"


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    first_bad: int | None
    reason: str = ""
    checkpoints: int = 0


# --- Checkpoints: anchoring the chain outside the database ----------------------------


def _checkpoint_key() -> bytes:
    key = getattr(settings, "AUDIT_CHECKPOINT_KEY", "") or ""
    return key.encode() if key else salted_hmac("breachdesk.audit.checkpoint", "key").digest()


def checkpoint_signature(seq: int, head: str, made_at: datetime) -> str:
    message = f"{seq}:{head}:{made_at.astimezone(UTC).isoformat()}".encode()
    return hmac.new(_checkpoint_key(), message, hashlib.sha256).hexdigest()


def audit_checkpoint() -> AuditCheckpoint:
    """Record the chain's head now, signed, in the database and at the end of
    ``AUDIT_CHECKPOINT_FILE`` (one JSON object a line), to be copied somewhere the database's
    administrators cannot write."""
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(id=1).first()
        seq, digest = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
        made_at = timezone.now()
        checkpoint = AuditCheckpoint.objects.create(
            seq=seq, hash=digest, made_at=made_at, signature=checkpoint_signature(seq, digest, made_at)
        )
    path = Path(settings.AUDIT_CHECKPOINT_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(checkpoint_as_dict(checkpoint)) + "\n")
    return checkpoint


def checkpoint_as_dict(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "made_at": checkpoint.made_at.astimezone(UTC).isoformat(),
        "signature": checkpoint.signature,
    }


def checkpoints_from_file(path: Path) -> list[AuditCheckpoint]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            rows.append(
                AuditCheckpoint(
                    seq=int(data["seq"]),
                    hash=str(data["hash"]),
                    made_at=datetime.fromisoformat(data["made_at"]),
                    signature=str(data["signature"]),
                )
            )
    return rows


def _check_checkpoints(checkpoints: list[AuditCheckpoint], hashes: dict[int, tuple[int, str]]) -> VerifyResult | None:
    for cp in checkpoints:
        if not hmac.compare_digest(cp.signature, checkpoint_signature(cp.seq, cp.hash, cp.made_at)):
            return VerifyResult(False, 0, None, f"checkpoint at #{cp.seq} has a bad signature")
        if cp.seq == 0:
            continue
        found = hashes.get(cp.seq)
        if found is None:
            return VerifyResult(False, 0, None, f"event #{cp.seq}, signed in a checkpoint, is missing")
        if found[1] != cp.hash:
            return VerifyResult(
                False, 0, found[0], f"event #{cp.seq} differs from the checkpoint signed {cp.made_at:%Y-%m-%d %H:%M}"
            )
    return None


def audit_verify(*, chunk_size: int = 5000, checkpoints: list[AuditCheckpoint] | None = None) -> VerifyResult:
    """Recompute every event's hash in sequence order; name the first event that fails.

    Detects an edited field (hash mismatch), a deleted or inserted event (broken link or a
    gap in the sequence) and a rewritten tail (the head no longer matches the last event).
    Then holds the chain to the signed checkpoints (those in the database, and any given,
    e.g. read from a copy of ``AUDIT_CHECKPOINT_FILE`` kept elsewhere): a history rewritten
    with every hash recomputed no longer matches them.
    """
    anchors = list(AuditCheckpoint.objects.all()) + list(checkpoints or [])
    wanted = {cp.seq for cp in anchors}
    hashes: dict[int, tuple[int, str]] = {}
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    events = AuditEvent.objects.order_by("seq").values_list(
        "id",
        "seq",
        "occurred_at",
        "actor_id",
        "actor_username",
        "action",
        "object_type",
        "object_id",
        "incident_ref",
        "before",
        "after",
        "prev_hash",
        "hash",
    )
    for row in events.iterator(chunk_size=chunk_size):
        (
            pk,
            seq,
            occurred_at,
            actor_id,
            actor_username,
            action,
            object_type,
            object_id,
            incident_ref,
            before,
            after,
            stored_prev,
            stored_hash,
        ) = row
        count += 1
        if seq != expected_seq:
            return VerifyResult(False, count, pk, f"sequence gap: expected {expected_seq}, found {seq}")
        if stored_prev != prev_hash:
            return VerifyResult(False, count, pk, "link to the previous event is broken")
        digest = event_hash(
            seq=seq,
            occurred_at=occurred_at,
            actor_id=actor_id,
            actor_username=actor_username,
            action=action,
            object_type=object_type,
            object_id=object_id,
            incident_ref=incident_ref,
            before=before,
            after=after,
            prev_hash=stored_prev,
        )
        if digest != stored_hash:
            return VerifyResult(False, count, pk, "event content does not match its hash")
        if seq in wanted:
            hashes[seq] = (pk, stored_hash)
        prev_hash = stored_hash
        expected_seq += 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        return VerifyResult(False, count, None, "events after the last remaining one were removed")
    if (bad := _check_checkpoints(anchors, hashes)) is not None:
        return VerifyResult(False, count, bad.first_bad, bad.reason, len(anchors))
    return VerifyResult(True, count, None, "", len(anchors))
