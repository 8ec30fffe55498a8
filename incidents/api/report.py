"""Incidents over the REST API (API.md). Serializers parse; services write; selectors scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from breachdesk.choices import AUDIT_VERIFY_ROLES, UNIT_SCOPED_ROLES
from breachdesk.models import AuditEvent, OrgUnit
from breachdesk.selectors import user_has_role
from notifications.models import Deadline

from .. import selectors, services
from ..choices import Category, DataCategory, Encryption, Status, SubjectCategory
from ..models import Incident
from ..validation import incident_errors


class DeadlineSerializer(serializers.ModelSerializer):
    title = serializers.CharField(read_only=True)

    class Meta:
        model = Deadline
        fields = ["code", "title", "due_at", "state", "met_at"]


@extend_schema_field(DeadlineSerializer(many=True))
class DeadlinesField(serializers.Field):
    """An incident's clocks, read-only, as ``DeadlineSerializer`` gives them. A list page has
    100 clocks: writing each out directly takes a third of the time a nested serializer takes
    per clock, and the list is the API's busiest read."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)
        self.when = serializers.DateTimeField()

    def get_attribute(self, instance: Incident) -> Any:
        return instance.deadlines.all()

    def to_representation(self, value: Any) -> list[dict[str, Any]]:
        when = self.when.to_representation
        return [
            {
                "code": d.code,
                "title": d.title,
                "due_at": when(d.due_at) if d.due_at else None,
                "state": d.state,
                "met_at": when(d.met_at) if d.met_at else None,
            }
            for d in value
        ]


class IncidentSerializer(serializers.ModelSerializer):
    org_unit = serializers.SlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all())
    reporter: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    category = serializers.ChoiceField(choices=Category.choices)
    encryption = serializers.ChoiceField(choices=Encryption.choices, required=False)
    data_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=DataCategory.choices), required=False, max_length=len(DataCategory)
    )
    subject_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=SubjectCategory.choices), required=False, max_length=len(SubjectCategory)
    )
    approx_subjects = serializers.IntegerField(min_value=0, max_value=2_000_000_000, required=False, allow_null=True)
    approx_records = serializers.IntegerField(min_value=0, max_value=2_000_000_000, required=False, allow_null=True)
    deadlines = DeadlinesField()

    class Meta:
        model = Incident
        fields = [
            "reference",
            "title",
            "description",
            "category",
            "discovered_at",
            "occurred_at",
            "suspected",
            "org_unit",
            "location",
            "circumstances",
            "data_categories",
            "subject_categories",
            "approx_subjects",
            "approx_records",
            "encryption",
            "third_party",
            "status",
            "reported_at",
            "updated_at",
            "reporter",
            "deadlines",
        ]
        read_only_fields = ["reference", "status", "reported_at", "updated_at", "reporter", "deadlines"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data = dict(attrs)
        if self.instance is not None:
            for field in ("discovered_at", "occurred_at"):
                data.setdefault(field, getattr(self.instance, field))
        errors = incident_errors(data, now=timezone.now(), partial=self.instance is not None)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Incident:
        return services.incident_report(reporter=self.context["request"].user, **validated_data)

    def update(self, instance: Incident, validated_data: dict[str, Any]) -> Incident:
        return services.incident_update(incident=instance, actor=self.context["request"].user, changes=validated_data)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "seq",
            "occurred_at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "incident_ref",
            "before",
            "after",
            "prev_hash",
            "hash",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_actor(self, obj: AuditEvent) -> str:
        return obj.actor_username


class IncidentFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Status.choices, method="noop")
    org_unit = filters.CharFilter(method="noop", help_text="Unit code; includes the units below it.")
    category = filters.ChoiceFilter(choices=Category.choices, method="noop")
    overdue = filters.BooleanFilter(method="noop", help_text="Only incidents with a missed pending clock.")
    q = filters.CharFilter(method="noop", help_text="Reference, or words in the title or description.")

    class Meta:
        model = Incident
        fields: list[str] = []

    def noop(self, queryset: Any, name: str, value: Any) -> Any:
        return queryset

    def filter_queryset(self, queryset: Any) -> Any:
        # The form above validates the parameters (a bad enum is a 400 naming it); the
        # filtering itself is the selector's, shared with the list page.
        data = {k: v for k, v in self.form.cleaned_data.items() if v not in (None, "")}
        return selectors.incidents_filtered(queryset, selectors.parse_filters(data))


class IncidentCursorPagination(CursorPagination):
    """Keyset pagination on id: no OFFSET scan and no COUNT over the table."""

    ordering = "-id"
    page_size = 25
    max_page_size = 200
    page_size_query_param = "page_size"


class IncidentViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = IncidentSerializer
    lookup_field = "reference"
    lookup_value_regex = "[A-Za-z0-9-]+"
    filterset_class = IncidentFilter
    pagination_class = IncidentCursorPagination
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        # Only the clock columns the serializer returns: a page of 25 incidents has 100 clocks,
        # and each would otherwise decode its reason and its JSON list of who was told.
        clocks = Deadline.objects.only("id", "incident_id", "code", "due_at", "state", "met_at")
        return (
            selectors.incidents_for_user(self.request.user)
            .select_related("org_unit", "reporter")
            .prefetch_related(Prefetch("deadlines", queryset=clocks))
        )

    @extend_schema(responses=AuditEventSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def audit(self, request: Request, reference: str | None = None) -> Response:
        """The incident's audit events, oldest first (unit-scoped roles, SIRO, DPO)."""
        incident = self.get_object()
        if not user_has_role(request.user, UNIT_SCOPED_ROLES | AUDIT_VERIFY_ROLES) and not request.user.is_superuser:
            raise PermissionDenied("Only managers, the SIRO and the DPO can read the audit trail.")
        events = selectors.incident_audit_events(incident).select_related(None)
        return Response(AuditEventSerializer(events, many=True).data)
