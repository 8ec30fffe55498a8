"""Reports in the browser: a page per incident listing its reports and issued versions, an
HTML preview and a draft PDF of each, issuing, the letters to the people affected, and the
SIRO summary. Every incident view goes through ``incident_get_for_user`` (404 outside the
user's scope)."""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from breachdesk.http import apply_errors, current_user
from breachdesk.models import OrgUnit
from breachdesk.selectors import scope_for_user, user_has_role
from incidents.models import Enquiry, Incident
from incidents.selectors import incident_get_for_user
from incidents.services.plan import PLAN_ROLES
from riskassess.models import RiskGroup

from ..choices import INCIDENT_REPORT_KINDS, LetterBatchState, ReportKind
from ..dashboard import Filters, clock_panel, dashboard, figures_key
from ..models import IssuedReport, LetterBatch
from ..services import letters as letter_services
from ..services import reports as services
from .forms import DashboardForm, IssueForm, LetterBatchForm, SummaryForm
from .summary import Period


def _groups(incident: Incident) -> Any:
    latest = incident.risk_assessments.order_by("-version").first()
    return RiskGroup.objects.filter(assessment=latest).order_by("id") if latest else RiskGroup.objects.none()


def _group(incident: Incident, raw: str | None) -> RiskGroup | None:
    if not raw:
        return None
    try:
        return RiskGroup.objects.get(pk=int(raw), assessment__incident=incident)
    except (ValueError, RiskGroup.DoesNotExist):
        raise Http404("No such group in this incident's risk assessment") from None


def _request_for(incident: Incident, kind: str, params: Any) -> services.ReportRequest:
    if kind == ReportKind.ENQUIRY_LETTER:
        try:
            enquiry = Enquiry.objects.select_related("incident").get(
                pk=int(params.get("enquiry", "")), incident=incident
            )
        except (ValueError, Enquiry.DoesNotExist):
            raise Http404("No such enquiry") from None
        return services.enquiry_report(enquiry)
    if kind not in INCIDENT_REPORT_KINDS:
        raise Http404("No such report")
    return services.incident_report(kind, incident, group=_group(incident, params.get("group")))


def _query(report: services.ReportRequest) -> str:
    if report.subject.startswith("group:"):
        return "?group=" + report.subject.split(":", 1)[1]
    if report.subject.startswith("enquiry:"):
        return "?enquiry=" + report.subject.split(":", 1)[1]
    return ""


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def index_context(request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    issued = list(IssuedReport.objects.filter(incident=incident).select_related("issued_by"))
    for row in issued:
        row.verification = services.report_verify(row)  # type: ignore[attr-defined]
    groups = list(_groups(incident))
    return {
        "incident": incident,
        "kinds": [(k, ReportKind(k).label) for k in INCIDENT_REPORT_KINDS if k != ReportKind.SUBJECT_LETTER],
        "groups": groups,
        "enquiries": list(incident.enquiries.order_by("received_at", "id")),
        "issued": issued,
        "batches": list(LetterBatch.objects.filter(incident=incident)),
        "can_issue": user_has_role(request.user, PLAN_ROLES),
        "letter_form": extra.pop("letter_form", None) or LetterBatchForm(groups=_groups(incident)),
        **extra,
    }


@require_GET
def reports_index(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    return render(request, "reports/index.html", index_context(request, incident))


@require_GET
def report_preview(request: HttpRequest, reference: str, kind: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    report = _request_for(incident, kind, request.GET)
    back = reverse("notifications:reports", args=[incident.reference])
    pdf = reverse("notifications:report-pdf", args=[incident.reference, kind]) + _query(report)
    issue = (
        reverse("notifications:report-issue", args=[incident.reference, kind]) + _query(report)
        if user_has_role(request.user, PLAN_ROLES)
        else ""
    )
    return HttpResponse(report.html(preview=True, request=request, back_url=back, pdf_url=pdf, issue_url=issue))


@require_GET
def report_pdf(request: HttpRequest, reference: str, kind: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    report = _request_for(incident, kind, request.GET)
    return _pdf_response(report.pdf().content, report.filename.replace(".pdf", "-draft.pdf"))


def _issue_page(
    request: HttpRequest, report: services.ReportRequest, *, preview_url: str, done_url: str
) -> HttpResponse:
    """The issue form (GET), and issuing (POST): the same for every report."""
    form = IssueForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.report_issue(
                request=report,
                actor=current_user(request),
                issued_to=form.cleaned_data["issued_to"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{issued.title} issued to {issued.issued_to} as version {issued.version}.")
            return redirect(done_url)
    context = {
        "incident": report.incident,
        "report": report,
        "form": form,
        "preview_url": preview_url,
        "earlier": IssuedReport.objects.filter(
            incident=report.incident, kind=report.kind, subject=report.subject
        ).count(),
    }
    return render(request, "reports/issue.html", context, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
def report_issue(request: HttpRequest, reference: str, kind: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    report = _request_for(incident, kind, request.POST if request.method == "POST" else request.GET)
    if not user_has_role(request.user, PLAN_ROLES):
        raise PermissionDenied("Only managers, the ISR, ISIM, Chief Officer, SCS, DPO and SIRO can issue reports.")
    return _issue_page(
        request,
        report,
        preview_url=reverse("notifications:report-preview", args=[incident.reference, kind]) + _query(report),
        done_url=reverse("notifications:reports", args=[incident.reference]) + "#issued",
    )


@require_GET
def issued_download(request: HttpRequest, reference: str, pk: int) -> FileResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    issued = get_object_or_404(IssuedReport, pk=pk, incident=incident)
    try:
        handle = services.report_open(issued=issued, actor=current_user(request))
    except FileNotFoundError:
        raise Http404("The stored file is missing") from None
    return _file_response(handle, f"{incident.reference}-{issued.kind}-v{issued.version}.pdf")


def _file_response(handle: Any, filename: str) -> FileResponse:
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type="application/pdf")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
def letters_start(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    form = LetterBatchForm(request.POST, request.FILES, groups=_groups(incident))
    if form.is_valid():
        try:
            batch = letter_services.letter_batch_create(
                incident=incident,
                actor=current_user(request),
                group=form.cleaned_data["group"],
                upload=form.cleaned_data["recipients"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect("notifications:letters", incident.reference, batch.pk)
    context = index_context(request, incident, letter_form=form, form=form)
    return render(request, "reports/index.html", context, status=400)


def _batch(request: HttpRequest, reference: str, pk: int) -> LetterBatch:
    incident = incident_get_for_user(user=request.user, reference=reference)
    return get_object_or_404(LetterBatch.objects.select_related("incident", "created_by"), pk=pk, incident=incident)


@require_GET
def letters_status(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    batch = _batch(request, reference, pk)
    context = {"batch": batch, "incident": batch.incident, "running": _running(batch)}
    if request.headers.get("HX-Request"):
        # 286 tells htmx to stop polling once the batch has finished.
        return render(request, "reports/_batch_progress.html", context, status=200 if context["running"] else 286)
    return render(request, "reports/batch.html", context)


def _running(batch: LetterBatch) -> bool:
    return batch.state in (LetterBatchState.QUEUED, LetterBatchState.PROCESSING)


@require_POST
def letters_retry(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    batch = _batch(request, reference, pk)
    try:
        letter_services.letter_batch_retry(batch=batch, actor=current_user(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("notifications:letters", reference, pk)


@require_GET
def letters_download(request: HttpRequest, reference: str, pk: int) -> FileResponse:
    batch = _batch(request, reference, pk)
    if batch.state != LetterBatchState.DONE:
        raise Http404("The letters are not ready")
    try:
        handle = letter_services.letters_open(batch=batch, actor=current_user(request))
    except FileNotFoundError:
        raise Http404("The stored letters are missing") from None
    return _file_response(handle, f"{batch.incident.reference}-letters-{batch.pk}.pdf")


def _summary_request(request: HttpRequest, params: Any) -> tuple[SummaryForm, services.ReportRequest | None]:
    services.require_summary_role(request.user)
    form = SummaryForm(params or None, units=_units_for(request.user))
    if not params or not form.is_valid():
        return form, None
    try:
        period = services.parse_period(params.get("start"), params.get("end"))
    except ValidationError as error:
        apply_errors(form, error)
        return form, None
    return form, services.summary_report(request.user, period=period, unit=form.cleaned_data["unit"])


def _summary_query(form: SummaryForm) -> str:
    unit = form.cleaned_data["unit"]
    return urlencode(
        {
            "start": form.cleaned_data["start"].isoformat(),
            "end": form.cleaned_data["end"].isoformat(),
            "unit": unit.code if unit else "",
        }
    )


@require_GET
def siro_summary(request: HttpRequest) -> HttpResponse:
    """The SIRO summary: a form for the period and unit, then the preview, a PDF and issuing."""
    form, report = _summary_request(request, request.GET)
    if report is None:
        issued = IssuedReport.objects.filter(
            kind=ReportKind.SIRO_SUMMARY, issued_by=current_user(request)
        ).select_related("issued_by")[:20]
        context = {"form": form, "issued": issued}
        return render(request, "reports/summary_form.html", context, status=400 if request.GET else 200)
    query = _summary_query(form)
    if request.GET.get("format") == "pdf":
        return _pdf_response(report.pdf().content, report.filename.replace(".pdf", "-draft.pdf"))
    base = reverse("notifications:siro-summary")
    return HttpResponse(
        report.html(
            preview=True,
            request=request,
            back_url=f"{base}?{query}",
            pdf_url=f"{base}?{query}&format=pdf",
            issue_url=reverse("notifications:siro-summary-issue") + f"?{query}",
        )
    )


@require_http_methods(["GET", "POST"])
def siro_summary_issue(request: HttpRequest) -> HttpResponse:
    form, report = _summary_request(request, request.GET)
    if report is None:
        raise Http404("Choose the period first")
    summary = reverse("notifications:siro-summary")
    return _issue_page(request, report, preview_url=f"{summary}?{_summary_query(form)}", done_url=summary)


@require_GET
def summary_download(request: HttpRequest, pk: int) -> FileResponse:
    services.require_summary_role(request.user)
    issued = get_object_or_404(IssuedReport, pk=pk, incident=None, issued_by=current_user(request))
    handle = services.report_open(issued=issued, actor=current_user(request))
    return _file_response(handle, f"siro-summary-v{issued.version}-{issued.pk}.pdf")


def _units_for(user: Any) -> Any:
    scope = scope_for_user(user)
    units = OrgUnit.objects.order_by("path")
    return units if scope.sees_all else units.filter(scope.unit_filter())


def _dashboard_filters(request: HttpRequest) -> tuple[DashboardForm, Filters | None]:
    services.require_summary_role(request.user)
    form = DashboardForm(request.GET, units=_units_for(request.user))
    if not form.is_valid():
        return form, None
    today = timezone.localdate()
    end = form.cleaned_data["end"] or today
    start = form.cleaned_data["start"] or end - timedelta(days=89)
    if start > end:
        form.add_error("start", "The start date must be the same as or before the end date")
        return form, None
    return form, Filters(Period(start, end), form.cleaned_data["unit"], form.cleaned_data["category"])


@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """The SIRO dashboard (SIRO, DPO; Chief Officers, SCS and ISIMs see their units)."""
    form, filters = _dashboard_filters(request)
    if filters is None:
        return render(request, "reports/dashboard.html", {"form": form}, status=400)
    query = request.GET.urlencode()
    key = figures_key(request.user, filters, query)
    cached = cache.get(key)
    if cached is None:
        # Worked out once per change: over 100,000 incidents this takes most of a second
        # (docs/benchmarks.md), far too long to repeat on every view.
        board = dashboard(request.user, filters)
        html = render_to_string("reports/_dashboard_figures.html", {"board": board, "query": query})
        cached = (html, timezone.now())
        cache.set(key, cached, settings.DASHBOARD_CACHE_SECONDS)
    figures, figures_at = cached
    return render(
        request,
        "reports/dashboard.html",
        {
            "form": form,
            "filters": filters,
            "figures": mark_safe(figures),  # noqa: S308 - our own template's output
            "figures_at": figures_at,
            "panel": clock_panel(request.user, filters),
            "query": query,
        },
    )


@require_GET
def dashboard_clocks(request: HttpRequest) -> HttpResponse:
    """The clocks panel alone, for htmx to refresh without reloading the page."""
    _form, filters = _dashboard_filters(request)
    if filters is None:
        return HttpResponse(status=400)
    return render(request, "reports/_dashboard_clocks.html", {"panel": clock_panel(request.user, filters)})


CSV_TABLES = {
    "status": ("Status", "by_status"),
    "severity": ("Severity", "by_severity"),
    "category": ("Kind of loss", "by_category"),
    "unit": ("Unit", "by_unit"),
    "root-cause": ("Root cause", "by_root_cause"),
    "processor": ("Processor or partner", "by_processor"),
    "trend": ("Month", "trend"),
}


@require_GET
def dashboard_csv(request: HttpRequest, table: str) -> HttpResponse:
    """Any of the dashboard's tables as CSV, for the same filters."""
    form, filters = _dashboard_filters(request)
    if filters is None:
        return HttpResponse(
            "Fix the filters: " + "; ".join(str(e) for errs in form.errors.values() for e in errs), status=400
        )
    board = dashboard(request.user, filters)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dashboard-{table}-{filters.period.key}.csv"'
    writer = csv.writer(response)
    if table == "compliance":
        writer.writerow(["Rule", "Met", "Missed", "Running", "Not required", "On time"])
        for c in board.compliance:
            writer.writerow([c.title, c.met, c.missed, c.pending, c.not_required, c.rate])
        return response
    if table not in CSV_TABLES:
        raise Http404("No such table")
    heading, attribute = CSV_TABLES[table]
    writer.writerow([heading, "Incidents"])
    for row in getattr(board, attribute):
        writer.writerow([row.label, row.count])
    return response


urlpatterns = [
    path("incidents/<str:reference>/reports/", reports_index, name="reports"),
    path("incidents/<str:reference>/reports/issued/<int:pk>/", issued_download, name="issued-download"),
    path("incidents/<str:reference>/reports/<str:kind>/", report_preview, name="report-preview"),
    path("incidents/<str:reference>/reports/<str:kind>/pdf/", report_pdf, name="report-pdf"),
    path("incidents/<str:reference>/reports/<str:kind>/issue/", report_issue, name="report-issue"),
    path("incidents/<str:reference>/letters/", letters_start, name="letters-start"),
    path("incidents/<str:reference>/letters/<int:pk>/", letters_status, name="letters"),
    path("incidents/<str:reference>/letters/<int:pk>/retry/", letters_retry, name="letters-retry"),
    path("incidents/<str:reference>/letters/<int:pk>/download/", letters_download, name="letters-download"),
    path("dashboard/", dashboard_page, name="dashboard"),
    path("dashboard/clocks/", dashboard_clocks, name="dashboard-clocks"),
    path("dashboard/<slug:table>.csv", dashboard_csv, name="dashboard-csv"),
    path("reports/siro-summary/", siro_summary, name="siro-summary"),
    path("reports/siro-summary/issue/", siro_summary_issue, name="siro-summary-issue"),
    path("reports/siro-summary/issued/<int:pk>/", summary_download, name="summary-download"),
]
