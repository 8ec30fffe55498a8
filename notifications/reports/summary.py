"""The SIRO summary: for a period and a unit, the incidents the reader may see, counted by
status, severity and kind; how the clocks fared; recurrence; control gaps; open improvement
actions. The charts are the ones the dashboard uses."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone

from breachdesk.models import OrgUnit
from breachdesk.selectors import ControlStatus, control_status_for_unit
from incidents.choices import ActionKind, ActionState, Category, Status
from incidents.models import Action, Incident
from incidents.selectors import incidents_for_user
from riskassess.choices import Level
from riskassess.models import RiskAssessment

from ..choices import SHORT_TITLES, DeadlineCode, DeadlineState
from ..models import Deadline
from .charts import BLUE, GREEN, GREY, ORANGE, RED, Bar, Segment, bar_chart, stacked_bars
from .data import base_context

ONE_HOUR_RULES = (DeadlineCode.MANAGER_INFORMED, DeadlineCode.NATIONAL_INFORMED)
LEVEL_COLOURS = {Level.LOW: GREEN, Level.MEDIUM: BLUE, Level.HIGH: ORANGE, Level.VERY_HIGH: RED}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @property
    def key(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class Compliance:
    code: str
    title: str
    met: int
    missed: int
    pending: int
    not_required: int

    @property
    def decided(self) -> int:
        return self.met + self.missed

    @property
    def rate(self) -> str:
        return f"{round(100 * self.met / self.decided)}%" if self.decided else "n/a"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]  # "ICO" stays "ICO"


def summary_incidents(user: User | AnonymousUser, period: Period, unit: OrgUnit | None) -> QuerySet[Incident]:
    qs = incidents_for_user(user).filter(reported_at__gte=period.start_at, reported_at__lt=period.end_at)
    if unit is not None:
        qs = qs.filter(org_unit__path__startswith=unit.path)
    latest_level = RiskAssessment.objects.filter(incident=OuterRef("pk")).order_by("-version").values("level")[:1]
    return qs.annotate(severity=Subquery(latest_level)).select_related("org_unit").order_by("reported_at", "id")


def compliance_for(incidents: QuerySet[Incident]) -> list[Compliance]:
    """How each clock fared for these incidents: one GROUP BY over their deadlines."""
    counts: dict[tuple[str, str], int] = {
        (row["code"], row["state"]): row["n"]
        for row in Deadline.objects.filter(incident__in=incidents.values("pk"))
        .order_by()
        .values("code", "state")
        .annotate(n=Count("id"))
    }
    return [
        Compliance(
            code=code,
            title=code.label,
            met=counts.get((code, DeadlineState.MET), 0),
            missed=counts.get((code, DeadlineState.MISSED), 0),
            pending=counts.get((code, DeadlineState.PENDING), 0),
            not_required=counts.get((code, DeadlineState.NOT_REQUIRED), 0),
        )
        for code in DeadlineCode
    ]


def recurrences_among(incidents: list[Incident], window_days: int) -> list[tuple[Incident, Incident]]:
    """Incidents in the period that repeat an earlier one (same unit and kind of loss) within
    the window: each with the latest earlier incident it repeats. One query for the
    candidates, then a binary search per incident in its unit-and-kind's sorted list."""
    if not incidents:
        return []
    window = timedelta(days=window_days)
    earliest = min(i.discovered_at for i in incidents) - window
    latest = max(i.discovered_at for i in incidents)
    keys = {(i.org_unit_id, i.category) for i in incidents}
    by_key: dict[tuple[int, str], list[tuple[datetime, int, Incident]]] = {}
    for c in (
        Incident.objects.filter(
            org_unit_id__in={k[0] for k in keys},
            category__in={k[1] for k in keys},
            discovered_at__gte=earliest,
            discovered_at__lte=latest,
        )
        .only("id", "reference", "discovered_at", "org_unit_id", "category")
        .order_by("discovered_at", "id")
    ):
        by_key.setdefault((c.org_unit_id, c.category), []).append((c.discovered_at, c.pk, c))
    out = []
    for incident in incidents:
        same = by_key.get((incident.org_unit_id, incident.category), [])
        upto = bisect_right(same, incident.discovered_at, key=lambda row: row[0])  # found no later
        before = [row for row in same[:upto] if row[1] != incident.pk]
        if before and before[-1][0] >= incident.discovered_at - window:
            out.append((incident, before[-1][2]))
    return out


def clock_segments(compliance: list[Compliance]) -> list[tuple[str, list[Segment]]]:
    """Each clock as a stacked bar: met, missed, running, not required."""
    return [
        (
            _capital(SHORT_TITLES[DeadlineCode(c.code)]),
            [
                Segment("Met", c.met, GREEN),
                Segment("Missed", c.missed, RED),
                Segment("Running", c.pending, BLUE),
                Segment("Not required", c.not_required, GREY),
            ],
        )
        for c in compliance
    ]


def control_gaps_for_units(units: list[OrgUnit]) -> list[ControlStatus]:
    gaps: list[ControlStatus] = []
    for unit in units:
        gaps += [s for s in control_status_for_unit(unit) if s.is_gap]
    return gaps


def siro_summary(
    user: User | AnonymousUser, *, period: Period, unit: OrgUnit | None, window_days: int, now: datetime | None = None
) -> dict[str, Any]:
    incidents = list(summary_incidents(user, period, unit))
    ids = [i.pk for i in incidents]
    by_status = Counter(i.status for i in incidents)
    by_severity = Counter(getattr(i, "severity", None) or "none" for i in incidents)
    by_category = Counter(i.category for i in incidents)
    compliance = compliance_for(Incident.objects.filter(pk__in=ids))
    units = sorted({i.org_unit for i in incidents} | ({unit} if unit is not None else set()), key=lambda u: u.path)
    actions = list(
        Action.objects.filter(incident_id__in=ids, kind=ActionKind.IMPROVEMENT, state=ActionState.OPEN)
        .select_related("owner", "incident")
        .order_by("due_on", "id")
    )
    today = timezone.localdate()
    status_bars = [Bar(s.label, by_status[s]) for s in Status]
    severity_bars = [Bar(level.label, by_severity[level], LEVEL_COLOURS[level]) for level in Level]
    severity_bars.append(Bar("Not yet assessed", by_severity["none"], GREY))
    category_bars = [Bar(c.label, by_category[c]) for c in Category if by_category[c]]
    clock_rows = clock_segments(compliance)
    unit_label = unit.name if unit is not None else "All units you can see"
    return {
        **base_context(None, title="SIRO summary", now=now),
        "reference": f"{period.start:%-d %b %Y} to {period.end:%-d %b %Y}",
        "period": period,
        "unit": unit,
        "unit_label": unit_label,
        "incidents": incidents,
        "total": len(incidents),
        "open_count": sum(1 for i in incidents if i.status != Status.CLOSED),
        "status_rows": [(b.label, b.value) for b in status_bars],
        "severity_rows": [(b.label, b.value) for b in severity_bars],
        "category_rows": [(b.label, b.value) for b in category_bars],
        "status_chart": bar_chart("Incidents by status", status_bars),
        "severity_chart": bar_chart("Incidents by severity (latest risk assessment)", severity_bars),
        "category_chart": bar_chart("Incidents by kind of loss", category_bars) if category_bars else "",
        "compliance": compliance,
        "one_hour": [c for c in compliance if c.code in ONE_HOUR_RULES],
        "ico": next(c for c in compliance if c.code == DeadlineCode.ICO_NOTIFIED),
        "clock_chart": stacked_bars("Clocks: met, missed, running, not required", clock_rows),
        "recurrences": recurrences_among(incidents, window_days),
        "window_days": window_days,
        "control_gaps": control_gaps_for_units(units),
        "actions": actions,
        "overdue_actions": [a for a in actions if a.due_on is not None and a.due_on < today],
    }
