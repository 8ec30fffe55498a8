"""Every write to an incident, one module per concern; each use case is one transaction that
changes the rows and writes its timeline entry and audit event."""

from .evidence import evidence_attach
from .lifecycle import TRANSITIONS, incident_transition, transitions_for_user
from .plan import (
    PLAN_ROLES,
    action_create,
    action_finish,
    lesson_record,
    party_notice_record,
    root_cause_record,
)
from .report import (
    EDITABLE_FIELDS,
    NOTE_MAX,
    incident_add_note,
    incident_report,
    incident_update,
)
from .tracker import enquiry_record, enquiry_update, tracker_form_update

__all__ = [
    "EDITABLE_FIELDS",
    "NOTE_MAX",
    "PLAN_ROLES",
    "TRANSITIONS",
    "action_create",
    "action_finish",
    "enquiry_record",
    "enquiry_update",
    "evidence_attach",
    "incident_add_note",
    "incident_report",
    "incident_transition",
    "incident_update",
    "lesson_record",
    "party_notice_record",
    "root_cause_record",
    "tracker_form_update",
    "transitions_for_user",
]
