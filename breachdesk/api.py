"""API pieces shared by every app: error bodies, the current user, org units, audit."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.viewsets import ReadOnlyModelViewSet

from .audit import audit_verify
from .choices import AUDIT_VERIFY_ROLES
from .models import OrgUnit
from .selectors import org_units_visible, roles_for_user, user_has_role


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
    parent: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)  # type: ignore[assignment]

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
