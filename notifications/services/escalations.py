"""Escalation chains (PC02-4 to PC02-9): who is told, when, what happens without a receipt."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from breachdesk.audit import audit_record
from breachdesk.choices import Role
from incidents.models import Incident

from ..choices import (
    AckMethod,
    ApprovalState,
    DeadlineCode,
    EscalationState,
    NotificationPurpose,
    NotificationState,
    OnTimeout,
    StepTarget,
    StepTrigger,
    TimerKind,
)
from ..models import Approval, Escalation, EscalationPolicy, Notification, Timer
from ..recipients import alternates_of, holders_nearest, resolve_step
from .timers import _id, timer_arm, timers_cancel

REASON_MAX = 5_000


def policy_snapshot(policy: EscalationPolicy) -> list[dict[str, Any]]:
    """The policy's steps frozen as plain data (Grafana OnCall's escalation snapshot)."""
    return [
        {
            "order": s.order,
            "name": s.name,
            "targets": list(s.targets),
            "trigger": s.trigger,
            "due_offset_s": int(s.due_offset.total_seconds()),
            "ack_required": s.ack_required,
            "ack_timeout_s": int(s.ack_timeout.total_seconds()),
            "on_timeout": s.on_timeout,
            "reminder_interval_s": int(s.reminder_interval.total_seconds()) if s.reminder_interval else None,
            "max_reminders": s.max_reminders,
            "approver_target": s.approver_target,
            "meets_deadline": s.meets_deadline,
            "starts_deadline": s.starts_deadline,
        }
        for s in policy.steps.order_by("order")
    ]


def step_of(escalation: Escalation, order: int) -> dict[str, Any] | None:
    return next((s for s in escalation.snapshot if s["order"] == order), None)


def _step_required(escalation: Escalation, order: int) -> dict[str, Any]:
    step = step_of(escalation, order)
    if step is None:
        raise LookupError(f"escalation {escalation.pk} has no step {order}")
    return step


def escalation_start(*, incident: Incident, actor: User) -> Escalation | None:
    """Start the default policy's chain for a newly reported incident (PC02-10: at once)."""
    policy = EscalationPolicy.objects.filter(is_default=True).first()
    if policy is None:
        audit_record(
            actor=actor,
            action="escalation.no_policy",
            object_type="incident",
            object_id=incident.pk,
            incident_ref=incident.reference,
        )
        return None
    now = timezone.now()
    escalation = Escalation.objects.create(
        incident=incident, policy=policy, snapshot=policy_snapshot(policy), started_at=now
    )
    audit_record(
        actor=actor,
        action="escalation.started",
        object_type="escalation",
        object_id=escalation.pk,
        incident_ref=incident.reference,
        after={"policy": policy.name, "steps": len(escalation.snapshot)},
    )
    for step in escalation.snapshot:
        if step["trigger"] == StepTrigger.REPORTED:
            step_start(escalation=escalation, order=step["order"], actor=actor)
    return escalation


def step_start(
    *, escalation: Escalation, order: int, actor: User | None, people: list[tuple[User, list[str]]] | None = None
) -> list[Notification]:
    step = _step_required(escalation, order)
    incident = escalation.incident
    unresolved: list[str] = []
    if people is None:
        resolved, unresolved = resolve_step(targets=step["targets"], incident=incident)
        people = list(resolved.values())
    created = [
        notification_create(
            incident=incident,
            escalation=escalation,
            step=order,
            role=", ".join(roles),
            recipient=user,
            ack_required=step["ack_required"],
        )
        for user, roles in people
    ]
    if escalation.current_step < order:
        escalation.current_step = order
        escalation.save(update_fields=["current_step"])
    audit_record(
        actor=actor,
        action="escalation.step_started",
        object_type="escalation",
        object_id=escalation.pk,
        incident_ref=incident.reference,
        after={
            "step": order,
            "name": step["name"],
            "recipients": [u.get_username() for u, _ in people],
            "unfilled_roles": unresolved,
        },
    )
    if not created:
        # Nobody holds the roles: never let the chain stop silently.
        _tell_siro(incident=incident, escalation=escalation, step=order, replaces=None, actor=actor)
    return created


def notification_create(
    *,
    incident: Incident,
    recipient: User,
    role: str,
    escalation: Escalation | None = None,
    step: int = 0,
    ack_required: bool = True,
    purpose: NotificationPurpose = NotificationPurpose.ESCALATION,
    replaces: Notification | None = None,
) -> Notification:
    now = timezone.now()
    notification = Notification.objects.create(
        escalation=escalation,
        incident=incident,
        step=step,
        role=role,
        recipient=recipient,
        purpose=purpose,
        ack_required=ack_required,
        created_at=now,
        link_nonce=secrets.token_urlsafe(24),
        replaces=replaces,
    )
    timer_arm(kind=TimerKind.NOTIFICATION_SEND, incident=incident, due_at=now, notification=notification)
    return notification


def _already_told(escalation: Escalation | None, step: int, user: User) -> bool:
    return Notification.objects.filter(escalation=escalation, step=step, recipient=user).exists()


def _tell_siro(
    *, incident: Incident, escalation: Escalation | None, step: int, replaces: Notification | None, actor: User | None
) -> Notification | None:
    for siro in holders_nearest(roles=(Role.SIRO,), unit_path=incident.org_unit.path):
        if not _already_told(escalation, step, siro):
            return notification_create(
                incident=incident,
                escalation=escalation,
                step=step,
                role=StepTarget.SIRO.value,
                recipient=siro,
                replaces=replaces,
            )
    audit_record(
        actor=actor,
        action="escalation.exhausted",
        object_type="incident",
        object_id=incident.pk,
        incident_ref=incident.reference,
        after={"step": step},
    )
    return None


def escalate_unconfirmed(*, notification: Notification, reason: str) -> Notification | None:
    """No receipt (or no delivery): tell the recipient's alternate, else the SIRO (PC02-6:
    "in their absence, another manager"). The caller holds the notification's lock."""
    if notification.state == NotificationState.SENT:
        notification.state = NotificationState.ESCALATED
    replacement: Notification | None = None
    escalation = notification.escalation
    for alternate in alternates_of(notification.recipient):
        if not _already_told(escalation, notification.step, alternate):
            replacement = notification_create(
                incident=notification.incident,
                escalation=escalation,
                step=notification.step,
                role=f"{notification.role} (alternate for {notification.recipient.get_username()})",
                recipient=alternate,
                ack_required=notification.ack_required,
                replaces=notification,
            )
            break
    if replacement is None:
        replacement = _tell_siro(
            incident=notification.incident,
            escalation=escalation,
            step=notification.step,
            replaces=notification,
            actor=None,
        )
    notification.escalated_to = replacement
    notification.save(update_fields=["state", "escalated_to"])
    audit_record(
        actor=None,
        action="notification.escalated",
        object_type="notification",
        object_id=notification.pk,
        incident_ref=notification.incident.reference,
        after={"reason": reason, "to": replacement.recipient.get_username() if replacement else None},
    )
    return replacement


def on_timeout_timer(timer: Timer) -> None:
    notification = (
        Notification.objects.select_for_update(of=("self",), no_key=True)
        .select_related("incident__org_unit", "escalation", "recipient")
        .get(pk=_id(timer.notification_id))
    )
    if notification.state != NotificationState.SENT:
        return  # confirmed, withdrawn or already escalated
    step = step_of(notification.escalation, notification.step) if notification.escalation else None
    action = step["on_timeout"] if step else OnTimeout.SIRO
    if action == OnTimeout.PHONE:
        _remind_or_prompt_phone(notification, step)
    elif action == OnTimeout.ALTERNATE:
        escalate_unconfirmed(notification=notification, reason="no receipt by the timeout")
    elif action == OnTimeout.SIRO:
        notification.state = NotificationState.ESCALATED
        notification.escalated_to = _tell_siro(
            incident=notification.incident,
            escalation=notification.escalation,
            step=notification.step,
            replaces=notification,
            actor=None,
        )
        notification.save(update_fields=["state", "escalated_to"])
        audit_record(
            actor=None,
            action="notification.escalated",
            object_type="notification",
            object_id=notification.pk,
            incident_ref=notification.incident.reference,
            after={"reason": "no receipt by the timeout", "to": "siro"},
        )
    elif action == OnTimeout.NEXT_STEP and notification.escalation is not None:
        notification.state = NotificationState.ESCALATED
        notification.save(update_fields=["state"])
        audit_record(
            actor=None,
            action="notification.escalated",
            object_type="notification",
            object_id=notification.pk,
            incident_ref=notification.incident.reference,
            after={"reason": "no receipt by the timeout", "to": "next step"},
        )
        _start_following(notification.escalation, notification.step, actor=None)


def _remind_or_prompt_phone(notification: Notification, step: dict[str, Any] | None) -> None:
    """PC02-9: sending is not enough. Remind by email; then ask the sender to phone."""
    max_reminders = step["max_reminders"] if step else 0
    interval = timedelta(seconds=(step or {}).get("reminder_interval_s") or 900)
    if notification.reminders_sent < max_reminders:
        timer_arm(
            kind=TimerKind.NOTIFICATION_REMINDER,
            incident=notification.incident,
            due_at=timezone.now(),
            notification=notification,
        )
        timer_arm(
            kind=TimerKind.NOTIFICATION_TIMEOUT,
            incident=notification.incident,
            due_at=timezone.now() + interval,
            notification=notification,
        )
        return
    notification.phone_prompted = True
    notification.save(update_fields=["phone_prompted"])
    audit_record(
        actor=None,
        action="notification.phone_prompted",
        object_type="notification",
        object_id=notification.pk,
        incident_ref=notification.incident.reference,
        after={"recipient": notification.recipient.get_username(), "role": notification.role},
    )


def on_reminder_timer(timer: Timer) -> None:
    from .delivery import notification_remind

    notification_remind(notification_id=timer.notification_id)


def notification_acknowledge(
    *, notification_id: int, by: User | None, method: AckMethod, note: str = "", source: str = ""
) -> tuple[Notification, bool]:
    """Record a receipt. Returns (notification, newly acknowledged). Stops this recipient's
    timers and withdraws the alternates asked in their place."""
    if method == AckMethod.PHONE and not note.strip():
        raise ValidationError({"note": ["Say who you spoke to and what they confirmed"]})
    if len(note) > REASON_MAX:
        raise ValidationError({"note": [f"The note must be {REASON_MAX:,} characters or fewer"]})
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",), no_key=True)
            .select_related("incident__org_unit", "escalation", "recipient")
            .get(pk=_id(notification_id))
        )
        if notification.state == NotificationState.ACKNOWLEDGED:
            return notification, False
        if notification.state == NotificationState.CANCELLED:
            raise ValidationError({"notification": ["This notification was withdrawn: nothing to confirm"]})
        now = timezone.now()
        before = {"state": notification.state}
        notification.state = NotificationState.ACKNOWLEDGED
        notification.acknowledged_at = now
        notification.acknowledged_by = by
        notification.ack_method = method
        notification.ack_note = note.strip()
        notification.ack_from = source[:200]
        notification.link_nonce = ""  # the signed link is single use
        notification.save(
            update_fields=[
                "state",
                "acknowledged_at",
                "acknowledged_by",
                "ack_method",
                "ack_note",
                "ack_from",
                "link_nonce",
            ]
        )
        timers_cancel(notification=notification)
        withdrawn = _withdraw_replacements(notification)
        audit_record(
            actor=by,
            action="notification.acknowledged",
            object_type="notification",
            object_id=notification.pk,
            incident_ref=notification.incident.reference,
            before=before,
            after={
                "method": AckMethod(method).value,
                "recipient": notification.recipient.get_username(),
                "note": notification.ack_note,
                "from": notification.ack_from,
                "withdrawn": withdrawn,
            },
        )
        if notification.escalation is not None:
            _after_ack(notification, actor=by)
    return notification, True


def _withdraw_replacements(notification: Notification) -> list[int]:
    withdrawn = []
    current = notification.escalated_to
    while current is not None:
        locked = Notification.objects.select_for_update(no_key=True).get(pk=current.pk)
        if locked.state in (NotificationState.SCHEDULED, NotificationState.SENT):
            locked.state = NotificationState.CANCELLED
            locked.save(update_fields=["state"])
            timers_cancel(notification=locked)
            withdrawn.append(locked.pk)
        current = locked.escalated_to
    return withdrawn


def _after_ack(notification: Notification, *, actor: User | None) -> None:
    from .deadlines import deadline_meet, deadline_start

    escalation = notification.escalation
    if escalation is None:
        return
    step = step_of(escalation, notification.step)
    if step is None:
        return
    incident = notification.incident
    chief_roles = {Role.CHIEF_OFFICER.value, Role.DEPUTY_CHIEF_OFFICER.value}
    if step["starts_deadline"] and chief_roles & {r.strip() for r in notification.role.split(",")}:
        deadline_start(
            incident=incident,
            code=DeadlineCode(step["starts_deadline"]),
            starts_at=notification.acknowledged_at or timezone.now(),
            actor=actor,
        )
    _start_following(escalation, notification.step, actor=actor)
    if step["meets_deadline"] and step_satisfied(escalation, notification.step):
        deadline_meet(
            incident=incident,
            code=DeadlineCode(step["meets_deadline"]),
            at=notification.acknowledged_at or timezone.now(),
            actor=actor,
        )
        if notification.step == max(s["order"] for s in escalation.snapshot):
            escalation_complete(escalation=escalation, actor=actor)


def _start_following(escalation: Escalation, order: int, *, actor: User | None) -> None:
    nxt = step_of(escalation, order + 1)
    if nxt is None:
        return
    if nxt["trigger"] == StepTrigger.PREVIOUS_ACKNOWLEDGED:
        if not Notification.objects.filter(escalation=escalation, step=nxt["order"]).exists():
            step_start(escalation=escalation, order=nxt["order"], actor=actor)
    elif nxt["trigger"] == StepTrigger.APPROVAL_GIVEN:
        approval_create(escalation=escalation, order=nxt["order"], actor=actor)


def step_satisfied(escalation: Escalation, order: int) -> bool:
    """Every recipient confirmed: nobody is still waiting, nothing failed, and at least one
    receipt (an escalated recipient counts through whoever replaced them)."""
    states = list(Notification.objects.filter(escalation=escalation, step=order).values_list("state", flat=True))
    waiting = {NotificationState.SCHEDULED, NotificationState.SENT, NotificationState.FAILED}
    return NotificationState.ACKNOWLEDGED in states and not waiting & set(states)


def escalation_complete(*, escalation: Escalation, actor: User | None) -> None:
    if escalation.state != EscalationState.RUNNING:
        return
    escalation.state = EscalationState.COMPLETED
    escalation.ended_at = timezone.now()
    escalation.save(update_fields=["state", "ended_at"])
    audit_record(
        actor=actor,
        action="escalation.completed",
        object_type="escalation",
        object_id=escalation.pk,
        incident_ref=escalation.incident.reference,
    )


def approval_create(*, escalation: Escalation, order: int, actor: User | None) -> Approval | None:
    step = _step_required(escalation, order)
    if Approval.objects.filter(escalation=escalation, step=order).exists():
        return None
    incident = escalation.incident
    resolved, unresolved = resolve_step(targets=step["targets"], incident=incident)
    from ..recipients import resolve_target

    approvers = [r.user for r in resolve_target(target=step["approver_target"], incident=incident) if r.user]
    proposed: list[dict[str, Any]] = [
        {
            "user_id": user.pk,
            "username": user.get_username(),
            "name": user.get_full_name() or user.get_username(),
            "roles": roles,
        }
        for user, roles in resolved.values()
    ] + [{"user_id": None, "username": "", "name": "", "roles": [role]} for role in unresolved]
    approval = Approval.objects.create(
        escalation=escalation,
        incident=incident,
        step=order,
        approver_role=step["approver_target"],
        proposed=proposed,
        created_at=timezone.now(),
    )
    approval.approvers.set(approvers)
    audit_record(
        actor=actor,
        action="approval.requested",
        object_type="approval",
        object_id=approval.pk,
        incident_ref=incident.reference,
        after={
            "step": order,
            "approvers": [u.get_username() for u in approvers],
            "proposed": [p["username"] or f"(nobody: {p['roles'][0]})" for p in proposed],
        },
    )
    if not approvers:
        _tell_siro(incident=incident, escalation=escalation, step=order, replaces=None, actor=actor)
    return approval


def approval_decide(*, approval_id: int, by: User, approve: bool, reason: str = "") -> Approval:
    """The Chief Officer (or deputy) releases the national list, or records why it is not
    needed (PC02-8: the Chief decides). Either way their own receipt is confirmed."""
    from .deadlines import deadline_not_required

    reason = (reason or "").strip()
    if not approve and not reason:
        raise ValidationError({"reason": ["Give the reason the escalation is not needed"]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [f"The reason must be {REASON_MAX:,} characters or fewer"]})
    with transaction.atomic():
        approval = (
            Approval.objects.select_for_update(of=("self",), no_key=True)
            .select_related("escalation", "incident__org_unit")
            .get(pk=approval_id)
        )
        if not approval.approvers.filter(pk=by.pk).exists():
            raise PermissionDenied("Only the Chief Officer or deputy can decide this.")
        if approval.state != ApprovalState.PENDING:
            raise ValidationError({"approval": [f"This was already decided ({approval.get_state_display()})"]})
        approval.state = ApprovalState.APPROVED if approve else ApprovalState.DECLINED
        approval.decided_at = timezone.now()
        approval.decided_by = by
        approval.reason = reason
        approval.save(update_fields=["state", "decided_at", "decided_by", "reason"])
        audit_record(
            actor=by,
            action="approval.approved" if approve else "approval.declined",
            object_type="approval",
            object_id=approval.pk,
            incident_ref=approval.incident.reference,
            after={"step": approval.step, "reason": reason},
        )
        for own in Notification.objects.filter(
            escalation=approval.escalation,
            recipient=by,
            state__in=[NotificationState.SCHEDULED, NotificationState.SENT],
        ):
            notification_acknowledge(
                notification_id=own.pk, by=by, method=AckMethod.IN_APP, note="Confirmed by deciding the escalation"
            )
        escalation = Escalation.objects.select_for_update(no_key=True).get(pk=approval.escalation_id)
        step = _step_required(escalation, approval.step)
        if approve:
            users = {
                u.pk: u for u in User.objects.filter(pk__in=[p["user_id"] for p in approval.proposed if p["user_id"]])
            }
            people = [(users[p["user_id"]], p["roles"]) for p in approval.proposed if p["user_id"] in users]
            step_start(escalation=escalation, order=approval.step, actor=by, people=people)
        else:
            if step["meets_deadline"]:
                deadline_not_required(
                    incident=approval.incident,
                    code=DeadlineCode(step["meets_deadline"]),
                    actor=by,
                    reason=reason,
                    check_role=False,
                )
            escalation_complete(escalation=escalation, actor=by)
    return approval
