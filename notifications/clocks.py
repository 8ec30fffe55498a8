"""Deadline arithmetic: pure functions, no ORM (STYLE.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .choices import DeadlineCode

# PC02-6: line manager within one hour of the loss being identified.
MANAGER_INFORMED_WITHIN = timedelta(hours=1)
# PC02-8: the Chief Officer informs the national list within one hour of being told.
NATIONAL_INFORMED_WITHIN = timedelta(hours=1)
# PC02-14: the investigation begins within the first day.
INVESTIGATION_STARTED_WITHIN = timedelta(hours=24)
# UK GDPR Art 33(1) / DPA 2018 s.67: 72 hours from becoming aware; wall-clock time.
ICO_NOTIFIED_WITHIN = timedelta(hours=72)
# Share of the allowed time left below which a clock shows amber.
AMBER_FRACTION = 0.25


@dataclass(frozen=True)
class PlannedDeadline:
    code: DeadlineCode
    due_at: datetime | None
    starts_at: datetime | None


def initial_deadlines(*, discovered_at: datetime) -> list[PlannedDeadline]:
    """The clocks that start when an incident is reported.

    ``national_informed`` exists from the start but has no due time until the Chief Officer
    is informed; ``subjects_informed`` only exists once a high risk is assessed.
    """
    return [
        PlannedDeadline(DeadlineCode.MANAGER_INFORMED, discovered_at + MANAGER_INFORMED_WITHIN, discovered_at),
        PlannedDeadline(DeadlineCode.NATIONAL_INFORMED, None, None),
        PlannedDeadline(
            DeadlineCode.INVESTIGATION_STARTED, discovered_at + INVESTIGATION_STARTED_WITHIN, discovered_at
        ),
        PlannedDeadline(DeadlineCode.ICO_NOTIFIED, discovered_at + ICO_NOTIFIED_WITHIN, discovered_at),
    ]


def rag(*, starts_at: datetime | None, due_at: datetime | None, now: datetime) -> str:
    """Red/amber/green for a pending clock: red once due, amber in the last quarter."""
    if due_at is None:
        return "not_started"
    if now >= due_at:
        return "red"
    if starts_at is not None and starts_at < due_at and (due_at - now) <= (due_at - starts_at) * AMBER_FRACTION:
        return "amber"
    return "green"


def describe_remaining(*, due_at: datetime, now: datetime) -> str:
    """'2 h 05 min left' / '15 min overdue': plain words for a clock."""
    delta = due_at - now
    overdue = delta.total_seconds() < 0
    seconds = int(abs(delta.total_seconds()))
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes:02d} min"
    else:
        text = f"{minutes} min"
    return f"{text} overdue" if overdue else f"{text} left"
