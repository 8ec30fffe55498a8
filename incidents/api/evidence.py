"""Evidence over the REST API, in API.md's style: nested under the incident's reference,
scoped by ``incident_get_for_user`` (404 outside the caller's scope), 400 with a JSON body
naming the bad field (``file``, ``action``, ``note``), nothing stored on error."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from breachdesk.http import current_user

from .. import selectors
from ..choices import TimelineKind
from ..models import Action, Evidence, TimelineEntry
from ..services.evidence import evidence_attach, evidence_for_incident, evidence_open
from ..views.evidence import download_response


class EvidenceSerializer(serializers.ModelSerializer):
    uploaded_by: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = [
            "id", "original_name", "content_type", "size", "sha256", "uploaded_by", "uploaded_at", "action",
            "note", "download_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_download_url(self, obj: Evidence) -> str:
        url = reverse("api:incident-evidence-download", kwargs={"reference": self.context["reference"], "pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,  # the service refuses it, in the same words as the browser
        max_length=1000,
        error_messages={"required": "Choose a file to attach", "invalid": "Send the file as multipart form data"},
    )
    action = serializers.PrimaryKeyRelatedField(
        queryset=Action.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        error_messages={"does_not_exist": "This incident has no action with id {pk_value}"},
    )
    note = serializers.PrimaryKeyRelatedField(
        queryset=TimelineEntry.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        error_messages={"does_not_exist": "This incident has no note with id {pk_value}"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        incident = self.context.get("incident")  # none when drf-spectacular builds the schema
        if incident is None:
            return
        self.fields["action"].queryset = Action.objects.filter(incident=incident)  # type: ignore[attr-defined]
        self.fields["note"].queryset = TimelineEntry.objects.filter(  # type: ignore[attr-defined]
            incident=incident, kind=TimelineKind.NOTE
        )


class EvidenceListView(GenericAPIView):
    serializer_class = EvidenceSerializer
    pagination_class = None
    parser_classes = [MultiPartParser, FormParser]
    queryset = Evidence.objects.none()  # for the schema; reads go through incident_get_for_user

    @extend_schema(responses=EvidenceSerializer(many=True), operation_id="incidents_evidence_list")
    def get(self, request: Request, reference: str) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        rows = evidence_for_incident(incident)
        context = {"request": request, "reference": incident.reference}
        return Response(EvidenceSerializer(rows, many=True, context=context).data)

    @extend_schema(
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={201: EvidenceSerializer},
        summary="Attach an evidence file to the incident, one of its actions or one of its notes",
        description=(
            "Multipart upload: `file`, and at most one of `action` (an action id) or `note` (a note's "
            "timeline entry id). PDF, images, office documents without macros, emails and UTF-8 text; "
            "the content must match the name. Refused on a closed incident."
        ),
        operation_id="incidents_evidence_create",
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        data = EvidenceUploadSerializer(data=request.data, context={"incident": incident})
        data.is_valid(raise_exception=True)
        evidence = evidence_attach(
            incident=incident,
            actor=current_user(request),
            upload=data.validated_data["file"],
            action=data.validated_data["action"],
            note=data.validated_data["note"],
        )
        context = {"request": request, "reference": incident.reference}
        return Response(EvidenceSerializer(evidence, context=context).data, status=status.HTTP_201_CREATED)


class EvidenceDownloadView(GenericAPIView):
    queryset = Evidence.objects.none()

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is the file itself, whatever the client says it accepts.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
        summary="Download an evidence file (as an attachment, with its stored content type)",
        operation_id="incidents_evidence_download",
    )
    def get(self, request: Request, reference: str, pk: int) -> FileResponse:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        evidence = get_object_or_404(Evidence, pk=pk, incident=incident)
        evidence.incident = incident
        try:
            handle = evidence_open(evidence=evidence, actor=current_user(request))
        except FileNotFoundError as error:
            raise Http404("The file is missing from the evidence store.") from error
        return download_response(handle, evidence)


def api_urls() -> list[Any]:
    from django.urls import path

    base = "incidents/<str:reference>/evidence"
    return [
        path(f"{base}/", EvidenceListView.as_view(), name="incident-evidence"),
        path(f"{base}/<int:pk>/download/", EvidenceDownloadView.as_view(), name="incident-evidence-download"),
    ]
