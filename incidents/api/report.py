"""Incidents over the REST API (API.md). Serializers parse; services write; selectors scope."""

from __future__ import annotations

from typing import Any

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

from breachdesk.api import DateTimeField
from breachdesk.choices import AUDIT_VERIFY_ROLES, UNIT_SCOPED_ROLES
from breachdesk.models import AuditEvent, OrgUnit
from breachdesk.selectors import user_has_role
from notifications.choices import DeadlineCode
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


CLOCK_COLUMNS = ("incident_id", "code", "due_at", "state", "met_at")


def attach_clocks(incidents: list[Incident]) -> None:
    """Each incident's clocks as plain rows, read in one query, for ``DeadlinesField``: a
    list page has 100 clocks, and model instances joined back by a prefetch cost more than
    the rest of reading the page."""
    rows: dict[int, list[dict[str, Any]]] = {incident.pk: [] for incident in incidents}
    for row in Deadline.objects.filter(incident_id__in=rows).order_by("incident_id", "id").values(*CLOCK_COLUMNS):
        rows[row["incident_id"]].append(row)
    for incident in incidents:
        incident.clock_rows = rows[incident.pk]  # type: ignore[attr-defined]


@extend_schema_field(DeadlineSerializer(many=True))
class DeadlinesField(serializers.Field):
    """An incident's clocks, read-only, exactly as ``DeadlineSerializer`` gives them, from the
    rows ``attach_clocks`` read for a whole page, or else from the incident's own."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)
        self.when = serializers.DateTimeField()

    def get_attribute(self, instance: Incident) -> Any:
        rows = getattr(instance, "clock_rows", None)
        if rows is None:
            rows = instance.deadlines.order_by("id").values(*CLOCK_COLUMNS)
        return rows

    def to_representation(self, value: Any) -> list[dict[str, Any]]:
        when = self.when.to_representation
        return [
            {
                "code": row["code"],
                "title": DeadlineCode(row["code"]).label,
                "due_at": when(row["due_at"]) if row["due_at"] else None,
                "state": row["state"],
                "met_at": when(row["met_at"]) if row["met_at"] else None,
            }
            for row in value
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
    discovered_at = DateTimeField(help_text=Incident._meta.get_field("discovered_at").help_text)
    occurred_at = DateTimeField(required=False, allow_null=True)
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
        return selectors.incidents_for_user(self.request.user).select_related("org_unit", "reporter")

    def paginate_queryset(self, queryset: Any) -> list[Any] | None:
        page = super().paginate_queryset(queryset)
        if page is not None:
            attach_clocks(page)
        return page

    @extend_schema(responses=AuditEventSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def audit(self, request: Request, reference: str | None = None) -> Response:
        """The incident's audit events, oldest first (unit-scoped roles, SIRO, DPO)."""
        incident = self.get_object()
        if not user_has_role(request.user, UNIT_SCOPED_ROLES | AUDIT_VERIFY_ROLES) and not request.user.is_superuser:
            raise PermissionDenied("Only managers, the SIRO and the DPO can read the audit trail.")
        events = selectors.incident_audit_events(incident).select_related(None)
        return Response(AuditEventSerializer(events, many=True).data)
