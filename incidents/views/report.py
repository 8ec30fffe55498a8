"""Browser views: parse, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from breachdesk.choices import AUDIT_VERIFY_ROLES, GLOBAL_ROLES, UNIT_SCOPED_ROLES
from breachdesk.http import apply_errors, current_user
from breachdesk.models import OrgUnit
from breachdesk.selectors import user_has_role
from notifications.choices import DeadlineState
from notifications.forms import ChangeDueForm, IcoSubmissionForm, ReasonForm
from notifications.models import Deadline
from notifications.selectors import (
    LIST_CLOCK_FIELDS,
    approvals_for_incident,
    clock_flags,
    deadline_rows,
    escalation_preview,
    ico_submissions_for_incident,
    notifications_for_incident,
)
from notifications.services.deadlines import ICO_DECIDERS, ICO_RECORDERS

from .. import selectors, services
from ..choices import Category, DataCategory, Status, SubjectCategory
from ..forms import IncidentEditForm, IncidentReportForm, NoteForm
from ..models import Incident

PAGE_SIZE = 25


@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.parse_filters(request.GET)
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    qs = selectors.incidents_filtered(selectors.incidents_for_user(request.user), filters)
    pending = Deadline.objects.filter(state=DeadlineState.PENDING).only(*LIST_CLOCK_FIELDS)
    incidents, next_cursor = selectors.incident_list_page(qs, before_id=before, page_size=PAGE_SIZE, deadlines=pending)
    params = request.GET.copy()
    next_url = None
    if next_cursor is not None:
        params["before"] = str(next_cursor)
        next_url = f"?{params.urlencode()}"
    now = timezone.now()
    return render(
        request,
        "incidents/list.html",
        {
            "rows": [(i, clock_flags(i.deadlines.all(), now=now)) for i in incidents],
            "filters": filters,
            "next_url": next_url,
            "is_first_page": before is None,
            "statuses": Status.choices,
            "categories": Category.choices,
            "units": OrgUnit.objects.order_by("path"),
        },
    )


@require_http_methods(["GET", "POST"])
def incident_new(request: HttpRequest) -> HttpResponse:
    profile = getattr(request.user, "profile", None)
    initial = {"discovered_at": timezone.now(), "suspected": "true"}
    if profile is not None:
        initial["org_unit"] = profile.unit.code
    form = IncidentReportForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.incident_report(reporter=current_user(request), **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect("incidents:confirmation", reference=incident.reference)
    return render(request, "incidents/new.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
def incident_confirmation(request: HttpRequest, reference: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    now = timezone.now()
    return render(
        request,
        "incidents/confirmation.html",
        {
            "incident": incident,
            "deadlines": deadline_rows(incident.deadlines.all(), now=now),
            "who_will_be_told": escalation_preview(incident),
        },
    )


def _detail_context(
    request: HttpRequest, incident: Incident, *, note_form: NoteForm | None = None, bound: dict[str, Any] | None = None
) -> dict[str, Any]:
    from .evidence import evidence_context
    from .plan import plan_context

    can_see_audit = user_has_role(request.user, UNIT_SCOPED_ROLES | AUDIT_VERIFY_ROLES)
    managing = user_has_role(request.user, UNIT_SCOPED_ROLES | GLOBAL_ROLES)
    return {
        **plan_context(request, incident, **(bound or {})),
        **evidence_context(incident),
        "notifications": notifications_for_incident(incident),
        "approvals": approvals_for_incident(incident),
        "ico_submissions": ico_submissions_for_incident(incident),
        "can_manage": managing,
        "can_decide_ico": user_has_role(request.user, ICO_DECIDERS),
        "can_record_ico": user_has_role(request.user, ICO_RECORDERS),
        "ico_form": IcoSubmissionForm(),
        "reason_form": ReasonForm(),
        "change_due_form": ChangeDueForm(),
        "incident": incident,
        "deadlines": deadline_rows(incident.deadlines.all(), now=timezone.now()),
        "timeline": selectors.incident_timeline(incident),
        "note_form": note_form or NoteForm(),
        "data_labels": ", ".join(DataCategory(c).label for c in incident.data_categories),
        "subject_labels": ", ".join(SubjectCategory(c).label for c in incident.subject_categories),
        "audit_events": selectors.incident_audit_events(incident) if can_see_audit else None,
    }


@require_GET
def incident_detail(request: HttpRequest, reference: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    return render(request, "incidents/detail.html", _detail_context(request, incident))


@require_GET
def incident_clocks(request: HttpRequest, reference: str) -> HttpResponse:
    """The clocks alone, polled by htmx so time remaining stays current without a reload."""
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    return render(
        request,
        "incidents/_clocks.html",
        {
            "incident": incident,
            "deadlines": deadline_rows(incident.deadlines.all(), now=timezone.now()),
        },
    )


@require_http_methods(["GET", "POST"])
def incident_edit(request: HttpRequest, reference: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    initial = {f: getattr(incident, f) for f in services.EDITABLE_FIELDS if f != "org_unit"}
    initial["org_unit"] = incident.org_unit.code
    initial["suspected"] = "true" if incident.suspected else "false"
    form = IncidentEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k in services.EDITABLE_FIELDS}
        try:
            services.incident_update(incident=incident, actor=current_user(request), changes=changes)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Incident details saved.")
            return redirect("incidents:detail", reference=incident.reference)
    return render(
        request, "incidents/edit.html", {"incident": incident, "form": form}, status=400 if form.errors else 200
    )


@require_POST
def incident_add_note(request: HttpRequest, reference: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.incident_add_note(incident=incident, author=current_user(request), body=form.cleaned_data["body"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Note added.")
            return redirect(reverse("incidents:detail", kwargs={"reference": reference}) + "#timeline")
    return render(request, "incidents/detail.html", _detail_context(request, incident, note_form=form), status=400)
