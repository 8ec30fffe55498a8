"""API pieces shared by every app: error bodies, the current user, org units, audit."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Value
from django.db.models.functions import Lower, Trim
from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.viewsets import ReadOnlyModelViewSet

from .audit import audit_verify
from .choices import AUDIT_VERIFY_ROLES, ControlKind, ControlSubject
from .http import current_user
from .models import ControlCheck, OrgUnit
from .selectors import (
    control_can_record,
    control_checks_for_user,
    control_register_visible_to,
    control_status_for_partner,
    control_status_for_unit,
    control_unit_get_for_user,
    org_units_visible,
    roles_for_user,
    user_has_role,
)
from .services import control_check_record

# Nothing this service records happened before this year; the forms say the same.
EARLIEST_YEAR = 1990


class DateTimeField(serializers.DateTimeField):
    """A date and time as the forms take them: a year before 1990 is refused with a message.
    (Before 1847 London's offset from UTC was not a whole minute, which RFC 3339 cannot write,
    so such a date could not even be given back.)"""

    default_error_messages = {
        **serializers.DateTimeField.default_error_messages,
        "too_early": f"Enter a year after {EARLIEST_YEAR}, like 2026.",
    }

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if parsed.year < EARLIEST_YEAR:
            self.fail("too_early")
        return parsed


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """A service's ValidationError becomes a 400 naming each bad field, like DRF's own; its
    PermissionDenied a 403 that keeps its explanation."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        detail = {("non_field_errors" if k == "__all__" else k): v for k, v in detail.items()}
        exc = exceptions.ValidationError(detail=detail)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        # Services refuse with Django's PermissionDenied and a sentence saying who may.
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)


class RoleSerializer(serializers.Serializer):
    role = serializers.CharField()
    unit = serializers.CharField()


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    unit = serializers.CharField(allow_null=True)
    roles = RoleSerializer(many=True)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer, summary="The signed-in user, their unit and roles")
    def get(self, request: Request) -> Response:
        profile = getattr(request.user, "profile", None)
        data = {
            "username": request.user.get_username(),
            "unit": profile.unit.code if profile is not None else None,
            "roles": [{"role": a.role, "unit": a.unit.code} for a in roles_for_user(request.user)],
        }
        return Response(MeSerializer(data).data)


class OrgUnitSerializer(serializers.ModelSerializer):
    parent: serializers.SlugRelatedField = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="code", read_only=True, allow_null=True
    )

    class Meta:
        model = OrgUnit
        fields = ["code", "name", "level", "parent"]


class OrgUnitViewSet(ReadOnlyModelViewSet):
    serializer_class = OrgUnitSerializer
    lookup_field = "code"
    pagination_class = None

    def get_queryset(self) -> Any:
        return org_units_visible()


class AuditVerifyView(APIView):
    """Recompute the audit chain (SIRO, DPO)."""

    @extend_schema(
        summary="Verify the audit chain",
        responses=inline_serializer(
            "AuditVerify",
            {
                "ok": serializers.BooleanField(),
                "events": serializers.IntegerField(),
                "first_bad": serializers.IntegerField(allow_null=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        if not user_has_role(request.user, AUDIT_VERIFY_ROLES) and not request.user.is_superuser:
            return Response(
                {"detail": "Only the SIRO and DPO can verify the audit trail."}, status=status.HTTP_403_FORBIDDEN
            )
        result = audit_verify()
        return Response({"ok": result.ok, "events": result.events, "first_bad": result.first_bad})


# --- The controls register (DOMAIN.md s.7) ------------------------------------------------------


class ControlCheckSerializer(serializers.ModelSerializer):
    unit: serializers.SlugRelatedField = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="code", read_only=True, allow_null=True
    )
    recorded_by: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[assignment]

    class Meta:
        model = ControlCheck
        fields = [
            "id",
            "subject",
            "unit",
            "partner",
            "kind",
            "in_place",
            "checked_on",
            "valid_until",
            "evidence",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class ControlCheckInputSerializer(serializers.Serializer):
    subject = serializers.ChoiceField(choices=ControlSubject.choices)
    unit = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=32, help_text="Unit code, for a unit only."
    )
    partner = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        help_text="The project or processor as named on incidents (third party); not for a unit.",
    )
    kind = serializers.ChoiceField(choices=ControlKind.choices)
    in_place = serializers.BooleanField()
    checked_on = serializers.DateField()
    valid_until = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Training: two years after the check if omitted."
    )
    evidence = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=10_000, help_text="Required when in place."
    )


class ControlChecksQuerySerializer(serializers.Serializer):
    subject = serializers.ChoiceField(choices=ControlSubject.choices, required=False)
    unit = serializers.CharField(required=False, max_length=32)
    partner = serializers.CharField(required=False, max_length=200)
    kind = serializers.ChoiceField(choices=ControlKind.choices, required=False)


class ControlCheckCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


def _refuse_unless_viewer(request: Request) -> None:
    if not control_register_visible_to(request.user):
        raise exceptions.PermissionDenied(
            "Only managers, the ISR, ISIM, Chief Officer, SCS, DPO or SIRO can read the controls register."
        )


class ControlChecksView(GenericAPIView):
    """The checks recorded in the controls register: the whole history, newest first."""

    serializer_class = ControlCheckSerializer
    pagination_class = ControlCheckCursorPagination
    filter_backends: list[Any] = []
    queryset = ControlCheck.objects.none()  # for the schema; reads go through control_checks_for_user

    @extend_schema(
        parameters=[ControlChecksQuerySerializer],
        responses=ControlCheckSerializer(many=True),
        summary="Control checks in your scope, newest first (units in scope; every project and processor)",
    )
    def get(self, request: Request) -> Response:
        _refuse_unless_viewer(request)
        params = ControlChecksQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        rows = control_checks_for_user(request.user)
        if query.get("unit"):
            rows = rows.filter(unit=control_unit_get_for_user(user=request.user, code=query["unit"]))
        if query.get("partner"):
            rows = rows.annotate(partner_key=Lower(Trim("partner"))).filter(
                partner_key=Lower(Trim(Value(query["partner"])))
            )
        if query.get("subject"):
            rows = rows.filter(subject=query["subject"])
        if query.get("kind"):
            rows = rows.filter(kind=query["kind"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ControlCheckSerializer(page, many=True).data)

    @extend_schema(
        request=ControlCheckInputSerializer,
        responses={201: ControlCheckSerializer},
        summary="Record a control check (SIRO, DPO, ISIM, Chief Officer or Deputy for their units; "
        "projects and processors: SIRO, DPO, ISIM)",
    )
    def post(self, request: Request) -> Response:
        user = current_user(request)
        if not control_can_record(user, subject=ControlSubject.UNIT):
            raise exceptions.PermissionDenied(
                "Only the SIRO, DPO, ISIM, Chief Officer or Deputy Chief Officer can record control checks."
            )
        data = ControlCheckInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        code = values.pop("unit").strip()
        unit = control_unit_get_for_user(user=user, code=code) if code else None
        check = control_check_record(actor=user, unit=unit, **values)
        return Response(ControlCheckSerializer(check).data, status=status.HTTP_201_CREATED)


class ControlStatusSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label: serializers.CharField = serializers.CharField()  # type: ignore[assignment]
    subject = serializers.CharField()
    subject_label = serializers.CharField()
    is_gap = serializers.BooleanField()
    reason = serializers.CharField()
    inherited_from = serializers.CharField(
        source="inherited_from.code", read_only=True, allow_null=True, help_text="The unit above whose check stands"
    )
    check = ControlCheckSerializer(allow_null=True)


class ControlGapsQuerySerializer(serializers.Serializer):
    unit = serializers.CharField(required=False, max_length=32, help_text="A unit code")
    partner = serializers.CharField(required=False, max_length=200, help_text="A project or processor, with subject")
    subject = serializers.ChoiceField(
        choices=[(ControlSubject.PROJECT.value, "project"), (ControlSubject.PROCESSOR.value, "processor")],
        required=False,
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("unit")) == bool(attrs.get("partner")):
            raise serializers.ValidationError({"unit": ["Give either a unit code, or a partner and its subject"]})
        if attrs.get("partner") and not attrs.get("subject"):
            raise serializers.ValidationError({"subject": ["Say whether the partner is a project or a processor"]})
        return attrs


class ControlGapsView(GenericAPIView):
    serializer_class = ControlStatusSerializer
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[ControlGapsQuerySerializer],
        responses=ControlStatusSerializer(many=True),
        summary="The control gaps of a unit (own or inherited from above) or of a project or processor",
    )
    def get(self, request: Request) -> Response:
        _refuse_unless_viewer(request)
        params = ControlGapsQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        if query.get("unit"):
            unit = control_unit_get_for_user(user=request.user, code=query["unit"])
            statuses = control_status_for_unit(unit)
        else:
            statuses = control_status_for_partner(query["subject"], query["partner"])
        return Response(ControlStatusSerializer([s for s in statuses if s.is_gap], many=True).data)


def api_urls() -> list[Any]:
    from django.urls import path

    return [
        path("controls/", ControlChecksView.as_view(), name="controls"),
        path("controls/gaps/", ControlGapsView.as_view(), name="control-gaps"),
    ]


class TokenView(ObtainAuthToken):
    """``POST /api/v1/auth/token/``. The password check sees the request itself, not DRF's
    wrapper, so that django-axes counts failures and answers a locked-out username here as
    on the login page."""

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "request": self.request._request}
