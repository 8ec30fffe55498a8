"""Browser views for risk assessment: the form, the explained result, versions side by side,
and the decisions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from breachdesk.http import current_user
from breachdesk.selectors import user_has_role
from incidents.selectors import incident_get_for_user

from . import selectors, services
from .choices import DECIDERS, DecisionKind
from .forms import AssessmentForm, DataSetFormSet, DecisionForm, GroupFormSet
from .models import RiskAssessment

COMPARED = (
    "data_categories",
    "subject_categories",
    "subjects_count",
    "records_count",
    "ease_of_identification",
    "confidentiality",
    "integrity",
    "availability",
    "malicious",
    "encryption",
    "recipients_trusted_and_data_recovered",
    "backup_available",
    "dpc_adjustment",
    "theft",
    "mappa_information",
    "law_enforcement_processing",
    "dpc",
    "ei",
    "cb",
    "score",
    "level",
    "risk_to_individuals",
    "population_min",
    "population_max",
)


def _rows(formset: Any, required: str) -> list[dict[str, Any]]:
    return [f.cleaned_data for f in formset.forms if f.cleaned_data.get(required)]


@require_GET
def assessment_index(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    assessments = list(selectors.assessments_for_incident(incident))
    return render(
        request,
        "riskassess/index.html",
        {
            "incident": incident,
            "assessments": assessments,
            "latest": assessments[0] if assessments else None,
            "can_assess": user_has_role(request.user, services.ASSESSORS),
        },
    )


@require_http_methods(["GET", "POST"])
def assessment_new(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    if not user_has_role(request.user, services.ASSESSORS):
        raise PermissionDenied
    latest = selectors.assessments_for_incident(incident).first()
    initial: dict[str, Any] = {
        "data_categories": incident.data_categories,
        "subject_categories": incident.subject_categories,
        "subjects_count": incident.approx_subjects,
        "records_count": incident.approx_records,
        "encryption": "encrypted_key_safe" if incident.encryption == "encrypted" else "none",
        "circumstances_narrative": incident.circumstances,
    }
    if latest is not None:
        initial.update({f: getattr(latest, f) for f in AssessmentForm.base_fields if hasattr(latest, f)})
    for key in list(initial):
        if isinstance(initial[key], bool):
            initial[key] = "true" if initial[key] else "false"
    form = AssessmentForm(request.POST or None, initial=initial)
    lost, groups_initial = _from_population(incident)
    datasets = DataSetFormSet(request.POST or None, prefix="ds", initial=lost or None)
    groups = GroupFormSet(request.POST or None, prefix="grp", initial=groups_initial or None)
    if request.method == "POST" and form.is_valid() and datasets.is_valid() and groups.is_valid():
        data = {**form.cleaned_data, "datasets": _rows(datasets, "name"), "groups": _rows(groups, "name")}
        try:
            assessment = services.risk_assessment_create(incident=incident, actor=current_user(request), data=data)
        except ValidationError as error:
            for field, errs in error.message_dict.items():
                for message in errs:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, f"Assessment version {assessment.version} recorded.")
            return redirect("riskassess:result", reference=incident.reference, version=assessment.version)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "riskassess/form.html",
        {"incident": incident, "form": form, "datasets": datasets, "groups": groups},
        status=status,
    )


def _from_population(incident: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The uploaded data sets and the largest groups by what was exposed, to start the
    assessment's data sets and group register from exact figures (riskassess/population.py)."""
    from .population import population_get

    snapshot = population_get(incident)
    if snapshot is None:
        return [], []
    labels = {d.pk: ", ".join(d.labels) for d in incident.lost_datasets.all()}
    result = snapshot.result
    lost = [
        {"name": d["name"], "records": d["rows"], "people": d["people"], "fields_held": labels.get(d["id"], "")}
        for d in result["datasets"]
    ]
    groups = [
        {"name": f"People whose {', '.join(c['fields']).lower()} were exposed"[:200], "size": c["people"]}
        for c in result["combinations"][:3]
    ]
    return lost, groups


@require_GET
def assessment_result(request: HttpRequest, reference: str, version: int) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    assessment = selectors.assessment_get(incident, version)
    decisions = selectors.current_decisions(incident)
    recs = [
        {
            "kind": kind,
            "label": label,
            "recommended": bool(assessment.recommendations.get(kind)),
            "decision": decisions.get(kind),
        }
        for kind, label in DecisionKind.choices
    ]
    return render(
        request,
        "riskassess/result.html",
        {
            "incident": incident,
            "a": assessment,
            "recs": recs,
            "is_latest": not RiskAssessment.objects.filter(incident=incident, version__gt=version).exists(),
            "can_decide": user_has_role(request.user, DECIDERS),
            "history": selectors.decision_history(incident),
        },
    )


@require_GET
def assessment_compare(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    try:
        a_version, b_version = int(request.GET.get("a", "")), int(request.GET.get("b", ""))
    except ValueError:
        messages.error(request, "Choose two versions to compare.")
        return redirect("riskassess:index", reference=reference)
    a = selectors.assessment_get(incident, a_version)
    b = selectors.assessment_get(incident, b_version)
    rows = [
        (field.replace("_", " "), getattr(a, field), getattr(b, field), getattr(a, field) != getattr(b, field))
        for field in COMPARED
    ]
    return render(request, "riskassess/compare.html", {"incident": incident, "a": a, "b": b, "rows": rows})


@require_POST
def decision_record(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    form = DecisionForm(request.POST)
    latest: RiskAssessment | None = selectors.assessments_for_incident(incident).first()
    if request.POST.get("from") == "tasks":
        back = reverse("tasks") + "#decisions"
    elif latest is not None:
        back = reverse("riskassess:result", args=[reference, latest.version]) + "#decisions"
    else:
        back = reverse("riskassess:index", args=[reference])
    if not form.is_valid():
        for form_errors in form.errors.values():
            for message in form_errors:
                messages.error(request, str(message))
        return redirect(back)
    try:
        services.decision_record(
            incident=incident,
            actor=current_user(request),
            kind=form.cleaned_data["kind"],
            decision=form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as error:
        for service_errors in error.message_dict.values():
            for message in service_errors:
                messages.error(request, str(message))
    else:
        messages.success(request, f"Decision recorded for {incident.reference}.")
    return redirect(back)
