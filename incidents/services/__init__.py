"""Every write to an incident, one module per concern; each use case is one transaction that
changes the rows and writes its timeline entry and audit event."""

from .report import (
    EDITABLE_FIELDS,
    NOTE_MAX,
    incident_add_note,
    incident_report,
    incident_update,
)

__all__ = [
    "EDITABLE_FIELDS",
    "NOTE_MAX",
    "incident_add_note",
    "incident_report",
    "incident_update",
]
