"""The breach management plan's writes (DOMAIN.md s.5): containment and improvement actions,
who was told, root causes and lessons learned. Each use case is one transaction that writes
its rows, a timeline entry and an audit event, or nothing at all."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from breachdesk.audit import audit_record
from breachdesk.choices import GLOBAL_ROLES, UNIT_SCOPED_ROLES, Role
from breachdesk.models import ControlCheck
from breachdesk.selectors import user_has_role
from notifications.choices import DeadlineCode
from notifications.services.deadlines import deadline_meet

from ..choices import ActionKind, ActionState, ActionTopic, NoticeMethod, Party, RootCauseKind, Status, TimelineKind
from ..models import Action, Incident, Lesson, PartyNotice, RootCause, TimelineEntry
from ..selectors import controls_citable

# Who runs the plan: everyone who manages incidents in the unit, and the SIRO and DPO.
PLAN_ROLES = UNIT_SCOPED_ROLES | GLOBAL_ROLES
DESCRIPTION_MAX = 500
TEXT_MAX = 10_000
_PARTY_DEADLINES = {Party.DATA_SUBJECTS: DeadlineCode.SUBJECTS_INFORMED}


def require_plan_role(actor: User) -> None:
    if not user_has_role(actor, PLAN_ROLES):
        raise PermissionDenied("Only managers, the ISR, ISIM, Chief Officer, SCS, DPO and SIRO can change the plan.")


def require_open(incident: Incident, *, what: str) -> None:
    if incident.status == Status.CLOSED:
        raise ValidationError({"__all__": [f"The incident is closed: re-open it to {what}"]})


def _text(value: str | None, *, field: str, label: str, required: bool = True, limit: int = TEXT_MAX) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: [f"Enter {label}"]})
    if len(text) > limit:
        raise ValidationError({field: [f"{label[0].upper()}{label[1:]} must be {limit:,} characters or fewer"]})
    return text


def _timeline(incident: Incident, actor: User, body: str, **data: Any) -> None:
    TimelineEntry.objects.create(
        incident=incident, kind=TimelineKind.PLAN, actor=actor, created_at=timezone.now(), body=body, data=data
    )


def action_create(
    *,
    incident: Incident,
    actor: User,
    kind: str,
    description: str,
    owner: User,
    due_on: date | None = None,
    topic: str = "",
) -> Action:
    """A containment step (what, owner, due) or an improvement action (evaluation and
    response) with its owner and due date."""
    require_plan_role(actor)
    require_open(incident, what="add actions")
    errors: dict[str, list[str]] = {}
    if kind not in ActionKind.values:
        errors["kind"] = ["Choose containment or improvement"]
    if topic and topic not in ActionTopic.values:
        errors["topic"] = ["Choose a topic from the list"]
    if kind == ActionKind.IMPROVEMENT and not topic:
        errors["topic"] = ["Choose what the improvement changes"]
    if kind == ActionKind.IMPROVEMENT and due_on is None:
        errors["due_on"] = ["Enter when the improvement is due"]
    if due_on is not None and due_on < timezone.localdate():
        errors["due_on"] = ["The due date must be today or later"]
    if not owner.is_active:
        errors["owner"] = ["Choose an owner who can sign in"]
    try:
        text = _text(description, field="description", label="what must be done", limit=DESCRIPTION_MAX)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        action = Action.objects.create(
            incident=incident,
            kind=kind,
            topic=topic if kind == ActionKind.IMPROVEMENT else "",
            description=text,
            owner=owner,
            due_on=due_on,
            created_by=actor,
            created_at=now,
        )
        _timeline(
            incident,
            actor,
            f"{ActionKind(kind).label} action: {text} (owner {owner.get_full_name() or owner.get_username()})",
            action=action.pk,
        )
        audit_record(
            actor=actor,
            action="action.created",
            object_type="action",
            object_id=action.pk,
            incident_ref=incident.reference,
            after={
                "kind": kind,
                "topic": action.topic,
                "description": text,
                "owner": owner.get_username(),
                "due_on": due_on,
            },
        )
    return action


def _can_close_action(action: Action, actor: User) -> bool:
    return action.owner_id == actor.pk or user_has_role(actor, PLAN_ROLES)


def action_finish(*, action: Action, actor: User, done: bool, text: str) -> Action:
    """Mark an action done (with what was done and the evidence) or not done (with why).
    Improvement actions can be finished after the incident is closed: they outlive it."""
    if not _can_close_action(action, actor):
        raise PermissionDenied("Only the action's owner or a manager can finish it.")
    field, label = ("outcome", "what was done") if done else ("explanation", "why it was not done")
    cleaned = _text(text, field=field, label=label)
    with transaction.atomic():
        locked = (
            Action.objects.select_for_update(of=("self",), no_key=True).select_related("incident").get(pk=action.pk)
        )
        if locked.kind == ActionKind.CONTAINMENT:
            require_open(locked.incident, what="change containment actions")
        if locked.state != ActionState.OPEN:
            raise ValidationError({"__all__": [f"This action is already {locked.get_state_display().lower()}"]})
        now = timezone.now()
        locked.state = ActionState.DONE if done else ActionState.NOT_DONE
        setattr(locked, field, cleaned)
        locked.completed_by = actor
        locked.completed_at = now
        locked.save(update_fields=["state", field, "completed_by", "completed_at"])
        _timeline(
            locked.incident,
            actor,
            f"Action {'done' if done else 'not done'}: {locked.description}. {cleaned}",
            action=locked.pk,
        )
        audit_record(
            actor=actor,
            action="action.done" if done else "action.not_done",
            object_type="action",
            object_id=locked.pk,
            incident_ref=locked.incident.reference,
            before={"state": ActionState.OPEN},
            after={"state": locked.state, field: cleaned},
        )
    return locked


def party_notice_record(
    *,
    incident: Incident,
    actor: User,
    party: str,
    method: str,
    recipient: str,
    told_at: datetime,
    summary: str,
    people_count: int | None = None,
    cleared_by: User | None = None,
) -> PartyNotice:
    """Someone other than the ICO was told: the people affected (meets the Art 34 clock),
    the police, partners, processors, a press line cleared by the Press Office (PC02-13) or a
    briefing on new developments (Day 2+)."""
    require_plan_role(actor)
    require_open(incident, what="record who was told")
    errors: dict[str, list[str]] = {}
    if party not in Party.values:
        errors["party"] = ["Choose who was told"]
    if method not in NoticeMethod.values:
        errors["method"] = ["Choose how they were told"]
    if told_at > timezone.now():
        errors["told_at"] = ["When they were told must not be in the future"]
    elif told_at < incident.discovered_at:
        errors["told_at"] = ["When they were told must not be before the incident was found out"]
    if people_count is not None and people_count < 0:
        errors["people_count"] = ["The number of people must be 0 or more"]
    if party == Party.PRESS:
        if cleared_by is None:
            errors["cleared_by"] = ["A press line must be cleared by the Press Office: choose who cleared it"]
        elif not user_has_role(cleared_by, {Role.PRESS_OFFICE}):
            errors["cleared_by"] = ["The person who cleared the press line must be in the Press Office"]
    for field, value, label, limit in (
        ("recipient", recipient, "who was told", 300),
        ("summary", summary, "what they were told", TEXT_MAX),
    ):
        try:
            _text(value, field=field, label=label, limit=limit)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        notice = PartyNotice.objects.create(
            incident=incident,
            party=party,
            method=method,
            recipient=recipient.strip(),
            told_at=told_at,
            summary=summary.strip(),
            people_count=people_count,
            cleared_by=cleared_by if party == Party.PRESS else None,
            recorded_by=actor,
            recorded_at=timezone.now(),
        )
        _timeline(incident, actor, f"Told {Party(party).label.lower()}: {notice.recipient}", notice=notice.pk)
        audit_record(
            actor=actor,
            action="notice.recorded",
            object_type="party_notice",
            object_id=notice.pk,
            incident_ref=incident.reference,
            after={
                "party": party,
                "method": method,
                "recipient": notice.recipient,
                "told_at": told_at,
                "people_count": people_count,
                "cleared_by": notice.cleared_by.get_username() if notice.cleared_by else None,
            },
        )
        code = _PARTY_DEADLINES.get(Party(party))
        if code is not None:
            deadline_meet(incident=incident, code=code, at=told_at, actor=actor)
    return notice


def root_cause_record(
    *, incident: Incident, actor: User, cause: str, detail: str = "", control: ControlCheck | None = None
) -> RootCause:
    """A root cause from the fixed, reportable list, optionally citing the control from the
    register that failed (DOMAIN.md s.7)."""
    require_plan_role(actor)
    require_open(incident, what="record root causes")
    errors: dict[str, list[str]] = {}
    if cause not in RootCauseKind.values:
        errors["cause"] = ["Choose a root cause from the list"]
    elif RootCause.objects.filter(incident=incident, cause=cause).exists():
        errors["cause"] = ["This root cause is already recorded for the incident"]
    try:
        text = _text(detail, field="detail", label="the details", required=cause == RootCauseKind.OTHER)
    except ValidationError as error:
        errors.update(error.message_dict)
        text = ""
    if control is not None and not controls_citable(incident).filter(pk=control.pk).exists():
        errors["control"] = [
            "The control must be one recorded for the incident's unit, the units above it, or its processor"
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        row = RootCause.objects.create(
            incident=incident,
            cause=cause,
            detail=text,
            control=control,
            recorded_by=actor,
            recorded_at=timezone.now(),
        )
        _timeline(incident, actor, f"Root cause: {RootCauseKind(cause).label}", root_cause=row.pk)
        audit_record(
            actor=actor,
            action="root_cause.recorded",
            object_type="root_cause",
            object_id=row.pk,
            incident_ref=incident.reference,
            after={"cause": cause, "detail": text, "control": control.pk if control else None},
        )
    return row


def lesson_record(*, incident: Incident, actor: User, text: str) -> Lesson:
    """Day 2+: the ISIM records lessons learned with the unit."""
    require_plan_role(actor)
    require_open(incident, what="record lessons learned")
    cleaned = _text(text, field="text", label="the lesson learned")
    with transaction.atomic():
        lesson = Lesson.objects.create(incident=incident, text=cleaned, recorded_by=actor, recorded_at=timezone.now())
        _timeline(incident, actor, f"Lesson learned: {cleaned}", lesson=lesson.pk)
        audit_record(
            actor=actor,
            action="lesson.recorded",
            object_type="lesson",
            object_id=lesson.pk,
            incident_ref=incident.reference,
            after={"text": cleaned},
        )
    return lesson
