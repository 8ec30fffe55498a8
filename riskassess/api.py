"""Risk assessments and decisions over the REST API (API.md "Risk assessment")."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from breachdesk.http import current_user
from breachdesk.selectors import user_has_role
from incidents.choices import DataCategory, SubjectCategory
from incidents.models import Enquiry
from incidents.selectors import incident_get_for_user
from incidents.services.plan import PLAN_ROLES

from . import datasets, population, selectors, services
from .choices import (
    AssessmentEncryption,
    Availability,
    Confidentiality,
    DecisionKind,
    EaseOfIdentification,
    Integrity,
    Likelihood,
)
from .models import AssessedDataSet, Decision, LostDataSet, RiskAssessment, RiskGroup


class DataSetSerializer(serializers.ModelSerializer):
    class Meta:
        model = AssessedDataSet
        fields = ["name", "records", "people", "fields_held", "whom"]
        extra_kwargs = {"records": {"min_value": 0}, "people": {"min_value": 0}}


class GroupSerializer(serializers.ModelSerializer):
    likelihood = serializers.ChoiceField(choices=Likelihood.choices)
    severity = serializers.ChoiceField(choices=Likelihood.choices)

    class Meta:
        model = RiskGroup
        fields = ["name", "size", "harm", "likelihood", "severity", "mitigation", "owner"]
        extra_kwargs = {"size": {"min_value": 0}}


class AssessmentInputSerializer(serializers.Serializer):
    data_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=DataCategory.choices), required=False, default=list
    )
    subject_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=SubjectCategory.choices), required=False, default=list
    )
    subjects_count = serializers.IntegerField(min_value=0, max_value=2_000_000_000, required=False, allow_null=True)
    records_count = serializers.IntegerField(min_value=0, max_value=2_000_000_000, required=False, allow_null=True)
    ease_of_identification = serializers.ChoiceField(choices=EaseOfIdentification.choices)
    confidentiality = serializers.ChoiceField(choices=Confidentiality.choices)
    integrity = serializers.ChoiceField(choices=Integrity.choices)
    availability = serializers.ChoiceField(choices=Availability.choices)
    malicious = serializers.BooleanField()
    encryption = serializers.ChoiceField(choices=AssessmentEncryption.choices, required=False, default="none")
    recipients_trusted_and_data_recovered = serializers.BooleanField(required=False, default=False)
    backup_available = serializers.BooleanField(required=False, default=False)
    dpc_adjustment = serializers.ChoiceField(choices=[(-1, "-1"), (0, "0"), (1, "+1")], required=False, default=0)
    dpc_adjustment_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    theft = serializers.BooleanField(required=False, default=False)
    mappa_information = serializers.BooleanField(required=False, default=False)
    law_enforcement_processing = serializers.BooleanField(required=False, default=False)
    measures_removed_high_risk = serializers.BooleanField(required=False, default=False)
    disproportionate_effort = serializers.BooleanField(required=False, default=False)
    individuals_narrative = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    data_narrative = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    circumstances_narrative = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    other_organisations_narrative = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=10_000
    )
    possible_risks_narrative = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    further_loss_narrative = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    datasets = DataSetSerializer(many=True, required=False, default=list)
    groups = GroupSerializer(many=True, required=False, default=list)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("dpc_adjustment") and not attrs.get("dpc_adjustment_reason", "").strip():
            raise serializers.ValidationError(
                {"dpc_adjustment_reason": ["Give the reason for adjusting the score (ENISA: a contextual factor)"]}
            )
        return attrs


class SeveritySerializer(serializers.Serializer):
    dpc = serializers.IntegerField()
    ei = serializers.FloatField()
    cb = serializers.FloatField()
    score = serializers.FloatField()
    level = serializers.CharField()


class AssessmentSerializer(serializers.ModelSerializer):
    severity = serializers.SerializerMethodField()
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    datasets = DataSetSerializer(many=True, read_only=True)
    groups = GroupSerializer(many=True, read_only=True)
    population = serializers.SerializerMethodField()

    class Meta:
        model = RiskAssessment
        fields = [
            "version",
            "severity",
            "risk_to_individuals",
            "recommendations",
            "rationale",
            "subjects_method",
            "regime",
            "population",
            "created_by",
            "created_at",
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
            "dpc_adjustment_reason",
            "theft",
            "mappa_information",
            "law_enforcement_processing",
            "measures_removed_high_risk",
            "disproportionate_effort",
            "individuals_narrative",
            "data_narrative",
            "circumstances_narrative",
            "other_organisations_narrative",
            "possible_risks_narrative",
            "further_loss_narrative",
            "datasets",
            "groups",
        ]
        read_only_fields = fields

    @extend_schema(responses=SeveritySerializer)
    def get_severity(self, obj: RiskAssessment) -> dict[str, Any]:
        return {"dpc": obj.dpc, "ei": float(obj.ei), "cb": float(obj.cb), "score": float(obj.score), "level": obj.level}

    def get_population(self, obj: RiskAssessment) -> dict[str, int | None]:
        return {"min": obj.population_min, "max": obj.population_max}


class AssessmentsView(GenericAPIView):
    serializer_class = AssessmentSerializer
    pagination_class = None
    queryset = RiskAssessment.objects.none()  # for the schema; reads go through incident_get_for_user

    @extend_schema(
        responses=AssessmentSerializer(many=True),
        operation_id="incidents_risk_assessments_list",
        summary="Every version of the incident's risk assessment, newest first",
    )
    def get(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        rows = selectors.assessments_for_incident(incident).prefetch_related("datasets", "groups")
        return Response(AssessmentSerializer(rows, many=True).data)

    @extend_schema(
        request=AssessmentInputSerializer,
        responses={201: AssessmentSerializer},
        summary="Record a new version of the risk assessment",
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        data = AssessmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assessment = services.risk_assessment_create(
            incident=incident, actor=current_user(request), data=dict(data.validated_data)
        )
        return Response(AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)


class AssessmentDetailView(GenericAPIView):
    serializer_class = AssessmentSerializer
    queryset = RiskAssessment.objects.none()  # for the schema; reads go through incident_get_for_user

    def get(self, request: Request, reference: str, version: int) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        return Response(AssessmentSerializer(selectors.assessment_get(incident, version)).data)


class DecisionInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DecisionKind.choices)
    decision = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class DecisionSerializer(serializers.ModelSerializer):
    decided_by: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    assessment_version = serializers.IntegerField(source="assessment.version", read_only=True)

    class Meta:
        model = Decision
        fields = ["id", "kind", "decision", "recommended", "reason", "decided_by", "decided_at", "assessment_version"]
        read_only_fields = fields


class DecisionsView(GenericAPIView):
    serializer_class = DecisionSerializer
    pagination_class = None
    queryset = Decision.objects.none()  # for the schema; reads go through incident_get_for_user

    @extend_schema(responses=DecisionSerializer(many=True), operation_id="incidents_decisions_list")
    def get(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        return Response(DecisionSerializer(selectors.decision_history(incident), many=True).data)

    @extend_schema(
        request=DecisionInputSerializer,
        responses={201: DecisionSerializer},
        summary="Record the decision on a recommendation (DPO, SIRO, Chief Officer)",
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        data = DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.decision_record(incident=incident, actor=current_user(request), **data.validated_data)
        return Response(DecisionSerializer(row).data, status=status.HTTP_201_CREATED)


class LostDataSetSerializer(serializers.ModelSerializer):
    uploaded_by: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = LostDataSet
        fields = [
            "id",
            "name",
            "file_name",
            "file_sha256",
            "status",
            "rows",
            "progress",
            "error",
            "columns",
            "uploaded_by",
            "uploaded_at",
            "started_at",
            "finished_at",
            "cancel_requested_at",
        ]
        read_only_fields = fields


class DataSetUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    name = serializers.CharField(max_length=200)
    mapping = serializers.JSONField(
        help_text='Column name -> "full_name", "date_of_birth", "postcode", "address", "pnc_id", '
        '"prison_number", "ni_number", "email", "phone" or "field". Columns left out are exposed fields.'
    )


class DataSetQueuedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class DataSetsView(GenericAPIView):
    serializer_class = LostDataSetSerializer
    pagination_class = None
    queryset = LostDataSet.objects.none()  # for the schema; reads go through incident_get_for_user

    def get_parsers(self) -> list[Any]:
        if getattr(self, "request", None) is not None and self.request.method == "POST":
            return [MultiPartParser(), FormParser()]
        return super().get_parsers()

    @extend_schema(responses=LostDataSetSerializer(many=True), operation_id="incidents_datasets_list")
    def get(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        rows = LostDataSet.objects.filter(incident=incident).select_related("uploaded_by").order_by("uploaded_at")
        return Response(LostDataSetSerializer(rows, many=True).data)

    @extend_schema(
        request={"multipart/form-data": DataSetUploadSerializer},
        responses={202: DataSetQueuedSerializer},
        summary="Upload an extract of a lost data set; it is processed in the background",
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        if not user_has_role(request.user, datasets._uploaders()):
            raise PermissionDenied(
                "Only managers, the ISR, ISIM, Chief Officer, SCS, DPO or SIRO can upload data sets."
            )
        data = DataSetUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mapping = data.validated_data["mapping"]
        if isinstance(mapping, str):  # a form field holding JSON text
            try:
                mapping = json.loads(mapping)
            except ValueError:
                raise ValidationError({"mapping": ["The mapping is not valid JSON."]}) from None
        upload = data.validated_data["file"]
        received = datasets.receive_upload(upload, upload.name)
        dataset = datasets.dataset_create(
            incident=incident,
            actor=current_user(request),
            name=data.validated_data["name"],
            received=received,
            mapping=mapping,
        )
        return Response({"id": dataset.pk, "status": dataset.status}, status=status.HTTP_202_ACCEPTED)


class DataSetCancelView(GenericAPIView):
    serializer_class = LostDataSetSerializer
    queryset = LostDataSet.objects.none()

    @extend_schema(request=None, responses=LostDataSetSerializer, summary="Cancel a data set still being processed")
    def post(self, request: Request, reference: str, pk: int) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        dataset = get_object_or_404(LostDataSet, pk=pk, incident=incident)
        row = datasets.dataset_cancel(dataset=dataset, actor=current_user(request))
        return Response(LostDataSetSerializer(row).data)


class PopulationDataSetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    rows = serializers.IntegerField()
    people = serializers.IntegerField()


class OverlapSerializer(serializers.Serializer):
    datasets = serializers.ListField(child=serializers.IntegerField())
    people = serializers.IntegerField()


class CombinationSerializer(serializers.Serializer):
    fields = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]
    people = serializers.IntegerField()


class PopulationSerializer(serializers.Serializer):
    unique_people = serializers.IntegerField()
    rows = serializers.IntegerField()
    unlinkable_rows = serializers.IntegerField()
    range_without_linking = serializers.ListField(child=serializers.IntegerField())
    datasets = PopulationDataSetSerializer(many=True)
    overlaps = OverlapSerializer(many=True, help_text="People in all of these data sets (and maybe others).")
    regions = OverlapSerializer(many=True, help_text="People in exactly these data sets: the overlap diagram.")
    combinations = CombinationSerializer(many=True)
    computed_at = serializers.DateTimeField(allow_null=True)


class PopulationView(GenericAPIView):
    serializer_class = PopulationSerializer
    queryset = LostDataSet.objects.none()

    @extend_schema(responses=PopulationSerializer, summary="The exact population of the processed data sets")
    def get(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        snapshot = population.population_get(incident)
        if snapshot is None:
            empty = {"unique_people": 0, "rows": 0, "unlinkable_rows": 0, "range_without_linking": [0, 0]}
            return Response(
                {**empty, "datasets": [], "overlaps": [], "regions": [], "combinations": [], "computed_at": None}
            )
        return Response(PopulationSerializer({**snapshot.result, "computed_at": snapshot.computed_at}).data)


class LookupInputSerializer(serializers.Serializer):
    enquiry = serializers.IntegerField(
        help_text="The enquiry being answered; its identity must be recorded as verified."
    )
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    date_of_birth = serializers.CharField(required=False, allow_blank=True, max_length=40)
    pnc_id = serializers.CharField(required=False, allow_blank=True, max_length=40)
    prison_number = serializers.CharField(required=False, allow_blank=True, max_length=20)
    ni_number = serializers.CharField(required=False, allow_blank=True, max_length=20)


class FoundSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="dataset_id")
    name = serializers.CharField()
    fields = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]


class LookupSerializer(serializers.Serializer):
    found = serializers.BooleanField()
    datasets = FoundSerializer(many=True)
    fields = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]


class LookupView(GenericAPIView):
    serializer_class = LookupSerializer
    queryset = LostDataSet.objects.none()

    @extend_schema(
        request=LookupInputSerializer,
        responses=LookupSerializer,
        summary="Which data sets and fields held a verified enquirer (the identifiers are not kept)",
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        if not user_has_role(request.user, PLAN_ROLES):
            raise Http404
        data = LookupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        enquiry = Enquiry.objects.filter(pk=values.pop("enquiry"), incident=incident).first()
        if enquiry is None:
            raise ValidationError({"enquiry": ["No such enquiry on this incident."]})
        result = population.enquiry_lookup(
            enquiry=enquiry, actor=current_user(request), identifiers={k: v for k, v in values.items() if v}
        )
        return Response(LookupSerializer(result).data)


def api_urls() -> list[Any]:
    from django.urls import path

    return [
        path("incidents/<str:reference>/risk-assessments/", AssessmentsView.as_view(), name="risk-assessments"),
        path(
            "incidents/<str:reference>/risk-assessments/<int:version>/",
            AssessmentDetailView.as_view(),
            name="risk-assessment",
        ),
        path("incidents/<str:reference>/decisions/", DecisionsView.as_view(), name="risk-decisions"),
        path("incidents/<str:reference>/datasets/", DataSetsView.as_view(), name="datasets"),
        path("incidents/<str:reference>/datasets/<int:pk>/cancel/", DataSetCancelView.as_view(), name="dataset-cancel"),
        path("incidents/<str:reference>/population/", PopulationView.as_view(), name="population"),
        path("incidents/<str:reference>/population/lookup/", LookupView.as_view(), name="population-lookup"),
    ]
