"""The PC02/2009 escalation policy, as data. Installed by a data migration (real
deployments) and by ``seed_demo``; both call ``install_policy`` with the model classes
they have, so the migration uses its historical models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .choices import DeadlineCode, OnTimeout, StepTarget, StepTrigger

PC02_POLICY_NAME = "PC02/2009 Responding to loss of data"


@dataclass(frozen=True)
class StepSpec:
    name: str
    targets: list[str]
    trigger: str
    due_offset: timedelta
    ack_timeout: timedelta
    on_timeout: str
    ack_required: bool = True
    reminder_interval: timedelta | None = None
    max_reminders: int = 0
    approver_target: str = ""
    meets_deadline: str = ""
    starts_deadline: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


PC02_STEPS: list[StepSpec] = [
    # PC02-6: whoever identifies or suspects a loss tells their line manager within one hour;
    # in the manager's absence, another manager.
    StepSpec(
        name="Line manager (PC02-6)",
        targets=[StepTarget.LINE_MANAGER],
        trigger=StepTrigger.REPORTED,
        due_offset=timedelta(hours=1),
        ack_timeout=timedelta(minutes=20),
        on_timeout=OnTimeout.ALTERNATE,
        meets_deadline=DeadlineCode.MANAGER_INFORMED,
    ),
    # PC02-4/5/6: then the ISR, the ISIM, the Chief Officer and the local SCS member. The
    # Chief's receipt starts the one-hour national clock (PC02-8).
    StepSpec(
        name="ISR, ISIM, Chief Officer and SCS (PC02-4 to PC02-6)",
        targets=[StepTarget.ISR, StepTarget.ISIM, StepTarget.CHIEF_OFFICER, StepTarget.SCS],
        trigger=StepTrigger.PREVIOUS_ACKNOWLEDGED,
        due_offset=timedelta(hours=1),
        ack_timeout=timedelta(minutes=30),
        on_timeout=OnTimeout.ALTERNATE,
        starts_deadline=DeadlineCode.NATIONAL_INFORMED,
    ),
    # PC02-8/9: the Chief Officer (or deputy) decides and informs the national list within
    # one hour; every receipt confirmed, an unconfirmed email followed by a call.
    StepSpec(
        name="National list (PC02-8)",
        targets=[StepTarget.NATIONAL_LIST],
        trigger=StepTrigger.APPROVAL_GIVEN,
        approver_target=StepTarget.CHIEF_OFFICER,
        due_offset=timedelta(hours=1),
        ack_timeout=timedelta(minutes=15),
        on_timeout=OnTimeout.PHONE,
        reminder_interval=timedelta(minutes=15),
        max_reminders=1,
        meets_deadline=DeadlineCode.NATIONAL_INFORMED,
    ),
]


def install_policy(
    policy_model: Any,
    step_model: Any,
    *,
    name: str = PC02_POLICY_NAME,
    steps: list[StepSpec] | None = None,
    make_default: bool = True,
    description: str = "",
) -> tuple[Any, bool]:
    """Create the policy if it does not exist (idempotent). Returns (policy, created)."""
    policy = policy_model.objects.filter(name=name).first()
    if policy is not None:
        return policy, False
    if make_default:
        policy_model.objects.filter(is_default=True).update(is_default=False)
    policy = policy_model.objects.create(
        name=name,
        is_default=make_default,
        description=description or "Mandatory one-hour escalation rules of Probation Circular 02/2009.",
    )
    for order, spec in enumerate(steps if steps is not None else PC02_STEPS, start=1):
        step_model.objects.create(
            policy=policy,
            order=order,
            name=spec.name,
            targets=[str(t) for t in spec.targets],
            trigger=spec.trigger,
            due_offset=spec.due_offset,
            ack_required=spec.ack_required,
            ack_timeout=spec.ack_timeout,
            on_timeout=spec.on_timeout,
            reminder_interval=spec.reminder_interval,
            max_reminders=spec.max_reminders,
            approver_target=spec.approver_target,
            meets_deadline=spec.meets_deadline,
            starts_deadline=spec.starts_deadline,
        )
    return policy, True
