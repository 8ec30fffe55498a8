"""The breach management plan in the browser: the four elements on the incident page, the
status changes, the tracker form and the enquiries."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from breachdesk.http import apply_errors, current_user
from breachdesk.selectors import control_gaps_for_incident, user_has_role
from riskassess.models import RiskAssessment
from riskassess.selectors import current_decisions

from .. import selectors, services
from ..choices import ActionKind, PlanElement
from ..forms.plan import (
    ActionFinishForm,
    ActionForm,
    EnquiryForm,
    EnquiryUpdateForm,
    LessonForm,
    PartyNoticeForm,
    RootCauseForm,
    TrackerForm,
    TransitionForm,
)
from ..models import (
    TRACKER_FIELDS,
    TRACKER_LABELS,
    Action,
    Enquiry,
    Incident,
    Lesson,
    PartyNotice,
    RootCause,
    TrackerFormVersion,
)
from ..services.plan import PLAN_ROLES
from ..services.tracker import ENQUIRY_UPDATABLE


def plan_context(request: HttpRequest, incident: Incident, **bound: forms.Form) -> dict[str, Any]:
    """Everything the four elements show, in a fixed number of queries however many rows."""
    user = current_user(request)
    actions = list(
        Action.objects.filter(incident=incident).select_related("owner", "completed_by").order_by("kind", "state", "id")
    )
    latest = (
        RiskAssessment.objects.filter(incident=incident)
        .select_related("created_by")
        .prefetch_related("groups")
        .order_by("-version")
        .first()
    )
    missing = selectors.closure_missing(incident)
    missing_by_element: dict[str, list[str]] = {e.value: [] for e in PlanElement}
    for item in missing:
        missing_by_element[item.element].append(item.message)
    can_plan = user_has_role(user, PLAN_ROLES)
    tracker = (
        TrackerFormVersion.objects.filter(incident=incident).select_related("created_by").order_by("-version").first()
    )
    return {
        "can_plan": can_plan,
        "containment_actions": [a for a in actions if a.kind == ActionKind.CONTAINMENT],
        "improvement_actions": [a for a in actions if a.kind == ActionKind.IMPROVEMENT],
        "latest_assessment": latest,
        "risk_groups": list(latest.groups.all()) if latest else [],
        "decisions": list(current_decisions(incident).values()),
        "notices": PartyNotice.objects.filter(incident=incident).select_related("cleared_by", "recorded_by"),
        "root_causes": RootCause.objects.filter(incident=incident).select_related("control__unit", "recorded_by"),
        "lessons": Lesson.objects.filter(incident=incident).select_related("recorded_by"),
        "tracker": tracker,
        "missing_by_element": missing_by_element,
        "closure_missing": [m.message for m in missing],
        "transitions": services.transitions_for_user(incident, user),
        "similar": selectors.similar_incidents(incident, user=user),
        "enquiries": Enquiry.objects.filter(incident=incident).order_by("received_at", "id") if can_plan else None,
        "containment_form": bound.get("containment_form") or ActionForm(prefix="containment"),
        "improvement_form": bound.get("improvement_form") or ActionForm(prefix="improvement"),
        "finish_form": bound.get("finish_form") or ActionFinishForm(),
        "notice_form": bound.get("notice_form") or PartyNoticeForm(initial={"told_at": timezone.now()}),
        "root_cause_form": bound.get("root_cause_form") or RootCauseForm(controls=selectors.controls_citable(incident)),
        "lesson_form": bound.get("lesson_form") or LessonForm(),
        "transition_form": bound.get("transition_form") or TransitionForm(),
        "enquiry_form": bound.get("enquiry_form") or EnquiryForm(initial={"received_at": timezone.now()}),
        "bound_forms": [f for f in bound.values() if f.errors],
        "user_id": user.pk,
        "recurrence_window_days": settings.RECURRENCE_WINDOW_DAYS,
        "control_gaps": control_gaps_for_incident(incident),
    }


def _rerender(request: HttpRequest, incident: Incident, **bound: forms.Form) -> HttpResponse:
    from .report import _detail_context

    context = _detail_context(request, incident, bound=bound)
    return render(request, "incidents/detail.html", context, status=400)


def _back(reference: str, anchor: str) -> HttpResponse:
    return redirect(reverse("incidents:detail", kwargs={"reference": reference}) + anchor)


@require_POST
def action_add(request: HttpRequest, reference: str, kind: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    if kind not in ActionKind.values:
        raise Http404
    prefix = "containment" if kind == ActionKind.CONTAINMENT else "improvement"
    form = ActionForm(request.POST, prefix=prefix)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.action_create(
                incident=incident,
                actor=current_user(request),
                kind=kind,
                description=data["description"],
                owner=data["owner"],
                due_on=data["due_on"],
                topic=data["topic"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Action added.")
            return _back(
                reference, f"#{PlanElement.CONTAINMENT if kind == ActionKind.CONTAINMENT else PlanElement.EVALUATION}"
            )
    return _rerender(request, incident, **{f"{prefix}_form": form})


@require_POST
def action_finish(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    action = get_object_or_404(Action, pk=pk, incident=incident)
    form = ActionFinishForm(request.POST)
    if form.is_valid():
        try:
            services.action_finish(
                action=action,
                actor=current_user(request),
                done=form.cleaned_data["outcome"] == "done",
                text=form.cleaned_data["text"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Action updated on {reference}.")
            if request.POST.get("from") == "tasks":
                return redirect(reverse("tasks") + "#my-actions")
            return _back(reference, f"#action-{action.pk}")
    if request.POST.get("from") == "tasks":
        # From the task list the form is a one-line box: say what was missing there.
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, f"{reference}: {message}")
        return redirect(reverse("tasks") + f"#task-action-{action.pk}")
    return _rerender(request, incident, finish_form=form)


@require_POST
def notice_add(request: HttpRequest, reference: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    form = PartyNoticeForm(request.POST)
    if form.is_valid():
        try:
            services.party_notice_record(incident=incident, actor=current_user(request), **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Recorded who was told.")
            return _back(reference, f"#{PlanElement.NOTIFICATION}")
    return _rerender(request, incident, notice_form=form)


@require_POST
def root_cause_add(request: HttpRequest, reference: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    form = RootCauseForm(request.POST, controls=selectors.controls_citable(incident))
    if form.is_valid():
        try:
            services.root_cause_record(incident=incident, actor=current_user(request), **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Root cause recorded.")
            return _back(reference, f"#{PlanElement.EVALUATION}")
    return _rerender(request, incident, root_cause_form=form)


@require_POST
def lesson_add(request: HttpRequest, reference: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    form = LessonForm(request.POST)
    if form.is_valid():
        try:
            services.lesson_record(incident=incident, actor=current_user(request), text=form.cleaned_data["text"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Lesson learned recorded.")
            return _back(reference, f"#{PlanElement.EVALUATION}")
    return _rerender(request, incident, lesson_form=form)


@require_POST
def transition(request: HttpRequest, reference: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    form = TransitionForm(request.POST)
    if form.is_valid():
        try:
            changed = services.incident_transition(
                incident=incident,
                actor=current_user(request),
                target=form.cleaned_data["target"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"The incident is now {changed.get_status_display().lower()}.")
            return _back(reference, "#status")
    return _rerender(request, incident, transition_form=form)


@require_http_methods(["GET", "POST"])
def tracker_form(request: HttpRequest, reference: str) -> HttpResponse:
    """PC02-14: the current tracker form, its history, and the form to update it."""
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    versions = list(
        TrackerFormVersion.objects.filter(incident=incident).select_related("created_by").order_by("-version")
    )
    current = versions[0] if versions else None
    shown = current
    if request.GET.get("version"):
        shown = next((v for v in versions if str(v.version) == request.GET["version"]), current)
    can_plan = user_has_role(request.user, PLAN_ROLES)
    initial = {f: getattr(current, f) for f in TRACKER_FIELDS} if current else _tracker_initial(incident)
    form = TrackerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = {f: form.cleaned_data[f] for f in TRACKER_FIELDS}
        try:
            row = services.tracker_form_update(
                incident=incident,
                actor=current_user(request),
                fields=fields,
                change_note=form.cleaned_data["change_note"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Tracker form saved as version {row.version}.")
            return redirect("incidents:tracker", reference=reference)
    return render(
        request,
        "incidents/tracker.html",
        {
            "incident": incident,
            "versions": versions,
            "current": current,
            "shown": shown,
            "shown_fields": [(TRACKER_LABELS[f], getattr(shown, f)) for f in TRACKER_FIELDS] if shown else [],
            "form": form,
            "can_plan": can_plan,
        },
        status=400 if form.errors else 200,
    )


def _tracker_initial(incident: Incident) -> dict[str, str]:
    """A first version starts from what the report already says: nothing is typed twice."""
    people = "" if incident.approx_subjects is None else f"About {incident.approx_subjects:,} people."
    return {
        "summary": incident.description,
        "data_involved": ", ".join(incident.data_categories),
        "people_affected": people,
    }


@require_POST
def enquiry_add(request: HttpRequest, reference: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    form = EnquiryForm(request.POST)
    if form.is_valid():
        try:
            enquiry = services.enquiry_record(incident=incident, actor=current_user(request), **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Enquiry logged.")
            return redirect("incidents:enquiry", reference=reference, pk=enquiry.pk)
    return _rerender(request, incident, enquiry_form=form)


@require_http_methods(["GET", "POST"])
def enquiry_detail(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    incident, enquiry = enquiry_for_request(request, reference, pk)
    initial = {f: getattr(enquiry, f) for f in ENQUIRY_UPDATABLE}
    initial["data_held"] = "" if enquiry.data_held is None else ("true" if enquiry.data_held else "false")
    form = EnquiryUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.enquiry_update(enquiry=enquiry, actor=current_user(request), changes=dict(form.cleaned_data))
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Saved.")
            return redirect("incidents:enquiry", reference=reference, pk=enquiry.pk)
    return enquiry_page(request, incident, enquiry, form=form)


def enquiry_for_request(request: HttpRequest, reference: str, pk: int) -> tuple[Incident, Enquiry]:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    if not user_has_role(request.user, PLAN_ROLES):
        raise Http404  # enquirers' names are for those who run the plan
    return incident, get_object_or_404(Enquiry, pk=pk, incident=incident)


def enquiry_page(
    request: HttpRequest,
    incident: Incident,
    enquiry: Enquiry,
    *,
    form: forms.Form | None = None,
    lookup_form: forms.Form | None = None,
) -> HttpResponse:
    """The enquiry, the form to update it and, once the incident has processed data sets,
    the lookup that answers it from them (riskassess/people_views.py)."""
    from riskassess.forms import LookupForm
    from riskassess.population import done_datasets

    if form is None:
        initial = {f: getattr(enquiry, f) for f in ENQUIRY_UPDATABLE}
        initial["data_held"] = "" if enquiry.data_held is None else ("true" if enquiry.data_held else "false")
        form = EnquiryUpdateForm(initial=initial)
    lookup_form = lookup_form or LookupForm(initial={"full_name": enquiry.person_name})
    return render(
        request,
        "incidents/enquiry.html",
        {
            "incident": incident,
            "enquiry": enquiry,
            "form": form,
            "lookup_form": lookup_form,
            "datasets": done_datasets(incident),
        },
        status=400 if form.errors or lookup_form.errors else 200,
    )
