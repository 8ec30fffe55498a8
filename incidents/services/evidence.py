"""Evidence files attached to an incident, one of its actions or one of its notes: checked by
size and by content (``incidents.evidence``), hashed, stored outside the web root under a
random name, and audited when attached and when downloaded. A refused file leaves nothing
behind: no row, no file, no audit event."""

from __future__ import annotations

import hashlib
import logging
import posixpath
import unicodedata
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from breachdesk.audit import audit_record

from ..choices import TimelineKind
from ..evidence import sniff_content_type
from ..models import Action, Evidence, Incident, TimelineEntry, evidence_path, evidence_storage
from .plan import require_open

NAME_MAX = 255
logger = logging.getLogger(__name__)


def _limit_text(limit: int) -> str:
    megabytes = limit / (1024 * 1024)
    return f"{megabytes:g} MB" if megabytes >= 1 else f"{limit:,} bytes"


def _clean_name(name: str | None) -> str:
    """The name as the uploader's computer knew it, safe to show and to offer back: no folders,
    no control characters, at most 255 characters with the extension kept."""
    base = posixpath.basename((name or "").replace("\\", "/"))
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    if len(base) > NAME_MAX:
        stem, dot, ext = base.rpartition(".")
        keep = ext[:20] if dot else ""
        base = f"{stem[: NAME_MAX - len(keep) - 1]}.{keep}" if keep else base[:NAME_MAX]
    return base or "evidence"


def _digest(upload: File[Any]) -> tuple[str, int]:
    sha256 = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        sha256.update(chunk)
        size += len(chunk)
    return sha256.hexdigest(), size


def _check_parent(incident: Incident, action: Action | None, note: TimelineEntry | None) -> None:
    if action is not None and note is not None:
        raise ValidationError({"__all__": ["Attach the file to an action or to a note, not both"]})
    if action is not None and action.incident_id != incident.pk:
        raise ValidationError({"action": ["Choose one of this incident's actions"]})
    if note is not None and (note.incident_id != incident.pk or note.kind != TimelineKind.NOTE):
        raise ValidationError({"note": ["Choose one of this incident's notes"]})


def evidence_attach(
    *,
    incident: Incident,
    actor: User,
    upload: File[Any],
    action: Action | None = None,
    note: TimelineEntry | None = None,
) -> Evidence:
    """Attach a file to the incident, or to one of its actions or notes. Anyone who may see
    the incident may attach (the caller has scoped it); a closed incident takes no more."""
    require_open(incident, what="attach evidence")
    _check_parent(incident, action, note)
    limit = settings.EVIDENCE_MAX_BYTES
    too_big = f"The file must be {_limit_text(limit)} or smaller"
    if upload.size is not None and upload.size > limit:
        raise ValidationError({"file": [too_big]})
    sha256, size = _digest(upload)  # what was read, not what the client declared
    if size > limit:
        raise ValidationError({"file": [too_big]})
    if size == 0:
        raise ValidationError({"file": ["The selected file is empty"]})
    name = _clean_name(upload.name)
    try:
        content_type = sniff_content_type(upload, name)
    except ValidationError as error:
        raise ValidationError({"file": error.messages}) from error

    # Read storage from settings now, not at import: EVIDENCE_ROOT is what it is today.
    storage = evidence_storage()
    stored = storage.save(evidence_path(Evidence(incident=incident), name), upload)
    try:
        # Durable: once this block has ended the row is committed, so the file on disk never
        # outlives a row rolled back by some caller's outer transaction.
        with transaction.atomic(durable=True):
            # Closing may have happened while the file was being written.
            locked = Incident.objects.select_for_update(no_key=True).only("status").get(pk=incident.pk)
            require_open(locked, what="attach evidence")
            evidence = Evidence.objects.create(
                incident=incident,
                action=action,
                note=note,
                file=stored,
                original_name=name,
                content_type=content_type,
                size=size,
                sha256=sha256,
                uploaded_by=actor,
                uploaded_at=timezone.now(),
            )
            TimelineEntry.objects.create(
                incident=incident,
                kind=TimelineKind.PLAN,
                actor=actor,
                created_at=evidence.uploaded_at,
                body=f"Evidence attached: {name} ({content_type}, SHA-256 {sha256[:12]}…)",
                data={"evidence": evidence.pk},
            )
            audit_record(
                actor=actor,
                action="evidence.attached",
                object_type="evidence",
                object_id=evidence.pk,
                incident_ref=incident.reference,
                after={
                    "name": name,
                    "content_type": content_type,
                    "size": size,
                    "sha256": sha256,
                    "action": action.pk if action is not None else None,
                    "note": note.pk if note is not None else None,
                },
            )
    except BaseException:
        try:
            storage.delete(stored)
        except OSError:  # say so, but let the original failure be the one reported
            logger.exception("Could not remove evidence file %s after a failed attach", stored)
        raise
    return evidence


def evidence_open(*, evidence: Evidence, actor: User) -> IO[bytes]:
    """The stored file, opened for reading, and an audit event saying who took a copy. The
    caller has checked that ``actor`` may see the incident. FileNotFoundError when the file
    is missing from the store (no event is written then)."""
    handle: IO[bytes] = evidence_storage().open(evidence.file.name, "rb")
    try:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="evidence.downloaded",
                object_type="evidence",
                object_id=evidence.pk,
                incident_ref=evidence.incident.reference,
                after={"name": evidence.original_name, "sha256": evidence.sha256},
            )
    except BaseException:
        handle.close()
        raise
    return handle


def evidence_for_incident(incident: Incident) -> QuerySet[Evidence]:
    """The incident's evidence with what each row shows, in one query. A read, kept beside
    its writes until it moves to ``incidents.selectors``."""
    return (
        Evidence.objects.filter(incident=incident)
        .select_related("uploaded_by", "action", "note")
        .order_by("uploaded_at", "id")
    )
