"""Every write in notifications: escalations, deliveries, clocks and timers."""

from .deadlines import (
    deadline_change_due,
    deadline_meet,
    deadline_not_required,
    deadline_start,
    deadlines_start_for_incident,
    ico_submission_record,
    investigation_start,
    subjects_deadline_start,
)
from .delivery import notification_remind, notification_send
from .escalations import (
    approval_decide,
    escalation_start,
    notification_acknowledge,
    notification_create,
    policy_snapshot,
)
from .timers import timer_arm, timer_fire, timers_cancel, timers_sweep

__all__ = [
    "approval_decide",
    "deadline_change_due",
    "deadline_meet",
    "deadline_not_required",
    "deadline_start",
    "deadlines_start_for_incident",
    "escalation_start",
    "ico_submission_record",
    "investigation_start",
    "notification_acknowledge",
    "notification_create",
    "notification_remind",
    "notification_send",
    "policy_snapshot",
    "subjects_deadline_start",
    "timer_arm",
    "timer_fire",
    "timers_cancel",
    "timers_sweep",
]
