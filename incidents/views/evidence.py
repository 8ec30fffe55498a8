"""Evidence in the browser: attach a file from the incident page, and download it. Both go
through ``incident_get_for_user``: outside the user's scope, the incident and its files do
not exist (404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from breachdesk.http import current_user

from .. import selectors
from ..choices import TimelineKind
from ..evidence import type_name
from ..forms.evidence import EvidenceForm
from ..models import Action, Evidence, Incident, TimelineEntry
from ..services.evidence import evidence_attach, evidence_for_incident, evidence_open


def _form(incident: Incident, *args: Any) -> EvidenceForm:
    actions = Action.objects.filter(incident=incident).only("id", "description").order_by("id")
    notes = (
        TimelineEntry.objects.filter(incident=incident, kind=TimelineKind.NOTE)
        .only("id", "body", "created_at")
        .order_by("created_at", "id")
    )
    # A prefix: the incident page holds many forms, and ids must stay unique.
    return EvidenceForm(*args, actions=actions, notes=notes, prefix="evidence")


def evidence_context(incident: Incident) -> dict[str, Any]:
    """What ``incidents/_evidence.html`` needs on the incident page, in three queries however
    many files: merge it into the page's context."""
    rows = list(evidence_for_incident(incident))
    for row in rows:
        setattr(row, "type_name", type_name(row.content_type))  # noqa: B010 - not a model field
    return {"evidence": rows, "evidence_form": _form(incident)}


def download_response(handle: Any, evidence: Evidence) -> FileResponse:
    """The stored file as a download, never displayed: the type it was accepted as, and no
    second-guessing of it by the browser. Shared with the API."""
    content_type = evidence.content_type
    if content_type == "text/plain":
        content_type += "; charset=utf-8"  # the sniffer accepted only UTF-8 text
    response = FileResponse(handle, as_attachment=True, filename=evidence.original_name, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def _apply_errors(form: EvidenceForm, error: ValidationError) -> None:
    for field, field_messages in error.message_dict.items():
        target = "attach_to" if field in ("action", "note") else field if field in form.fields else None
        for message in field_messages:
            form.add_error(target, message)


@require_POST
def evidence_add(request: HttpRequest, reference: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    form = _form(incident, request.POST, request.FILES)
    if form.is_valid():
        try:
            evidence = evidence_attach(
                incident=incident,
                actor=current_user(request),
                upload=form.cleaned_data["file"],
                **form.cleaned_data["attach_to"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"{evidence.original_name} attached.")
            return redirect(reverse("incidents:detail", kwargs={"reference": reference}) + "#evidence")
    return render(request, "incidents/evidence_error.html", {"incident": incident, "form": form}, status=400)


@require_GET
def evidence_download(request: HttpRequest, reference: str, pk: int) -> FileResponse:
    incident = selectors.incident_get_for_user(user=request.user, reference=reference)
    evidence = get_object_or_404(Evidence, pk=pk, incident=incident)
    evidence.incident = incident
    try:
        handle = evidence_open(evidence=evidence, actor=current_user(request))
    except FileNotFoundError as error:
        raise Http404("The file is missing from the evidence store.") from error
    return download_response(handle, evidence)


# Included by incidents/urls.py: paths relative to /incidents/, names in the "incidents" namespace.
urlpatterns = [
    path("<str:reference>/evidence/", evidence_add, name="evidence-add"),
    path("<str:reference>/evidence/<int:pk>/", evidence_download, name="evidence-download"),
]
