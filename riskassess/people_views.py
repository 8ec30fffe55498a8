"""Browser views for the people affected: the lost data sets of an incident, their exact
population, the upload in two steps (the file, then what each column holds), and the
lookup that answers an enquirer."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from breachdesk.http import apply_errors, current_user
from breachdesk.selectors import user_has_role
from incidents.models import Incident
from incidents.selectors import incident_get_for_user

from . import datasets, population
from .choices import DataSetStatus
from .forms import DataSetUploadForm, LookupForm, MappingForm
from .models import LostDataSet

ACTIVE = (DataSetStatus.QUEUED, DataSetStatus.PROCESSING)


def _session_key(incident: Incident) -> str:
    return f"dataset-upload:{incident.pk}"


def _live_context(incident: Incident) -> dict[str, Any]:
    rows = list(LostDataSet.objects.filter(incident=incident).select_related("uploaded_by").order_by("uploaded_at"))
    snapshot = population.population_get(incident)
    result = snapshot.result if snapshot is not None else None
    names = {d.pk: d.name for d in rows}
    if result is not None:
        result = {
            **result,
            "overlaps": [{**o, "names": [names.get(i, i) for i in o["datasets"]]} for o in result["overlaps"]],
            "regions": [
                {**r, "names": [names.get(i, i) for i in r["datasets"]], "share": _share(r["people"], result)}
                for r in result["regions"]
            ],
        }
    return {
        "incident": incident,
        "datasets": rows,
        "running": any(d.status in ACTIVE for d in rows),
        "population": result,
        "snapshot": snapshot,
    }


def _share(people: int, result: dict[str, Any]) -> int:
    total = result["unique_people"] or 1
    return round(100 * people / total)


@require_GET
def people(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    context = _live_context(incident)
    if request.headers.get("HX-Request"):
        # 286 tells htmx to stop polling once nothing is waiting or running.
        return render(request, "riskassess/_people_live.html", context, status=200 if context["running"] else 286)
    can_upload = user_has_role(request.user, datasets._uploaders())
    return render(
        request,
        "riskassess/people.html",
        {**context, "can_upload": can_upload, "form": DataSetUploadForm() if can_upload else None},
    )


@require_POST
def upload(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    if not user_has_role(request.user, datasets._uploaders()):
        raise PermissionDenied
    form = DataSetUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            received = datasets.receive_upload(upload, upload.name)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            _discard_draft(request, incident)
            request.session[_session_key(incident)] = {**received.as_dict(), "name": form.cleaned_data["name"]}
            return redirect("riskassess:people-map", reference=incident.reference)
    context = _live_context(incident)
    return render(request, "riskassess/people.html", {**context, "can_upload": True, "form": form}, status=400)


def _discard_draft(request: HttpRequest, incident: Incident) -> None:
    draft = request.session.pop(_session_key(incident), None)
    if draft:
        datasets._remove(draft["upload_name"])


@require_http_methods(["GET", "POST"])
def map_columns(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    if not user_has_role(request.user, datasets._uploaders()):
        raise PermissionDenied
    draft = request.session.get(_session_key(incident))
    if not draft:
        messages.info(request, "Upload the file first.")
        return redirect("riskassess:people", reference=incident.reference)
    received = datasets.Received.from_dict(draft)
    if request.method == "POST" and request.POST.get("action") == "cancel":
        _discard_draft(request, incident)
        messages.info(request, "The file was discarded; nothing was kept.")
        return redirect("riskassess:people", reference=incident.reference)
    form = MappingForm(request.POST or None, header=received.header)
    if request.method == "POST" and form.is_valid():
        try:
            dataset = datasets.dataset_create(
                incident=incident,
                actor=current_user(request),
                name=draft["name"],
                received=received,
                mapping=form.mapping(),
            )
        except ValidationError as error:
            if "file" in error.message_dict or "name" in error.message_dict:
                request.session.pop(_session_key(incident), None)  # the file is gone: start again
                for message_list in error.message_dict.values():
                    for message in message_list:
                        messages.error(request, message)
                return redirect("riskassess:people", reference=incident.reference)
            apply_errors(form, error)
        else:
            request.session.pop(_session_key(incident), None)
            messages.success(request, f"{dataset.name} is being processed. Its figures appear here when it is done.")
            return redirect("riskassess:people", reference=incident.reference)
    return render(
        request,
        "riskassess/people_map.html",
        {"incident": incident, "form": form, "draft": draft},
        status=400 if form.errors else 200,
    )


@require_POST
def cancel(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    dataset = get_object_or_404(LostDataSet, pk=pk, incident=incident)
    try:
        datasets.dataset_cancel(dataset=dataset, actor=current_user(request))
    except ValidationError as error:
        messages.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
    else:
        messages.success(request, f"{dataset.name} is being cancelled; nothing from it will be kept.")
    return redirect("riskassess:people", reference=incident.reference)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A cell a spreadsheet will show as text, never run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


@require_GET
def population_csv(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    context = _live_context(incident)
    result = context["population"]
    if result is None:
        raise Http404("No data set has been processed yet")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{incident.reference}-people.csv"'
    writer = csv.writer(response)
    writer.writerow(["Figure", "Data sets or fields", "People"])
    writer.writerow(["Unique people", "", result["unique_people"]])
    for d in result["datasets"]:
        writer.writerow(map(neutralise, ["In data set", d["name"], d["people"]]))
    for o in result["overlaps"]:
        writer.writerow(map(neutralise, ["In all of", " + ".join(map(str, o["names"])), o["people"]]))
    for r in result["regions"]:
        writer.writerow(map(neutralise, ["In exactly", " + ".join(map(str, r["names"])), r["people"]]))
    for c in result["combinations"]:
        writer.writerow(map(neutralise, ["Fields exposed", " + ".join(c["fields"]), c["people"]]))
    return response


@require_POST
def enquiry_lookup(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    from incidents.views.plan import enquiry_for_request, enquiry_page

    incident, enquiry = enquiry_for_request(request, reference, pk)
    form = LookupForm(request.POST)
    if form.is_valid():
        try:
            result = population.enquiry_lookup(
                enquiry=enquiry,
                actor=current_user(request),
                identifiers={k: v for k, v in form.cleaned_data.items() if v},
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if result.found:
                held = "; ".join(f"{d.name}: {', '.join(d.fields)}" for d in result.datasets)
                messages.success(request, f"Found in {len(result.datasets)} of the lost data sets. {held}.")
            else:
                messages.success(request, "Not found in any of the lost data sets.")
            return redirect("incidents:enquiry", reference=reference, pk=enquiry.pk)
    return enquiry_page(request, incident, enquiry, lookup_form=form)
