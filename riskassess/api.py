"""Risk assessments and decisions over the REST API (API.md "Risk assessment")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from breachdesk.http import current_user
from incidents.choices import DataCategory, SubjectCategory
from incidents.selectors import incident_get_for_user

from . import selectors, services
from .choices import (
    AssessmentEncryption,
    Availability,
    Confidentiality,
    DecisionKind,
    EaseOfIdentification,
    Integrity,
    Likelihood,
)
from .models import AssessedDataSet, Decision, RiskAssessment, RiskGroup


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
    ]
