"""Permission-scoped reads. ``incidents_for_user`` is the single entry point every page,
API view and report uses to decide which incidents a user may see (DESIGN.md "Access")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.lookups import IsNull
from django.http import Http404
from django.utils import timezone

from breachdesk.models import AuditEvent, OrgUnit, Profile
from breachdesk.selectors import scope_for_user
from notifications.choices import DeadlineState
from notifications.models import Deadline, Notification

from .models import Incident, TimelineEntry

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
    told = Notification.objects.filter(recipient=user)
    told_count = told.values("pk")[:TOLD_PROBE_THRESHOLD].count()
    if told_count >= TOLD_PROBE_THRESHOLD:
        # Told about thousands (a line manager over years): hashing them all costs every
        # page 20-150 ms, so each candidate row is probed on the (recipient, incident)
        # index instead, and only when the cheaper conditions have not already matched. A
        # scalar subquery, because PostgreSQL hashes an IN or EXISTS subquery whole.
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
    status: str = ""
    org_unit: str = ""
    category: str = ""
    overdue: bool = False
    q: str = ""


def incidents_filtered(qs: QuerySet[Incident], filters: IncidentFilters) -> QuerySet[Incident]:
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.org_unit:
        unit = OrgUnit.objects.filter(code=filters.org_unit).first()
        qs = qs.filter(org_unit__in=unit.subtree().values("id")) if unit else qs.none()
    if filters.overdue:
        qs = qs.filter(Exists(overdue_deadlines().filter(incident=OuterRef("pk"))))
    if filters.q:
        term = filters.q.strip()
        qs = qs.filter(Q(reference__iexact=term) | Q(title__icontains=term) | Q(description__icontains=term))
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


def parse_filters(params: Any) -> IncidentFilters:
    return IncidentFilters(
        status=str(params.get("status", "") or ""),
        org_unit=str(params.get("org_unit", "") or ""),
        category=str(params.get("category", "") or ""),
        overdue=str(params.get("overdue", "")).lower() in {"true", "1", "yes", "on"},
        q=str(params.get("q", "") or "")[:200],
    )
