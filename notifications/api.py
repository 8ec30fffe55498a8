"""Escalation and clocks over the REST API (API.md "Escalation"): parse, call a service,
answer. Scoping is the incidents' own: what you cannot see is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from breachdesk.api import DateTimeField
from breachdesk.choices import GLOBAL_ROLES, UNIT_SCOPED_ROLES
from breachdesk.http import current_user
from breachdesk.selectors import user_has_role
from incidents.models import Incident
from incidents.selectors import incident_get_for_user, incidents_for_user

from . import selectors, services
from .choices import AckMethod, ApprovalState, DeadlineCode, IcoSubmissionKind
from .models import Approval, Deadline, IcoSubmission, Notification


def _source(request: Request) -> str:
    return f"{request.META.get('REMOTE_ADDR', '')} {request.headers.get('User-Agent', '')[:120]}".strip()


class NotificationSerializer(serializers.ModelSerializer):
    ack_method = serializers.ChoiceField(
        choices=AckMethod.choices, allow_blank=True, read_only=True, help_text="Blank until receipt is confirmed."
    )
    recipient: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    acknowledged_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Notification
        fields = [
            "id",
            "step",
            "role",
            "recipient",
            "channel",
            "state",
            "sent_at",
            "acknowledged_at",
            "due_at",
            "purpose",
            "acknowledged_by",
            "ack_method",
            "ack_note",
            "reminders_sent",
            "phone_prompted",
        ]
        read_only_fields = fields


class IncidentNotificationsView(GenericAPIView):
    serializer_class = NotificationSerializer
    pagination_class = None
    queryset = Notification.objects.none()  # for the schema; reads go through incident_get_for_user

    @extend_schema(responses=NotificationSerializer(many=True), summary="Every notification of the incident")
    def get(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        return Response(self.get_serializer(selectors.notifications_for_incident(incident), many=True).data)


def _visible_notification(request: Request, pk: int) -> Notification:
    return get_object_or_404(
        Notification.objects.select_related("incident"),
        pk=pk,
        incident__in=incidents_for_user(request.user).values("id"),
    )


class AcknowledgeView(APIView):
    @extend_schema(request=None, responses=NotificationSerializer, summary="Confirm receipt (the recipient)")
    def post(self, request: Request, pk: int) -> Response:
        notification = _visible_notification(request, pk)
        user = current_user(request)
        if notification.recipient_id != user.pk:
            raise PermissionDenied("Only the recipient can confirm receipt.")
        updated, _ = services.notification_acknowledge(
            notification_id=notification.pk, by=user, method=AckMethod.API, source=_source(request)
        )
        return Response(NotificationSerializer(updated).data)


class PhoneConfirmationSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=5000, help_text="Who you spoke to, when, and what they confirmed.")


class PhoneConfirmationView(APIView):
    @extend_schema(
        request=PhoneConfirmationSerializer,
        responses=NotificationSerializer,
        summary="Record a receipt confirmed by phone (PC02-9)",
    )
    def post(self, request: Request, pk: int) -> Response:
        notification = _visible_notification(request, pk)
        user = current_user(request)
        decided = Approval.objects.filter(
            escalation=notification.escalation, step=notification.step, decided_by=user
        ).exists()
        if not decided and not user_has_role(user, UNIT_SCOPED_ROLES | GLOBAL_ROLES):
            raise PermissionDenied("Only managers, or whoever released the step, can record a phone call.")
        data = PhoneConfirmationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        updated, _ = services.notification_acknowledge(
            notification_id=notification.pk,
            by=user,
            method=AckMethod.PHONE,
            note=data.validated_data["note"],
            source=_source(request),
        )
        return Response(NotificationSerializer(updated).data)


class ApprovalSerializer(serializers.ModelSerializer):
    incident: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    decided_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Approval
        fields = [
            "id",
            "incident",
            "step",
            "approver_role",
            "proposed",
            "state",
            "created_at",
            "decided_at",
            "decided_by",
            "reason",
        ]
        read_only_fields = fields


class ApprovalListView(GenericAPIView):
    serializer_class = ApprovalSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Approval]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Approval.objects.none()
        return (
            Approval.objects.filter(approvers=current_user(self.request), state=ApprovalState.PENDING)
            .select_related("incident", "decided_by")
            .order_by("created_at")
        )

    @extend_schema(summary="Escalations waiting for my decision", responses=ApprovalSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class ApprovalDecisionView(APIView):
    approve = True

    @extend_schema(request=DecisionSerializer, responses=ApprovalSerializer)
    def post(self, request: Request, pk: int) -> Response:
        user = current_user(request)
        approval = get_object_or_404(Approval, pk=pk, incident__in=incidents_for_user(user).values("id"))
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = services.approval_decide(
            approval_id=approval.pk, by=user, approve=self.approve, reason=data.validated_data["reason"]
        )
        return Response(ApprovalSerializer(decided).data)


class ApprovalDeclineView(ApprovalDecisionView):
    approve = False


class IcoSubmissionSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=IcoSubmissionKind.choices)
    submitted_at = DateTimeField()
    recorded_by: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = IcoSubmission
        fields = [
            "id",
            "kind",
            "submitted_at",
            "case_reference",
            "summary",
            "late_reason",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = ["id", "recorded_by", "recorded_at"]


class IcoSubmissionsView(GenericAPIView):
    serializer_class = IcoSubmissionSerializer
    pagination_class = None
    queryset = IcoSubmission.objects.none()  # for the schema; reads go through incident_get_for_user

    @extend_schema(responses=IcoSubmissionSerializer(many=True), summary="Notifications to the ICO, in order")
    def get(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        return Response(self.get_serializer(selectors.ico_submissions_for_incident(incident), many=True).data)

    @extend_schema(summary="Record a notification to the ICO (initial or follow-up)")
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = services.ico_submission_record(
            incident=incident, actor=current_user(request), **serializer.validated_data
        )
        return Response(self.get_serializer(submission).data, status=status.HTTP_201_CREATED)


class DeadlineDetailSerializer(serializers.ModelSerializer):
    title = serializers.CharField(read_only=True)
    decided_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Deadline
        fields = [
            "code",
            "title",
            "starts_at",
            "due_at",
            "state",
            "met_at",
            "reason",
            "decided_by",
            "missed_at",
            "missed_told",
        ]
        read_only_fields = fields


class DeadlineChangeSerializer(serializers.Serializer):
    due_at = DateTimeField()
    reason = serializers.CharField(max_length=5000)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


def _incident_and_code(request: Request, reference: str, code: str) -> tuple[Incident, DeadlineCode]:
    incident = incident_get_for_user(user=request.user, reference=reference)
    if code not in DeadlineCode.values:
        raise serializers.ValidationError({"code": [f"Unknown clock: {code}"]})
    return incident, DeadlineCode(code)


class DeadlineView(APIView):
    @extend_schema(
        request=DeadlineChangeSerializer,
        responses=DeadlineDetailSerializer,
        summary="Change when a clock runs out (DPO, SIRO), with a reason",
    )
    def patch(self, request: Request, reference: str, code: str) -> Response:
        incident, deadline_code = _incident_and_code(request, reference, code)
        data = DeadlineChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deadline = services.deadline_change_due(
            incident=incident, code=deadline_code, actor=current_user(request), **data.validated_data
        )
        return Response(DeadlineDetailSerializer(deadline).data)


class DeadlineNotRequiredView(APIView):
    @extend_schema(
        request=ReasonSerializer,
        responses=DeadlineDetailSerializer,
        summary="Record a reasoned decision that a clock does not apply (DPO, SIRO)",
    )
    def post(self, request: Request, reference: str, code: str) -> Response:
        incident, deadline_code = _incident_and_code(request, reference, code)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deadline = services.deadline_not_required(
            incident=incident, code=deadline_code, actor=current_user(request), reason=data.validated_data["reason"]
        )
        return Response(DeadlineDetailSerializer(deadline).data)


class InvestigationStartView(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "InvestigationStarted", {"reference": serializers.CharField(), "status": serializers.CharField()}
        ),
        summary="Start the investigation (PC02-14)",
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)
        user = current_user(request)
        if not user_has_role(user, UNIT_SCOPED_ROLES | GLOBAL_ROLES):
            raise PermissionDenied("Only managers, the ISR, ISIM, Chief Officer, SCS, DPO or SIRO can do this.")
        updated = services.investigation_start(incident=incident, actor=user)
        return Response({"reference": updated.reference, "status": updated.status})


def api_urls() -> list[Any]:
    from django.urls import path

    from .reports.api import api_urls as report_api_urls

    return [
        *report_api_urls(),
        path(
            "incidents/<str:reference>/notifications/",
            IncidentNotificationsView.as_view(),
            name="incident-notifications",
        ),
        path("incidents/<str:reference>/ico-submissions/", IcoSubmissionsView.as_view(), name="ico-submissions"),
        path("incidents/<str:reference>/deadlines/<str:code>/", DeadlineView.as_view(), name="deadline"),
        path(
            "incidents/<str:reference>/deadlines/<str:code>/not-required/",
            DeadlineNotRequiredView.as_view(),
            name="deadline-not-required",
        ),
        path(
            "incidents/<str:reference>/investigation/start/",
            InvestigationStartView.as_view(),
            name="investigation-start",
        ),
        path("notifications/<int:pk>/acknowledge/", AcknowledgeView.as_view(), name="notification-acknowledge"),
        path("notifications/<int:pk>/phone-confirmation/", PhoneConfirmationView.as_view(), name="notification-phone"),
        path("approvals/", ApprovalListView.as_view(), name="approvals"),
        path("approvals/<int:pk>/approve/", ApprovalDecisionView.as_view(), name="approval-approve"),
        path("approvals/<int:pk>/decline/", ApprovalDeclineView.as_view(), name="approval-decline"),
    ]
