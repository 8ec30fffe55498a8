"""Reads for clocks, notifications, approvals and each person's tasks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from breachdesk.choices import GLOBAL_ROLES, UNIT_SCOPED_ROLES
from breachdesk.selectors import user_has_role
from incidents.choices import Status
from incidents.models import Incident
from incidents.selectors import incidents_for_user
from riskassess.choices import DECIDERS, DecisionKind
from riskassess.models import Decision, RiskAssessment

from .choices import SHORT_TITLES, ApprovalState, DeadlineCode, DeadlineState, NotificationState
from .clocks import describe_remaining, rag
from .models import Approval, Deadline, EscalationPolicy, IcoSubmission, Notification


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
    reason: str
    missed_told: list[str]


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
                reason=d.reason,
                missed_told=list(d.missed_told or []),
            )
        )
    return rows


@dataclass(frozen=True)
class ClockFlag:
    rag: str
    short_title: str


# What a list of incidents needs of their clocks: only the pending ones, few columns.
LIST_CLOCK_FIELDS = ("id", "incident_id", "code", "starts_at", "due_at", "state")


def clock_flags(deadlines: Iterable[Deadline], *, now: datetime) -> list[ClockFlag]:
    """An incident's overdue (red) and due-soon (amber) clocks, for lists."""
    flags = []
    for d in deadlines:
        if d.state == DeadlineState.PENDING:
            colour = rag(starts_at=d.starts_at, due_at=d.due_at, now=now)
            if colour in ("red", "amber"):
                flags.append(ClockFlag(rag=colour, short_title=SHORT_TITLES[DeadlineCode(d.code)]))
    return flags


@dataclass(frozen=True)
class Recipient:
    role: str
    names: list[str]
    when: str = ""


WHEN = {
    "reported": "Now",
    "previous_acknowledged": "When the step before confirms",
    "approval_given": "When the Chief Officer approves",
}


def escalation_preview(incident: Incident) -> list[Recipient]:
    """Who is told and when, step by step (PC02-6, PC02-8): those already notified, then
    whom the following steps will reach."""
    from .recipients import resolve_step

    escalation = incident.escalations.order_by("-id").first()
    if escalation is None:
        return []
    told: dict[int, list[Notification]] = {}
    for n in incident.notifications.filter(escalation=escalation).select_related("recipient").order_by("id"):
        told.setdefault(n.step, []).append(n)
    out: list[Recipient] = []
    for step in escalation.snapshot:
        when = WHEN.get(step["trigger"], "")
        if step["order"] in told:
            for n in told[step["order"]]:
                out.append(Recipient(n.role, [n.recipient.get_full_name() or n.recipient.get_username()], when))
            continue
        people, unresolved = resolve_step(targets=step["targets"], incident=incident)
        if len(people) > 5:
            out.append(Recipient(step["name"], [f"{len(people)} people"], when))
            continue
        for user, roles in people.values():
            out.append(Recipient(", ".join(roles), [user.get_full_name() or user.get_username()], when))
        out += [Recipient(role, [], when) for role in unresolved]
    return out


def notifications_for_incident(incident: Incident) -> QuerySet[Notification]:
    return incident.notifications.select_related("recipient", "acknowledged_by").order_by("step", "id")


def approvals_for_incident(incident: Incident) -> QuerySet[Approval]:
    return incident.approvals.select_related("decided_by").prefetch_related("approvers").order_by("step")


def ico_submissions_for_incident(incident: Incident) -> QuerySet[IcoSubmission]:
    return incident.ico_submissions.select_related("recorded_by").order_by("submitted_at", "id")


@dataclass(frozen=True)
class PendingDecision:
    """A recommendation of an incident's latest assessment that nobody has decided yet."""

    kind: str
    label: str
    recommended: bool


@dataclass
class DecisionTask:
    incident: Incident
    assessment: RiskAssessment
    pending: list[PendingDecision]


@dataclass
class Tasks:
    to_acknowledge: list[Notification]
    approvals: list[Approval]
    phone_prompts: list[Notification]
    escalated: list[Notification]
    missed: list[Deadline]
    decisions: list[DecisionTask] = field(default_factory=list)
    decisions_more: bool = False  # more than TASKS_SHOWN wait
    to_acknowledge_more: int = 0  # receipts waiting beyond the TASKS_SHOWN most urgent

    @property
    def count(self) -> int:
        return (
            len(self.to_acknowledge)
            + len(self.approvals)
            + len(self.phone_prompts)
            + len(self.escalated)
            + len(self.missed)
            + len(self.decisions)
        )


OPEN_STATUSES = (Status.REPORTED, Status.UNDER_INVESTIGATION, Status.CONTAINED)
# Each section of a task list shows its most urgent few: a queue of hundreds on one page
# helps nobody, and costs every visit.
TASKS_SHOWN = 20


def decisions_for_user(user: User | AnonymousUser) -> list[DecisionTask]:
    """Open incidents in the user's scope that have been assessed but whose recommendations
    (notify the ICO, tell the people affected, involve the police) still wait for a
    decision: for the DPO, SIRO and Chief Officers, who decide them. Oldest report first,
    as its 72 hours run out soonest."""
    if not user.is_authenticated or not user_has_role(user, DECIDERS):
        return []
    # How many kinds are decided, counted per incident: one index probe each, where three
    # NOT EXISTS joined by OR make PostgreSQL hash the whole decisions table.
    decided_kinds = Subquery(
        Decision.objects.filter(incident=OuterRef("pk"))
        .order_by()
        .values("incident")
        .annotate(n=Count("kind", distinct=True))
        .values("n"),
        output_field=IntegerField(),
    )
    incidents = list(
        incidents_for_user(user)
        .filter(status__in=OPEN_STATUSES)
        .filter(Exists(RiskAssessment.objects.filter(incident=OuterRef("pk"))))
        .annotate(decided_kinds=Coalesce(decided_kinds, 0))
        .filter(decided_kinds__lt=len(DecisionKind.values))
        .select_related("org_unit")
        .order_by("reported_at", "id")[: TASKS_SHOWN + 1]
    )
    if not incidents:
        return []
    latest: dict[int, RiskAssessment] = {}
    for assessment in RiskAssessment.objects.filter(incident__in=incidents).order_by("incident_id", "-version"):
        latest.setdefault(assessment.incident_id, assessment)
    decided: dict[int, set[str]] = {}
    for incident_id, kind in Decision.objects.filter(incident__in=incidents).values_list("incident_id", "kind"):
        decided.setdefault(incident_id, set()).add(kind)
    out = []
    for incident in incidents:
        assessment = latest[incident.pk]
        pending = [
            PendingDecision(kind, label, bool(assessment.recommendations.get(kind)))
            for kind, label in DecisionKind.choices
            if kind not in decided.get(incident.pk, set())
        ]
        out.append(DecisionTask(incident, assessment, pending))
    return out


def tasks_for_user(user: User | AnonymousUser) -> Tasks:
    """What the signed-in person must do, most urgent first."""
    if not user.is_authenticated:
        return Tasks([], [], [], [], [], [])
    open_states = [NotificationState.SCHEDULED, NotificationState.SENT]
    waiting = Notification.objects.filter(recipient=user, ack_required=True, state__in=open_states)
    to_ack = list(
        waiting.select_related("incident__org_unit").order_by(F("due_at").asc(nulls_last=True), "id")[: TASKS_SHOWN + 1]
    )
    to_ack_more = waiting.count() - TASKS_SHOWN if len(to_ack) > TASKS_SHOWN else 0
    approvals = list(
        Approval.objects.filter(approvers=user, state=ApprovalState.PENDING)
        .select_related("incident__org_unit")
        .order_by("created_at")
    )
    decided = Approval.objects.filter(escalation=OuterRef("escalation"), step=OuterRef("step"), decided_by=user)
    phone = list(
        Notification.objects.filter(phone_prompted=True, state=NotificationState.SENT)
        .filter(Exists(decided))
        .select_related("incident", "recipient")
        .order_by("due_at")
    )
    escalated: list[Notification] = []
    missed: list[Deadline] = []
    if user_has_role(user, GLOBAL_ROLES | UNIT_SCOPED_ROLES):
        visible = incidents_for_user(user).values("id")
        since = timezone.now() - timedelta(days=14)
        escalated = list(
            Notification.objects.filter(incident__in=visible, state=NotificationState.ESCALATED, created_at__gte=since)
            .select_related("incident", "recipient", "escalated_to__recipient")
            .order_by("-created_at")[:TASKS_SHOWN]
        )
        missed = list(
            Deadline.objects.filter(incident__in=visible, state=DeadlineState.MISSED, met_at__isnull=True)
            .select_related("incident")
            .order_by("due_at")[:TASKS_SHOWN]
        )
    decisions = decisions_for_user(user)
    return Tasks(
        to_ack[:TASKS_SHOWN],
        approvals,
        phone,
        escalated,
        missed,
        decisions[:TASKS_SHOWN],
        len(decisions) > TASKS_SHOWN,
        to_ack_more,
    )


def default_policy() -> EscalationPolicy | None:
    return EscalationPolicy.objects.filter(is_default=True).prefetch_related("steps").first()


def policies() -> QuerySet[EscalationPolicy]:
    return EscalationPolicy.objects.prefetch_related("steps").order_by("-is_default", "name")
