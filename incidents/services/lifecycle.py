"""Status changes: explicit transitions, each allowed to named roles, audited. Closing is
refused until the incident was handled properly (PC02-11): the message lists what is
missing."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from breachdesk.audit import audit_record
from breachdesk.choices import Role
from breachdesk.selectors import user_has_role
from notifications.services.deadlines import investigation_start

from ..choices import Status, TimelineKind
from ..models import Incident, TimelineEntry
from ..selectors import closure_missing, containment_missing
from .plan import PLAN_ROLES

# PC02-11: the Chief Officer (or deputy) owns the incident until it is closed; the SIRO owns
# information risk for the whole organisation.
CLOSERS = frozenset({Role.CHIEF_OFFICER, Role.DEPUTY_CHIEF_OFFICER, Role.SIRO})


@dataclass(frozen=True)
class Transition:
    source: Status
    target: Status
    label: str
    roles: frozenset[Role]
    reason_required: bool = False
    reason_label: str = ""


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Status.REPORTED, Status.UNDER_INVESTIGATION, "Start the investigation", PLAN_ROLES),
    Transition(Status.UNDER_INVESTIGATION, Status.CONTAINED, "Mark as contained", PLAN_ROLES),
    Transition(
        Status.CONTAINED, Status.UNDER_INVESTIGATION, "Back to investigation", PLAN_ROLES, True, "What has changed"
    ),
    Transition(Status.UNDER_INVESTIGATION, Status.CLOSED, "Close the incident", CLOSERS),
    Transition(Status.CONTAINED, Status.CLOSED, "Close the incident", CLOSERS),
    Transition(
        Status.CLOSED, Status.UNDER_INVESTIGATION, "Re-open the incident", CLOSERS | {Role.DPO}, True, "Why re-open it"
    ),
)


def transitions_from(status: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == status]


def transitions_for_user(incident: Incident, user: User) -> list[Transition]:
    return [t for t in transitions_from(incident.status) if user_has_role(user, t.roles)]


def incident_transition(*, incident: Incident, actor: User, target: str, reason: str = "") -> Incident:
    """Move the incident to ``target``, or explain exactly why not."""
    if target not in Status.values:
        raise ValidationError({"status": ["Choose a status from the list"]})
    reason = (reason or "").strip()
    if len(reason) > 5_000:
        raise ValidationError({"reason": ["The reason must be 5,000 characters or fewer"]})
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",), no_key=True).get(pk=incident.pk)
        transition = next((t for t in transitions_from(locked.status) if t.target == target), None)
        if transition is None:
            raise ValidationError(
                {
                    "status": [
                        f"A {locked.get_status_display().lower()} incident cannot become {Status(target).label.lower()}"
                    ]
                }
            )
        if not user_has_role(actor, transition.roles):
            raise PermissionDenied(f"You cannot {transition.label[0].lower()}{transition.label[1:]}.")
        if transition.reason_required and not reason:
            raise ValidationError({"reason": ["Give the reason"]})
        if target == Status.UNDER_INVESTIGATION and locked.status == Status.REPORTED:
            return investigation_start(incident=locked, actor=actor)
        missing: list[str] = []
        if target == Status.CONTAINED:
            missing = containment_missing(locked)
        elif target == Status.CLOSED:
            missing = [item.message for item in closure_missing(locked)]
        if missing:
            verb = "closed" if target == Status.CLOSED else "marked as contained"
            raise ValidationError({"status": [f"The incident cannot be {verb} yet:", *missing]})
        now = timezone.now()
        before = locked.status
        locked.status = target
        locked.updated_at = now
        locked.closed_at = now if target == Status.CLOSED else None
        locked.save(update_fields=["status", "updated_at", "closed_at"])
        body = f"{Status(before).label} → {Status(target).label}."
        if reason:
            body += f" Reason: {reason}"
        TimelineEntry.objects.create(
            incident=locked,
            kind=TimelineKind.STATUS_CHANGED,
            actor=actor,
            created_at=now,
            body=body,
            data={"from": before, "to": target},
        )
        audit_record(
            actor=actor,
            action="incident.status_changed",
            object_type="incident",
            object_id=locked.pk,
            incident_ref=locked.reference,
            before={"status": before},
            after={"status": target, "reason": reason},
        )
    return locked
