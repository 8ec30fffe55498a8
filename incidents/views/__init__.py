"""Browser views: parse, call one service or selector, render."""

from .report import (
    incident_add_note,
    incident_clocks,
    incident_confirmation,
    incident_detail,
    incident_edit,
    incident_list,
    incident_new,
)

__all__ = [
    "incident_add_note",
    "incident_clocks",
    "incident_confirmation",
    "incident_detail",
    "incident_edit",
    "incident_list",
    "incident_new",
]
