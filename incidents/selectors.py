"""Permission-scoped reads. ``incidents_for_user`` is the single entry point every page,
API view and report uses to decide which incidents a user may see (DESIGN.md "Access")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Lower, Trim
from django.db.models.lookups import IsNull
from django.http import Http404
from django.utils import timezone

from breachdesk.choices import ControlSubject
from breachdesk.models import AuditEvent, ControlCheck, OrgUnit, Profile
from breachdesk.selectors import scope_for_user
from breachdesk.templatetags.govuk import role_labels
from notifications.choices import (
    OPEN_NOTIFICATION_STATES,
    SHORT_TITLES,
    ApprovalState,
    DeadlineCode,
    DeadlineState,
    NotificationState,
)
from notifications.models import Approval, Deadline, IcoSubmission, Notification
from riskassess.choices import DecisionKind, Level
from riskassess.models import AssessedDataSet, RiskAssessment
from riskassess.selectors import current_decisions

from .choices import OPEN_STATUSES, ActionKind, ActionState, Party, PlanElement, RootCauseKind
from .models import Action, Incident, Lesson, PartyNotice, RootCause, TimelineEntry, TrackerFormVersion

# Above this many notifications, "told about it" is probed row by row rather than hashed.
TOLD_PROBE_THRESHOLD = 2_000


def incidents_for_user(user: User | AnonymousUser) -> QuerySet[Incident]:
    """Reporters see their own; unit-scoped roles see their units and every unit below;
    the SIRO and DPO see all. A line manager also sees what their own staff reported, and
    anyone notified about an incident sees that incident."""
    if not user.is_authenticated:
        return Incident.objects.none()
    scope = scope_for_user(user)
    qs = Incident.objects.all()
    if scope.sees_all:
        return qs
    # Resolve the scope to ids first (small indexed lookups), so the incident query filters
    # on its own indexed columns only: no join through the reporter's profile and no
    # per-row subquery. Otherwise the OR across a join cannot use an index and a user who
    # may see few incidents makes PostgreSQL scan the whole table for every page.
    reporter_ids = [user.pk, *Profile.objects.filter(line_manager=user).values_list("user_id", flat=True)]
    visible = Q(reporter_id__in=reporter_ids)
    # Whoever has been told about an incident may read it (PC02-8's national list included).
    # A subquery, not a literal id list: a manager's notification history grows without bound.
    told = Notification.objects.filter(recipient=user).order_by()  # the model's ordering joins incidents
    # Notifications are never deleted, so once someone has been told about thousands they
    # always will have been: remember it rather than count again on every page. (The flag
    # only chooses between two equivalent queries; a stale one could never widen access.)
    many_key = f"incidents:told-many:{user.pk}"
    told_count = TOLD_PROBE_THRESHOLD if cache.get(many_key) else told.values("pk")[:TOLD_PROBE_THRESHOLD].count()
    if told_count >= TOLD_PROBE_THRESHOLD:
        cache.set(many_key, True, None)
        # Told about thousands (a line manager over years): hashing them all costs every
        # page 20-150 ms, so each candidate row is probed on the (recipient, incident)
        # index instead, and only when the cheaper conditions have not already matched. A
        # scalar subquery, because PostgreSQL hashes an IN or EXISTS subquery whole; unordered,
        # as any one row answers.
        probe = told.filter(incident_id=OuterRef("pk")).values("pk")[:1]
        visible |= Q(IsNull(Subquery(probe), False))
    elif told_count:
        visible |= Q(pk__in=told.values("incident_id"))
    if scope.unit_paths:
        visible |= Q(org_unit_id__in=list(OrgUnit.objects.filter(scope.unit_filter()).values_list("id", flat=True)))
    return qs.filter(visible)


def incident_get_for_user(*, user: User | AnonymousUser, reference: str) -> Incident:
    """The incident, or 404 when it does not exist or is outside the user's scope."""
    incident = (
        incidents_for_user(user)
        .select_related("org_unit", "reporter")
        .prefetch_related(Prefetch("deadlines", queryset=Deadline.objects.order_by("id")))
        .filter(reference=reference)
        .first()
    )
    if incident is None:
        raise Http404("No incident with that reference.")
    return incident


@dataclass(frozen=True)
class IncidentFilters:
    """What the list (and the dashboard's drill-downs into it) can narrow incidents by. The
    API takes the first five; the rest are how a figure on the dashboard names the incidents
    behind it."""

    status: str = ""
    org_unit: str = ""
    category: str = ""
    overdue: bool = False
    q: str = ""
    open: bool = False
    unit_only: bool = False  # the unit itself, not the units below it
    severity: str = ""  # the latest assessment's level, or "none" for not yet assessed
    reported_from: date | None = None  # London days, inclusive
    reported_to: date | None = None
    root_cause: str = ""
    processor: str = ""
    clock: str = ""
    clock_state: str = ""
    errors: tuple[str, ...] = ()

    @property
    def narrowed(self) -> list[str]:
        """The drill-down filters in words, for the list's heading."""
        out = []
        if self.open:
            out.append("open")
        if self.unit_only and self.org_unit:
            out.append("in that unit itself, not the units below it")
        if self.severity:
            out.append("not yet assessed" if self.severity == "none" else f"{Level(self.severity).label} severity")
        if self.reported_from or self.reported_to:
            start = self.reported_from.strftime("%-d %b %Y") if self.reported_from else "the start"
            end = self.reported_to.strftime("%-d %b %Y") if self.reported_to else "today"
            out.append(f"reported {start} to {end}")
        if self.root_cause:
            out.append(f"root cause: {RootCauseKind(self.root_cause).label.lower()}")
        if self.processor:
            out.append(f"processor or partner: {self.processor}")
        state = f" {DeadlineState(self.clock_state).label.lower()}" if self.clock_state else ""
        if self.clock:
            out.append(f"clock: {SHORT_TITLES[DeadlineCode(self.clock)]}{state}")
        elif self.clock_state:
            out.append(f"with a clock{state}")
        return out

    @property
    def hidden(self) -> dict[str, str]:
        """The drill-down filters as query parameters, kept when the list's form is sent."""
        values = {
            "open": "true" if self.open else "",
            "unit_only": "true" if self.unit_only else "",
            "severity": self.severity,
            "reported_from": self.reported_from.isoformat() if self.reported_from else "",
            "reported_to": self.reported_to.isoformat() if self.reported_to else "",
            "root_cause": self.root_cause,
            "processor": self.processor,
            "clock": self.clock,
            "clock_state": self.clock_state,
        }
        return {k: v for k, v in values.items() if v}


def latest_level() -> Subquery:
    return Subquery(RiskAssessment.objects.filter(incident=OuterRef("pk")).order_by("-version").values("level")[:1])


def _london_day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def incidents_filtered(qs: QuerySet[Incident], filters: IncidentFilters) -> QuerySet[Incident]:
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.open:
        qs = qs.filter(status__in=OPEN_STATUSES)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.org_unit:
        unit = OrgUnit.objects.filter(code=filters.org_unit).first()
        if unit is None:
            qs = qs.none()
        elif filters.unit_only:
            qs = qs.filter(org_unit=unit)
        else:
            qs = qs.filter(org_unit__in=unit.subtree().values("id"))
    if filters.overdue:
        qs = qs.filter(Exists(overdue_deadlines().filter(incident=OuterRef("pk"))))
    if filters.q:
        term = filters.q.strip()
        qs = qs.filter(Q(reference__iexact=term) | Q(title__icontains=term) | Q(description__icontains=term))
    if filters.severity == "none":
        qs = qs.filter(~Exists(RiskAssessment.objects.filter(incident=OuterRef("pk"))))
    elif filters.severity:
        qs = qs.annotate(latest_level=latest_level()).filter(latest_level=filters.severity)
    if filters.reported_from:
        qs = qs.filter(reported_at__gte=_london_day_start(filters.reported_from))
    if filters.reported_to:
        qs = qs.filter(reported_at__lt=_london_day_start(filters.reported_to + timedelta(days=1)))
    if filters.root_cause:
        qs = qs.filter(Exists(RootCause.objects.filter(incident=OuterRef("pk"), cause=filters.root_cause)))
    if filters.processor:
        qs = qs.filter(third_party=filters.processor)
    if filters.clock or filters.clock_state:
        clocks = Deadline.objects.filter(incident=OuterRef("pk"))
        if filters.clock:
            clocks = clocks.filter(code=filters.clock)
        if filters.clock_state:
            clocks = clocks.filter(state=filters.clock_state)
        qs = qs.filter(Exists(clocks))
    return qs


def overdue_deadlines() -> QuerySet[Deadline]:
    return Deadline.objects.filter(state=DeadlineState.PENDING, due_at__lt=timezone.now())


def incident_list_page(
    qs: QuerySet[Incident], *, before_id: int | None, page_size: int, deadlines: QuerySet[Deadline] | None = None
) -> tuple[list[Incident], int | None]:
    """Keyset pagination on id (newest first): no OFFSET, no COUNT of the whole table.
    Returns the page and the cursor for the next one. ``deadlines`` narrows the clocks
    fetched with each incident (all of them by default)."""
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    clocks = deadlines if deadlines is not None else Deadline.objects.all()
    rows = list(
        qs.select_related("org_unit")
        .prefetch_related(Prefetch("deadlines", queryset=clocks.order_by("due_at", "id")))
        .order_by("-id")[: page_size + 1]
    )
    next_cursor = rows[page_size - 1].id if len(rows) > page_size else None
    return rows[:page_size], next_cursor


def incident_timeline(incident: Incident) -> QuerySet[TimelineEntry]:
    return incident.timeline.select_related("actor").order_by("created_at", "id")


def incident_audit_events(incident: Incident) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(incident_ref=incident.reference).order_by("seq")


def _choice(params: Any, name: str, allowed: list[str], label: str, errors: list[str]) -> str:
    value = str(params.get(name, "") or "")
    if value and value not in allowed:
        errors.append(f"{label} “{value[:40]}” is not one of the choices, so it was left out")
        return ""
    return value


def _day(params: Any, name: str, label: str, errors: list[str]) -> date | None:
    value = str(params.get(name, "") or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{label} must be a date as year-month-day, like 2026-03-31, so it was left out")
        return None


def parse_filters(params: Any) -> IncidentFilters:
    """The list's filters from a query string. A value that is not one of the choices is
    left out and said so (``errors``), never silently widened or narrowed."""
    errors: list[str] = []
    return IncidentFilters(
        status=str(params.get("status", "") or ""),
        org_unit=str(params.get("org_unit", "") or ""),
        category=str(params.get("category", "") or ""),
        overdue=str(params.get("overdue", "")).lower() in {"true", "1", "yes", "on"},
        q=str(params.get("q", "") or "")[:200],
        open=str(params.get("open", "")).lower() in {"true", "1", "yes", "on"},
        unit_only=str(params.get("unit_only", "")).lower() in {"true", "1", "yes", "on"},
        severity=_choice(params, "severity", [*Level.values, "none"], "Severity", errors),
        reported_from=_day(params, "reported_from", "Reported from", errors),
        reported_to=_day(params, "reported_to", "Reported to", errors),
        root_cause=_choice(params, "root_cause", RootCauseKind.values, "Root cause", errors),
        processor=str(params.get("processor", "") or "")[:200],
        clock=_choice(params, "clock", DeadlineCode.values, "Clock", errors),
        clock_state=_choice(params, "clock_state", DeadlineState.values, "Clock state", errors),
        errors=tuple(errors),
    )


# --- The breach management plan (DOMAIN.md s.5) -------------------------------------------


@dataclass(frozen=True)
class Missing:
    """One thing an incident lacks before it can be closed, with the element it belongs to."""

    element: str
    message: str


def containment_missing(incident: Incident) -> list[str]:
    """Containment is done when there is at least one action and none is still to do: each is
    done, or its explanation says why not."""
    actions = list(Action.objects.filter(incident=incident, kind=ActionKind.CONTAINMENT).only("description", "state"))
    if not actions:
        return ["No containment and recovery action is recorded"]
    return [
        f"Containment action still to do: {a.description} (mark it done, or explain why not)"
        for a in actions
        if a.state == ActionState.OPEN
    ]


def closure_missing(incident: Incident) -> list[Missing]:
    """Everything PC02-11 asks for before an incident is closed: containment done or
    explained, every notification decision recorded and carried out, the tracker form
    complete, lessons learned and improvement actions recorded."""
    out = [Missing(PlanElement.CONTAINMENT, m) for m in containment_missing(incident)]
    if not RiskAssessment.objects.filter(incident=incident).exists():
        out.append(Missing(PlanElement.ASSESSMENT, "No risk assessment is recorded"))
    decisions = current_decisions(incident)
    told = set(PartyNotice.objects.filter(incident=incident).values_list("party", flat=True))
    for kind in DecisionKind:
        decision = decisions.get(kind)
        if decision is None:
            out.append(Missing(PlanElement.NOTIFICATION, f"No decision is recorded on: {kind.label}"))
        elif decision.decision:
            if kind == DecisionKind.NOTIFY_REGULATOR and not IcoSubmission.objects.filter(incident=incident).exists():
                out.append(
                    Missing(
                        PlanElement.NOTIFICATION, "The decision was to notify the ICO, but no submission is recorded"
                    )
                )
            if kind == DecisionKind.NOTIFY_SUBJECTS and Party.DATA_SUBJECTS not in told:
                out.append(
                    Missing(
                        PlanElement.NOTIFICATION,
                        "The decision was to tell the people affected, but telling them is not recorded",
                    )
                )
            if kind == DecisionKind.INVOLVE_POLICE and Party.POLICE not in told:
                out.append(
                    Missing(
                        PlanElement.NOTIFICATION,
                        "The decision was to involve the police, but telling them is not recorded",
                    )
                )
    out.extend(Missing(PlanElement.NOTIFICATION, m) for m in chain_missing(incident))
    tracker = TrackerFormVersion.objects.filter(incident=incident).order_by("-version").first()
    if tracker is None:
        out.append(Missing(PlanElement.EVALUATION, "The Security Incident Tracker Form is not started"))
    elif tracker.missing:
        out.append(
            Missing(PlanElement.EVALUATION, "The tracker form is not complete: " + ", ".join(tracker.missing).lower())
        )
    if not Lesson.objects.filter(incident=incident).exists():
        out.append(Missing(PlanElement.EVALUATION, "No lessons learned are recorded"))
    if not Action.objects.filter(incident=incident, kind=ActionKind.IMPROVEMENT).exists():
        out.append(Missing(PlanElement.EVALUATION, "No improvement action is recorded"))
    return out


def chain_missing(incident: Incident) -> list[str]:
    """What the escalation chain and the clocks still wait for (PC02-9: every receipt
    confirmed). An incident closed with any of these open would go on sending reminders and
    escalating to alternates about a closed incident, or leave a receipt nobody confirmed."""
    out = []
    waiting = (
        Notification.objects.filter(incident=incident, ack_required=True, state__in=OPEN_NOTIFICATION_STATES)
        .select_related("recipient")
        .order_by("step", "id")
    )
    for n in waiting:
        who = f"{n.recipient.get_full_name() or n.recipient.get_username()} ({role_labels(n.role)})"
        if n.state == NotificationState.SCHEDULED:
            out.append(f"{who} is still to be told")
        else:
            out.append(f"{who} has not confirmed receipt: confirm it, or record the phone call")
    for approval in Approval.objects.filter(incident=incident, state=ApprovalState.PENDING).order_by("step", "id"):
        approver = role_labels(approval.approver_role) or "approver"
        out.append(f"Step {approval.step} of the escalation waits for a decision by the {approver}")
    running = Deadline.objects.filter(incident=incident, state=DeadlineState.PENDING, due_at__isnull=False)
    for deadline in running.order_by("due_at", "id"):  # a clock waiting for its event to start is not running
        out.append(f"The clock “{DeadlineCode(deadline.code).label}” is still running: meet it or record why not")
    return out


@dataclass(frozen=True)
class Similar:
    incident: Incident
    reasons: tuple[str, ...]
    earlier: bool


def _dataset_names(incident: Incident) -> set[str]:

    names = AssessedDataSet.objects.filter(assessment__incident=incident).values_list("name", flat=True)
    return {n.strip().lower() for n in names if n.strip()}


def similar_incidents(
    incident: Incident, *, user: User | AnonymousUser, window_days: int | None = None
) -> list[Similar]:
    """Recurrence (DOMAIN.md s.7): incidents within the window before or after this one in
    the same unit and category, with the same processor, or losing the same data set. Only
    those the user may see."""
    days = settings.RECURRENCE_WINDOW_DAYS if window_days is None else window_days
    window = timedelta(days=days)
    match = Q(org_unit_id=incident.org_unit_id, category=incident.category)
    partner = incident.third_party.strip().lower()
    if partner:
        match |= Q(pk__in=Incident.objects.annotate(p=Lower(Trim("third_party"))).filter(p=partner).values("pk"))
    datasets = _dataset_names(incident)
    if datasets:
        match |= Q(
            pk__in=AssessedDataSet.objects.annotate(n=Lower(Trim("name")))
            .filter(n__in=datasets)
            .values("assessment__incident_id")
        )
    rows = list(
        incidents_for_user(user)
        .filter(match)
        .filter(discovered_at__gte=incident.discovered_at - window, discovered_at__lte=incident.discovered_at + window)
        .exclude(pk=incident.pk)
        .select_related("org_unit")
        .order_by("-discovered_at")[:50]
    )
    their_datasets: dict[int, set[str]] = {}
    if datasets and rows:
        for incident_id, name in AssessedDataSet.objects.filter(
            assessment__incident_id__in=[r.pk for r in rows]
        ).values_list("assessment__incident_id", "name"):
            their_datasets.setdefault(incident_id, set()).add(name.strip().lower())
    out = []
    for row in rows:
        reasons = []
        if row.org_unit_id == incident.org_unit_id and row.category == incident.category:
            reasons.append("same unit and kind of loss")
        if partner and row.third_party.strip().lower() == partner:
            reasons.append(f"same processor or partner ({row.third_party.strip()})")
        shared = sorted(datasets & their_datasets.get(row.pk, set()))
        if shared:
            reasons.append("same data set (" + ", ".join(shared) + ")")
        out.append(Similar(incident=row, reasons=tuple(reasons), earlier=row.discovered_at <= incident.discovered_at))
    return out


def recurring_for_user(user: User | AnonymousUser, *, window_days: int | None = None) -> QuerySet[Incident]:
    """Open incidents the user may see that repeat an earlier one in the same unit and
    category within the window: the list an ISIM must not miss."""
    days = settings.RECURRENCE_WINDOW_DAYS if window_days is None else window_days
    window = timedelta(days=days)
    since = timezone.now() - window
    earlier = (
        Incident.objects.filter(
            org_unit_id=OuterRef("org_unit_id"),
            category=OuterRef("category"),
            discovered_at__lte=OuterRef("discovered_at"),
            discovered_at__gte=OuterRef("discovered_at") - window,
        )
        # implied by the line above, but a constant the planner can use to read only the
        # recent incidents rather than hash all of them
        .filter(discovered_at__gte=since - window)
        .exclude(pk=OuterRef("pk"))
    )
    return (
        incidents_for_user(user)
        .filter(status__in=OPEN_STATUSES, discovered_at__gte=since)
        .filter(Exists(earlier))
        .select_related("org_unit")
        .order_by("-discovered_at")
    )


def open_actions_for_user(user: User) -> QuerySet[Action]:
    """Actions the user owns that are still to do, whatever the incident's status: improvement
    actions outlive the incident."""
    return Action.objects.filter(owner=user, state=ActionState.OPEN).select_related("incident").order_by("due_on", "id")


def controls_citable(incident: Incident) -> QuerySet[ControlCheck]:
    """Control checks a root cause may cite: the incident's unit and the units above it, and
    its processor or partner."""
    citable = Q(subject=ControlSubject.UNIT, unit__in=incident.org_unit.ancestors_and_self())
    partner = incident.third_party.strip()
    if partner:
        citable |= ~Q(subject=ControlSubject.UNIT) & Q(partner__iexact=partner)
    return ControlCheck.objects.filter(citable).select_related("unit").order_by("kind", "-checked_on")
