"""Reports over the REST API (API.md "Reports and audit"): ``GET .../reports/{kind}/`` gives
the report as it stands now, as a PDF. Scoping is the incidents' own: 404 outside it."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from incidents.selectors import incident_get_for_user
from riskassess.models import RiskGroup

from ..choices import INCIDENT_REPORT_KINDS, ReportKind
from ..services.reports import incident_report


class PdfRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data if isinstance(data, bytes) else b""


class IncidentReportView(APIView):
    # JSON too, so that a 404 or 403 still explains itself to a client that accepts it.
    renderer_classes = [PdfRenderer, JSONRenderer]

    @extend_schema(
        summary="A report on the incident, as a PDF drawn from its records now",
        parameters=[
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=[str(k) for k in INCIDENT_REPORT_KINDS]),
            OpenApiParameter("group", int, description="subject-letter only: the risk group the letter is for"),
        ],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, reference: str, kind: str) -> HttpResponse:
        incident = incident_get_for_user(user=request.user, reference=reference)
        if kind not in INCIDENT_REPORT_KINDS:
            raise NotFound(f"There is no report called “{kind}”: use one of {', '.join(INCIDENT_REPORT_KINDS)}")
        group = None
        if kind == ReportKind.SUBJECT_LETTER and request.query_params.get("group"):
            try:
                group = RiskGroup.objects.get(pk=int(request.query_params["group"]), assessment__incident=incident)
            except (ValueError, RiskGroup.DoesNotExist):
                raise NotFound("No such group in this incident's risk assessment") from None
        report = incident_report(kind, incident, group=group)
        response = HttpResponse(report.pdf().content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{report.filename}"'
        response["Cache-Control"] = "private, no-store"
        return response


def api_urls() -> list[Any]:
    from django.urls import path

    return [path("incidents/<str:reference>/reports/<str:kind>/", IncidentReportView.as_view(), name="incident-report")]
