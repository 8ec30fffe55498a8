"""The SIRO dashboard's figures: what is open and how severe, which clocks run out soon or
were missed, compliance with each rule over a period, how long containing and closing take,
where incidents come from, the trend, recurrence, control gaps and overdue improvement
actions. Every figure is computed over ``incidents_for_user``: a Chief Officer sees their
units, the SIRO and DPO everything. Counts are GROUP BYs in the database, not loops."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db.models import Count, Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncMonth
from django.utils import timezone

from breachdesk.audit import change_key
from breachdesk.models import OrgUnit
from breachdesk.selectors import viewer_key
from incidents.choices import ActionKind, ActionState, Category, RootCauseKind, Status, TimelineKind
from incidents.models import Action, Incident, RootCause, TimelineEntry
from incidents.selectors import incidents_for_user
from riskassess.choices import Level
from riskassess.models import RiskAssessment

from .choices import DeadlineState
from .models import Deadline
from .reports.charts import BLUE, GREY, Bar, bar_chart, stacked_bars
from .reports.summary import (
    LEVEL_COLOURS,
    Compliance,
    Period,
    clock_segments,
    compliance_for,
    control_gaps_for_units,
    recurrences_among,
)

DUE_SOON_HOURS = 4
RECURRENCES_SHOWN = 20
TREND_MONTHS = 24
OPEN = (Status.REPORTED, Status.UNDER_INVESTIGATION, Status.CONTAINED)


@dataclass(frozen=True)
class Filters:
    period: Period
    unit: OrgUnit | None = None
    category: str = ""

    def incident_query(self, **extra: str) -> str:
        """The incident list's query string for a drill-down from this dashboard: the
        incidents behind a figure, under the same unit and category filters."""
        params = {"org_unit": self.unit.code if self.unit else "", "category": self.category, **extra}
        return "?" + urlencode({k: v for k, v in params.items() if v})

    def period_query(self, **extra: str) -> str:
        """As ``incident_query``, for a figure over the incidents reported in the period."""
        return self.incident_query(
            reported_from=self.period.start.isoformat(), reported_to=self.period.end.isoformat(), **extra
        )


@dataclass
class Row:
    label: str
    count: int
    link: str = ""


@dataclass(frozen=True)
class ComplianceRow:
    """A clock's compliance figures, each with the query of the incidents behind it."""

    figures: Compliance
    links: dict[str, str]


@dataclass
class Dashboard:
    filters: Filters
    open_total: int
    open_link: str
    compliance_rows: list[ComplianceRow]
    by_status: list[Row]
    by_severity: list[Row]
    compliance: list[Compliance]
    median_contain: timedelta | None
    median_close: timedelta | None
    by_category: list[Row]
    by_unit: list[Row]
    by_root_cause: list[Row]
    by_processor: list[Row]
    trend: list[Row]
    recurrences: list[tuple[Incident, Incident]]  # the latest RECURRENCES_SHOWN
    recurrence_count: int
    gaps: list[Any]
    overdue_actions: list[Action]
    charts: dict[str, Any] = field(default_factory=dict)


def scoped(user: User | AnonymousUser, filters: Filters) -> QuerySet[Incident]:
    qs = incidents_for_user(user)
    if filters.unit is not None:
        qs = qs.filter(org_unit__path__startswith=filters.unit.path)
    if filters.category:
        qs = qs.filter(category=filters.category)
    return qs


def _in_period(qs: QuerySet[Incident], period: Period) -> QuerySet[Incident]:
    return qs.filter(reported_at__gte=period.start_at, reported_at__lt=period.end_at)


def _count_by(qs: QuerySet[Any], field_name: str) -> dict[Any, int]:
    return {row[field_name]: row["n"] for row in qs.order_by().values(field_name).annotate(n=Count("id"))}


def _median(durations: list[timedelta]) -> timedelta | None:
    if not durations:
        return None
    return timedelta(seconds=statistics.median(d.total_seconds() for d in durations))


CLOCKS_SHOWN = 20


@dataclass(frozen=True)
class ClockPanel:
    due_soon: list[Deadline]
    due_soon_total: int
    overdue: list[Deadline]
    overdue_total: int
    missed: list[Deadline]
    missed_total: int
    overdue_link: str
    missed_link: str


def clock_panel(user: User | AnonymousUser, filters: Filters, *, now: datetime | None = None) -> ClockPanel:
    """Clocks of open incidents running out within ``DUE_SOON_HOURS``, clocks overdue now,
    and clocks missed by incidents reported in the period: what the page refreshes every
    30 s. Never cached. The most urgent ``CLOCKS_SHOWN`` of each, with how many in all."""
    now = now or timezone.now()
    base = scoped(user, filters)
    pending = Deadline.objects.filter(
        incident__in=base.filter(status__in=OPEN).values("pk"), state=DeadlineState.PENDING
    )
    soon = pending.filter(due_at__gte=now, due_at__lt=now + timedelta(hours=DUE_SOON_HOURS))
    overdue = pending.filter(due_at__lt=now)
    # Clocks become due soon and overdue as time passes, so those are read every time. A clock
    # is missed only by a recorded change, so the missed ones are kept until the next change
    # (change_key): counting them over a year of incidents takes 70 ms.
    key = change_key(
        "dashboard:missed",
        viewer_key(user),
        filters.period.key,
        filters.unit.code if filters.unit else "",
        filters.category,
    )
    missed_part: tuple[list[Deadline], int] | None = cache.get(key)
    if missed_part is None:
        missed = Deadline.objects.filter(
            incident__in=_in_period(base, filters.period).values("pk"), state=DeadlineState.MISSED
        )
        missed_part = (list(missed.select_related("incident").order_by("-due_at")[:CLOCKS_SHOWN]), missed.count())
        cache.set(key, missed_part, settings.DASHBOARD_CACHE_SECONDS)
    return ClockPanel(
        due_soon=list(soon.select_related("incident").order_by("due_at")[:CLOCKS_SHOWN]),
        due_soon_total=soon.count(),
        overdue=list(overdue.select_related("incident").order_by("due_at")[:CLOCKS_SHOWN]),
        overdue_total=overdue.count(),
        missed=missed_part[0],
        missed_total=missed_part[1],
        overdue_link=filters.incident_query(open="true", overdue="true"),
        missed_link=filters.period_query(clock_state=DeadlineState.MISSED),
    )


def _months(end: date, count: int) -> list[date]:
    first = date(end.year, end.month, 1)
    months = []
    for _ in range(count):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return list(reversed(months))


def _month_end(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def dashboard(user: User | AnonymousUser, filters: Filters, *, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    base = scoped(user, filters)
    open_qs = base.filter(status__in=OPEN)
    period_qs = _in_period(base, filters.period)

    status_counts = _count_by(open_qs, "status")
    by_status = [Row(s.label, status_counts.get(s, 0), filters.incident_query(status=s)) for s in OPEN]
    latest_level = RiskAssessment.objects.filter(incident=OuterRef("pk")).order_by("-version").values("level")[:1]
    level_counts = _count_by(open_qs.annotate(level=Subquery(latest_level)), "level")
    by_severity = [
        Row(level.label, level_counts.get(level, 0), filters.incident_query(open="true", severity=level))
        for level in Level
    ]
    by_severity.append(
        Row("Not yet assessed", level_counts.get(None, 0), filters.incident_query(open="true", severity="none"))
    )

    contained_at = (
        TimelineEntry.objects.filter(
            incident__in=period_qs.values("pk"), kind=TimelineKind.STATUS_CHANGED, data__to=Status.CONTAINED
        )
        .order_by()
        .values("incident_id", "incident__discovered_at")
        .annotate(first=Min("created_at"))
    )
    median_contain = _median([row["first"] - row["incident__discovered_at"] for row in contained_at])
    median_close = _median(
        [
            closed - found
            for found, closed in period_qs.exclude(closed_at=None).values_list("discovered_at", "closed_at")
            if closed is not None
        ]
    )

    category_counts = _count_by(period_qs, "category")
    by_category = [
        Row(c.label, category_counts[c], filters.period_query(category=c)) for c in Category if category_counts.get(c)
    ]
    unit_counts = _count_by(period_qs, "org_unit")
    units = OrgUnit.objects.in_bulk(list(unit_counts))
    by_unit = sorted(
        (
            Row(units[pk].name, n, filters.period_query(org_unit=units[pk].code, unit_only="true"))
            for pk, n in unit_counts.items()
        ),
        key=lambda r: (-r.count, r.label),
    )
    cause_counts = _count_by(RootCause.objects.filter(incident__in=period_qs.values("pk")), "cause")
    by_root_cause = [
        Row(c.label, cause_counts[c], filters.period_query(root_cause=c)) for c in RootCauseKind if cause_counts.get(c)
    ]
    processor_counts = _count_by(period_qs.exclude(third_party=""), "third_party")
    by_processor = sorted(
        (Row(name, n, filters.period_query(processor=name)) for name, n in processor_counts.items()),
        key=lambda r: (-r.count, r.label),
    )

    months = _months(timezone.localdate(now), TREND_MONTHS)
    trend_counts = {
        row["month"].date() if isinstance(row["month"], datetime) else row["month"]: row["n"]
        for row in base.filter(reported_at__gte=timezone.make_aware(datetime.combine(months[0], datetime.min.time())))
        .annotate(month=TruncMonth("reported_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("month")
        .annotate(n=Count("id"))
    }
    trend = [
        Row(
            m.strftime("%b %Y"),
            trend_counts.get(m, 0),
            filters.incident_query(reported_from=m.isoformat(), reported_to=_month_end(m).isoformat()),
        )
        for m in months
    ]

    in_period = period_qs.select_related("org_unit").only(
        "id", "reference", "discovered_at", "category", "org_unit_id", "org_unit__name"
    )
    repeats = recurrences_among(list(in_period), window_days=settings.RECURRENCE_WINDOW_DAYS)
    repeats.sort(key=lambda pair: (pair[0].discovered_at, pair[0].pk), reverse=True)
    gap_units = sorted(
        OrgUnit.objects.filter(pk__in=open_qs.order_by().values("org_unit").distinct()), key=lambda u: u.path
    )
    today = timezone.localdate(now)
    overdue_actions = list(
        Action.objects.filter(
            incident__in=base.values("pk"), kind=ActionKind.IMPROVEMENT, state=ActionState.OPEN, due_on__lt=today
        )
        .select_related("incident", "owner")
        .order_by("due_on", "id")[:100]
    )
    compliance = compliance_for(period_qs)
    board = Dashboard(
        filters=filters,
        open_total=sum(status_counts.values()),
        open_link=filters.incident_query(open="true"),
        compliance_rows=[
            ComplianceRow(c, {state: filters.period_query(clock=c.code, clock_state=state) for state in DeadlineState})
            for c in compliance
        ],
        by_status=by_status,
        by_severity=by_severity,
        compliance=compliance,
        median_contain=median_contain,
        median_close=median_close,
        by_category=by_category,
        by_unit=by_unit,
        by_root_cause=by_root_cause,
        by_processor=by_processor,
        trend=trend,
        recurrences=repeats[:RECURRENCES_SHOWN],
        recurrence_count=len(repeats),
        gaps=control_gaps_for_units(gap_units),
        overdue_actions=overdue_actions,
    )
    board.charts = {
        # half a column on a desktop: drawn at that width, so the text is not shrunk
        "status": bar_chart("Open incidents by status", [Bar(r.label, r.count) for r in by_status], width=460),
        "severity": bar_chart(
            "Open incidents by severity",
            [
                Bar(r.label, r.count, LEVEL_COLOURS.get(level, GREY))
                for r, level in zip(by_severity, [*Level, None], strict=True)
            ],
            width=460,
        ),
        "compliance": stacked_bars("Clocks in the period", clock_segments(board.compliance)),
        "trend": bar_chart(
            "Incidents reported each month", [Bar(r.label, r.count, BLUE) for r in trend], bar_height=12
        ),
        "category": bar_chart("Incidents by kind of loss", [Bar(r.label, r.count) for r in by_category])
        if by_category
        else "",
    }
    return board


def figures_key(user: User | AnonymousUser, filters: Filters, query: str) -> str:
    """The cache key of one person's dashboard figures for these filters, new after any
    recorded change (``change_key``)."""
    return change_key(
        "dashboard:figures",
        viewer_key(user),
        filters.period.key,
        filters.unit.code if filters.unit else "",
        filters.category,
        query,
        timezone.localdate().isoformat(),  # "past due" and the trend's months move with the day
    )
