"""Statutory and procedural clocks (API.md ``deadlines``): start, meet, miss, decide."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from breachdesk.audit import audit_record
from breachdesk.choices import Role
from breachdesk.selectors import user_has_role
from incidents.choices import Status, TimelineKind
from incidents.models import Incident, TimelineEntry

from ..choices import DeadlineCode, DeadlineState, IcoSubmissionKind, NotificationPurpose, TimerKind
from ..clocks import NATIONAL_INFORMED_WITHIN, initial_deadlines
from ..models import Deadline, IcoSubmission, Timer
from ..recipients import holders_nearest
from .timers import TimerSpec, _id, timer_arm, timers_arm, timers_cancel

REASON_MAX = 5_000
ICO_DECIDERS = frozenset({Role.DPO, Role.SIRO})
ICO_RECORDERS = frozenset({Role.DPO, Role.SIRO, Role.ISIM, Role.CHIEF_OFFICER, Role.DEPUTY_CHIEF_OFFICER})


def _reason(reason: str, *, message: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError({"reason": [message]})
    if len(text) > REASON_MAX:
        raise ValidationError({"reason": [f"The reason must be {REASON_MAX:,} characters or fewer"]})
    return text


def _arm_due(deadline: Deadline) -> None:
    if deadline.due_at is not None:
        timer_arm(kind=TimerKind.DEADLINE_DUE, incident=deadline.incident, due_at=deadline.due_at, deadline=deadline)


def deadlines_start_for_incident(*, incident: Incident, actor: User) -> list[Deadline]:
    """The clocks that start when an incident is reported, with their timers and the ICO
    reminders to the DPO and SIRO."""
    planned = initial_deadlines(discovered_at=incident.discovered_at)
    rows = Deadline.objects.bulk_create(
        [Deadline(incident=incident, code=p.code, starts_at=p.starts_at, due_at=p.due_at) for p in planned]
    )
    specs = []
    for deadline in rows:
        deadline.incident = incident
        if deadline.due_at is not None:
            specs.append(TimerSpec(kind=TimerKind.DEADLINE_DUE, due_at=deadline.due_at, deadline=deadline))
        if deadline.code == DeadlineCode.ICO_NOTIFIED and deadline.starts_at is not None:
            for hours in settings.ICO_REMINDER_HOURS:
                at = deadline.starts_at + timedelta(hours=hours)
                if deadline.due_at is None or at < deadline.due_at:
                    specs.append(
                        TimerSpec(kind=TimerKind.DEADLINE_REMINDER, due_at=at, deadline=deadline, data={"hours": hours})
                    )
    timers_arm(incident=incident, specs=specs)
    audit_record(
        actor=actor,
        action="deadlines.started",
        object_type="incident",
        object_id=incident.pk,
        incident_ref=incident.reference,
        after={p.code.value: p.due_at for p in planned},
    )
    return rows


def _locked(incident: Incident, code: DeadlineCode) -> Deadline | None:
    return (
        Deadline.objects.select_for_update(of=("self",), no_key=True)
        .select_related("incident__org_unit")
        .filter(incident=incident, code=code)
        .first()
    )


def deadline_start(
    *, incident: Incident, code: DeadlineCode, starts_at: datetime, actor: User | None
) -> Deadline | None:
    """Start a clock that waits for an event: the national list's hour runs from the moment
    the Chief Officer (or deputy) is informed (PC02-8)."""
    with transaction.atomic():
        deadline = _locked(incident, code)
        if deadline is None or deadline.due_at is not None or deadline.state != DeadlineState.PENDING:
            return deadline
        deadline.starts_at = starts_at
        deadline.due_at = starts_at + NATIONAL_INFORMED_WITHIN
        deadline.save(update_fields=["starts_at", "due_at"])
        _arm_due(deadline)
        audit_record(
            actor=actor,
            action="deadline.started",
            object_type="deadline",
            object_id=deadline.pk,
            incident_ref=incident.reference,
            after={"code": code.value, "due_at": deadline.due_at},
        )
    return deadline


def deadline_meet(
    *, incident: Incident, code: DeadlineCode, at: datetime, actor: User | None, reason: str = ""
) -> Deadline | None:
    """Record that what the clock asks for has happened. Late is recorded as missed, with
    the time it was done."""
    with transaction.atomic():
        deadline = _locked(incident, code)
        if deadline is None or deadline.met_at is not None:
            return deadline
        if deadline.state not in (DeadlineState.PENDING, DeadlineState.MISSED):
            return deadline
        if deadline.state == DeadlineState.PENDING and deadline.due_at is not None and at > deadline.due_at:
            _mark_missed(deadline)
        before = {"state": deadline.state}
        deadline.met_at = at
        if deadline.state == DeadlineState.PENDING:
            deadline.state = DeadlineState.MET
        if reason:
            deadline.reason = reason
        deadline.save(update_fields=["met_at", "state", "reason"])
        timers_cancel(deadline=deadline)
        audit_record(
            actor=actor,
            action="deadline.met",
            object_type="deadline",
            object_id=deadline.pk,
            incident_ref=incident.reference,
            before=before,
            after={
                "code": code.value,
                "state": deadline.state,
                "met_at": at,
                "late": deadline.state == DeadlineState.MISSED,
            },
        )
    return deadline


def _mark_missed(deadline: Deadline) -> None:
    """Record a missed clock and tell the SIRO (who must confirm they have seen it)."""
    from .escalations import notification_create

    deadline.state = DeadlineState.MISSED
    deadline.missed_at = timezone.now()
    siros = holders_nearest(roles=(Role.SIRO,), unit_path=deadline.incident.org_unit.path)
    deadline.missed_told = [u.get_username() for u in siros]
    deadline.save(update_fields=["state", "missed_at", "missed_told"])
    for siro in siros:
        notification_create(
            incident=deadline.incident,
            recipient=siro,
            role=Role.SIRO.value,
            purpose=NotificationPurpose.DEADLINE_MISSED,
            ack_required=True,
        )
    audit_record(
        actor=None,
        action="deadline.missed",
        object_type="deadline",
        object_id=deadline.pk,
        incident_ref=deadline.incident.reference,
        after={"code": deadline.code, "due_at": deadline.due_at, "told": deadline.missed_told},
    )


def on_due_timer(timer: Timer) -> None:
    deadline = (
        Deadline.objects.select_for_update(of=("self",), no_key=True)
        .select_related("incident__org_unit")
        .get(pk=_id(timer.deadline_id))
    )
    if deadline.state == DeadlineState.PENDING and deadline.due_at is not None and deadline.due_at <= timezone.now():
        _mark_missed(deadline)


def on_reminder_timer(timer: Timer) -> None:
    """Art 33 clock reminders to the DPO and SIRO while it still runs."""
    from .escalations import notification_create

    deadline = (
        Deadline.objects.select_for_update(of=("self",), no_key=True)
        .select_related("incident__org_unit")
        .get(pk=_id(timer.deadline_id))
    )
    if deadline.state != DeadlineState.PENDING:
        return
    path = deadline.incident.org_unit.path
    told = []
    for role in (Role.DPO, Role.SIRO):
        for user in holders_nearest(roles=(role,), unit_path=path):
            notification_create(
                incident=deadline.incident,
                recipient=user,
                role=role.value,
                purpose=NotificationPurpose.DEADLINE_REMINDER,
                ack_required=False,
            )
            told.append(user.get_username())
    audit_record(
        actor=None,
        action="deadline.reminded",
        object_type="deadline",
        object_id=deadline.pk,
        incident_ref=deadline.incident.reference,
        after={"code": deadline.code, "hours": timer.data.get("hours"), "told": told},
    )


def deadline_not_required(
    *, incident: Incident, code: DeadlineCode, actor: User, reason: str, check_role: bool = True
) -> Deadline:
    """A reasoned decision that the clock does not apply (e.g. Art 33(1): unlikely to result
    in a risk to people)."""
    text = _reason(reason, message="Give the reason this is not required")
    if check_role and not user_has_role(actor, ICO_DECIDERS):
        raise PermissionDenied("Only the DPO or the SIRO can decide this.")
    with transaction.atomic():
        deadline = _locked(incident, code)
        if deadline is None:
            raise ValidationError({"code": ["This incident has no such clock"]})
        if deadline.state != DeadlineState.PENDING:
            raise ValidationError({"code": [f"This clock is already {deadline.get_state_display().lower()}"]})
        deadline.state = DeadlineState.NOT_REQUIRED
        deadline.reason = text
        deadline.decided_by = actor
        deadline.save(update_fields=["state", "reason", "decided_by"])
        timers_cancel(deadline=deadline)
        audit_record(
            actor=actor,
            action="deadline.not_required",
            object_type="deadline",
            object_id=deadline.pk,
            incident_ref=incident.reference,
            after={"code": code.value, "reason": text},
        )
    return deadline


def deadline_change_due(
    *, incident: Incident, code: DeadlineCode, actor: User, due_at: datetime, reason: str
) -> Deadline:
    """Correct when the clock runs out (e.g. awareness was later than first recorded)."""
    text = _reason(reason, message="Give the reason for changing when this is due")
    if not user_has_role(actor, ICO_DECIDERS):
        raise PermissionDenied("Only the DPO or the SIRO can change this.")
    with transaction.atomic():
        deadline = _locked(incident, code)
        if deadline is None or deadline.state != DeadlineState.PENDING:
            raise ValidationError({"due_at": ["Only a running clock can be changed"]})
        before = {"due_at": deadline.due_at}
        deadline.due_at = due_at
        deadline.reason = text
        deadline.decided_by = actor
        deadline.save(update_fields=["due_at", "reason", "decided_by"])
        timers_cancel(deadline=deadline, kinds={TimerKind.DEADLINE_DUE})
        _arm_due(deadline)
        audit_record(
            actor=actor,
            action="deadline.due_changed",
            object_type="deadline",
            object_id=deadline.pk,
            incident_ref=incident.reference,
            before=before,
            after={"due_at": due_at, "reason": text},
        )
    return deadline


def ico_submission_record(
    *,
    incident: Incident,
    actor: User,
    kind: str,
    submitted_at: datetime,
    summary: str,
    case_reference: str = "",
    late_reason: str = "",
) -> IcoSubmission:
    """Record a notification to the ICO. The first one meets the 72-hour clock; one made
    after 72 hours must give the reasons for the delay (Art 33(1))."""
    if not user_has_role(actor, ICO_RECORDERS):
        raise PermissionDenied("Only the DPO, SIRO, ISIM or Chief Officer can record this.")
    errors: dict[str, list[str]] = {}
    if kind not in IcoSubmissionKind.values:
        errors["kind"] = ["Select initial report or follow-up"]
    if not (summary or "").strip():
        errors["summary"] = ["Say what was sent to the ICO"]
    if submitted_at > timezone.now():
        errors["submitted_at"] = ["The date sent must be now or in the past"]
    if submitted_at < incident.discovered_at:
        errors["submitted_at"] = ["The date sent cannot be before the loss was discovered"]
    for field, value, limit in (
        ("summary", summary, 10_000),
        ("case_reference", case_reference, 64),
        ("late_reason", late_reason, REASON_MAX),
    ):
        if len(value or "") > limit:
            errors[field] = [f"Must be {limit:,} characters or fewer"]
    with transaction.atomic():
        deadline = _locked(incident, DeadlineCode.ICO_NOTIFIED)
        first = not IcoSubmission.objects.filter(incident=incident).exists()
        if kind == IcoSubmissionKind.FOLLOW_UP and first:
            errors.setdefault("kind", []).append("Record the initial report first")
        late = deadline is not None and deadline.due_at is not None and submitted_at > deadline.due_at
        if first and late and not (late_reason or "").strip():
            errors["late_reason"] = ["This is later than 72 hours: give the reasons for the delay (Art 33(1))"]
        if errors:
            raise ValidationError(errors)
        submission = IcoSubmission.objects.create(
            incident=incident,
            kind=kind,
            submitted_at=submitted_at,
            case_reference=case_reference.strip(),
            summary=summary.strip(),
            late_reason=(late_reason or "").strip(),
            recorded_by=actor,
            recorded_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            action="ico.submission_recorded",
            object_type="ico_submission",
            object_id=submission.pk,
            incident_ref=incident.reference,
            after={
                "kind": kind,
                "submitted_at": submitted_at,
                "case_reference": submission.case_reference,
                "late_reason": submission.late_reason,
            },
        )
        if first and deadline is not None and deadline.state in (DeadlineState.PENDING, DeadlineState.MISSED):
            deadline_meet(
                incident=incident,
                code=DeadlineCode.ICO_NOTIFIED,
                at=submitted_at,
                actor=actor,
                reason=submission.late_reason,
            )
    return submission


def investigation_start(*, incident: Incident, actor: User) -> Incident:
    """PC02-14: the investigation begins (within the first day)."""
    with transaction.atomic():
        locked = Incident.objects.select_for_update(no_key=True).get(pk=incident.pk)
        if locked.status == Status.CLOSED:
            raise ValidationError({"status": ["A closed incident cannot be investigated; re-open it first"]})
        now = timezone.now()
        deadline = deadline_meet(incident=locked, code=DeadlineCode.INVESTIGATION_STARTED, at=now, actor=actor)
        if locked.status == Status.REPORTED:
            locked.status = Status.UNDER_INVESTIGATION
            locked.updated_at = now
            locked.save(update_fields=["status", "updated_at"])
            TimelineEntry.objects.create(
                incident=locked, kind=TimelineKind.UPDATED, actor=actor, created_at=now, body="Investigation started."
            )
            audit_record(
                actor=actor,
                action="incident.status_changed",
                object_type="incident",
                object_id=locked.pk,
                incident_ref=locked.reference,
                before={"status": Status.REPORTED},
                after={"status": Status.UNDER_INVESTIGATION, "clock": deadline.state if deadline is not None else None},
            )
    return locked


def subjects_deadline_start(*, incident: Incident, assessed_at: datetime, actor: User | None) -> Deadline:
    """Art 34: once a high risk to people is assessed, tell them without undue delay. Called
    by the risk assessment; idempotent."""
    with transaction.atomic():
        deadline, created = Deadline.objects.get_or_create(
            incident=incident,
            code=DeadlineCode.SUBJECTS_INFORMED,
            defaults={
                "starts_at": assessed_at,
                "due_at": assessed_at + timedelta(hours=settings.SUBJECTS_INFORMED_WITHIN_HOURS),
            },
        )
        if created:
            _arm_due(deadline)
            audit_record(
                actor=actor,
                action="deadline.started",
                object_type="deadline",
                object_id=deadline.pk,
                incident_ref=incident.reference,
                after={"code": DeadlineCode.SUBJECTS_INFORMED.value, "due_at": deadline.due_at},
            )
    return deadline


def deadlines_follow_discovery(*, incident: Incident, old: datetime, new: datetime, actor: User) -> list[str]:
    """The loss was found out earlier than first recorded: pending clocks that run from
    discovery start earlier too. A later time never moves a clock back by itself; the DPO
    or SIRO does that with a reason (``deadline_change_due``). Returns the codes moved."""
    if new >= old:
        return []
    moved = []
    shift = old - new
    for deadline in Deadline.objects.select_for_update(no_key=True).filter(
        incident=incident, state=DeadlineState.PENDING, starts_at=old, due_at__isnull=False
    ):
        before = deadline.due_at
        deadline.starts_at = new
        deadline.due_at = (deadline.due_at or new) - shift
        deadline.save(update_fields=["starts_at", "due_at"])
        deadline.incident = incident
        timers_cancel(deadline=deadline, kinds={TimerKind.DEADLINE_DUE})
        _arm_due(deadline)
        moved.append(deadline.code)
        audit_record(
            actor=actor,
            action="deadline.due_changed",
            object_type="deadline",
            object_id=deadline.pk,
            incident_ref=incident.reference,
            before={"due_at": before},
            after={"due_at": deadline.due_at, "reason": "found out earlier than first recorded"},
        )
    return moved
