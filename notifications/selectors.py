"""Reads for clocks and who will be told."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model

from breachdesk.choices import Role
from breachdesk.models import RoleAssignment
from incidents.models import Incident

from .choices import SHORT_TITLES, DeadlineCode, DeadlineState
from .clocks import describe_remaining, rag
from .models import Deadline


@dataclass(frozen=True)
class DeadlineRow:
    code: str
    title: str
    short_title: str
    due_at: datetime | None
    state: str
    state_label: str
    met_at: datetime | None
    rag: str
    remaining: str


def deadline_rows(deadlines: Iterable[Deadline], *, now: datetime) -> list[DeadlineRow]:
    rows = []
    for d in deadlines:
        if d.state == DeadlineState.PENDING:
            colour = rag(starts_at=d.starts_at, due_at=d.due_at, now=now)
            remaining = (
                describe_remaining(due_at=d.due_at, now=now) if d.due_at else "Starts when the Chief Officer is told"
            )
        else:
            colour, remaining = d.state, ""
        rows.append(
            DeadlineRow(
                code=d.code,
                title=d.title,
                short_title=SHORT_TITLES[DeadlineCode(d.code)],
                due_at=d.due_at,
                state=d.state,
                state_label=DeadlineState(d.state).label,
                met_at=d.met_at,
                rag=colour,
                remaining=remaining,
            )
        )
    return rows


@dataclass(frozen=True)
class Recipient:
    role: str
    names: list[str]


def escalation_preview(incident: Incident) -> list[Recipient]:
    """Who is told first (PC02-6): the reporter's line manager, then the unit's ISR. The
    full chain, with acknowledgements and timers, is the escalation policy's job."""
    User = get_user_model()
    out: list[Recipient] = []
    manager = None
    profile = getattr(incident.reporter, "profile", None)
    if profile is not None and profile.line_manager_id:
        manager = User.objects.filter(pk=profile.line_manager_id).first()
    out.append(
        Recipient(Role.LINE_MANAGER.label, [manager.get_full_name() or manager.get_username()] if manager else [])
    )
    ancestors = list(_ancestor_paths(incident.org_unit.path))
    for role in (Role.ISR, Role.ISIM, Role.CHIEF_OFFICER):
        holders = (
            RoleAssignment.objects.filter(role=role, unit__path__in=ancestors)
            .select_related("user", "unit")
            .order_by("-unit__path")
        )
        names = []
        for a in holders:
            names.append(a.user.get_full_name() or a.user.get_username())
        out.append(Recipient(Role(role).label, names[:3]))
    return out


def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]
