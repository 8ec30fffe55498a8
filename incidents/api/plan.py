"""The breach management plan over the REST API, in API.md's style: nested under the
incident's reference, scoped by ``incident_get_for_user``, 4xx with a JSON body naming each
bad field, nothing half-written."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from breachdesk.api import DateTimeField
from breachdesk.http import current_user
from breachdesk.models import ControlCheck

from .. import selectors, services
from ..choices import (
    ActionKind,
    ActionTopic,
    EnquiryKind,
    EnquiryOutcome,
    NoticeMethod,
    Party,
    PlanElement,
    RootCauseKind,
    Status,
)
from ..models import TRACKER_FIELDS, Action, Enquiry, Lesson, PartyNotice, RootCause, TrackerFormVersion

User = get_user_model()


def _username(*, null: bool = False) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=null)


def _user_field(**kwargs: Any) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="username", queryset=User.objects.filter(is_active=True), **kwargs)


# --- actions -------------------------------------------------------------------------------


class ActionSerializer(serializers.ModelSerializer):
    owner = _username()
    created_by = _username()
    completed_by = _username(null=True)

    class Meta:
        model = Action
        fields = [
            "id", "kind", "topic", "description", "owner", "due_on", "state", "outcome", "explanation",
            "created_by", "created_at", "completed_by", "completed_at",
        ]  # fmt: skip
        read_only_fields = fields


class ActionInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ActionKind.choices)
    description = serializers.CharField(max_length=500)
    owner = _user_field()
    due_on = serializers.DateField(required=False, allow_null=True, default=None)
    topic = serializers.ChoiceField(choices=ActionTopic.choices, required=False, allow_blank=True, default="")


class ActionFinishSerializer(serializers.Serializer):
    done = serializers.BooleanField()
    text = serializers.CharField(max_length=10_000, help_text="What was done and the evidence, or why not.")


class ActionsView(GenericAPIView):
    serializer_class = ActionSerializer
    pagination_class = None
    queryset = Action.objects.none()  # for the schema; reads go through incident_get_for_user

    @extend_schema(responses=ActionSerializer(many=True), operation_id="incidents_actions_list")
    def get(self, request: Request, reference: str) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        rows = Action.objects.filter(incident=incident).select_related("owner", "created_by", "completed_by")
        return Response(ActionSerializer(rows, many=True).data)

    @extend_schema(
        request=ActionInputSerializer,
        responses={201: ActionSerializer},
        summary="Add a containment or improvement action",
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        data = ActionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        action = services.action_create(incident=incident, actor=current_user(request), **data.validated_data)
        return Response(ActionSerializer(action).data, status=status.HTTP_201_CREATED)


class ActionFinishView(GenericAPIView):
    serializer_class = ActionSerializer
    queryset = Action.objects.none()

    @extend_schema(
        request=ActionFinishSerializer, responses=ActionSerializer, summary="Mark an action done or not done"
    )
    def post(self, request: Request, reference: str, pk: int) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        action = get_object_or_404(Action, pk=pk, incident=incident)
        data = ActionFinishSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = services.action_finish(action=action, actor=current_user(request), **data.validated_data)
        return Response(ActionSerializer(done).data)


class MyActionsView(GenericAPIView):
    serializer_class = ActionSerializer
    pagination_class = None
    queryset = Action.objects.none()

    @extend_schema(
        responses=ActionSerializer(many=True), summary="Actions the signed-in user owns that are still to do"
    )
    def get(self, request: Request) -> Response:
        rows = selectors.open_actions_for_user(current_user(request)).select_related(
            "owner", "created_by", "completed_by"
        )
        return Response(ActionSerializer(rows, many=True).data)


# --- notices, root causes, lessons ---------------------------------------------------------


class NoticeSerializer(serializers.ModelSerializer):
    cleared_by = _username(null=True)
    recorded_by = _username()

    class Meta:
        model = PartyNotice
        fields = [
            "id", "party", "method", "recipient", "told_at", "summary", "people_count", "cleared_by",
            "recorded_by", "recorded_at",
        ]  # fmt: skip
        read_only_fields = fields


class NoticeInputSerializer(serializers.Serializer):
    party = serializers.ChoiceField(choices=Party.choices)
    method = serializers.ChoiceField(choices=NoticeMethod.choices)
    recipient = serializers.CharField(max_length=300)
    told_at = DateTimeField()
    summary = serializers.CharField(max_length=10_000)
    people_count = serializers.IntegerField(min_value=0, max_value=2_000_000_000, required=False, allow_null=True)
    cleared_by = _user_field(required=False, allow_null=True, default=None)


class RootCauseSerializer(serializers.ModelSerializer):
    recorded_by = _username()

    class Meta:
        model = RootCause
        fields = ["id", "cause", "detail", "control", "recorded_by", "recorded_at"]
        read_only_fields = fields


class RootCauseInputSerializer(serializers.Serializer):
    cause = serializers.ChoiceField(choices=RootCauseKind.choices)
    detail = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")
    control = serializers.PrimaryKeyRelatedField(
        queryset=ControlCheck.objects.all(), required=False, allow_null=True, default=None
    )


class LessonSerializer(serializers.ModelSerializer):
    recorded_by = _username()

    class Meta:
        model = Lesson
        fields = ["id", "text", "recorded_by", "recorded_at"]
        read_only_fields = fields


class LessonInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=10_000)


def _list_create_view(
    name: str,
    model: Any,
    output: type[serializers.Serializer],
    input_: type[serializers.Serializer],
    service: Any,
    related: tuple[str, ...],
    summary: str,
) -> type[GenericAPIView]:
    """A nested list-and-create endpoint: GET lists the incident's rows, POST calls the one
    service that writes them."""

    class View(GenericAPIView):
        serializer_class = output
        pagination_class = None
        queryset = model.objects.none()

        @extend_schema(responses=output(many=True), operation_id=f"incidents_{name}_list")
        def get(self, request: Request, reference: str) -> Response:
            incident = selectors.incident_get_for_user(user=request.user, reference=reference)
            rows = model.objects.filter(incident=incident).select_related(*related)
            return Response(output(rows, many=True).data)

        @extend_schema(
            request=input_, responses={201: output}, summary=summary, operation_id=f"incidents_{name}_create"
        )
        def post(self, request: Request, reference: str) -> Response:
            incident = selectors.incident_get_for_user(user=request.user, reference=reference)
            data = input_(data=request.data)
            data.is_valid(raise_exception=True)
            row = service(incident=incident, actor=current_user(request), **data.validated_data)
            return Response(output(row).data, status=status.HTTP_201_CREATED)

    View.__name__ = View.__qualname__ = f"{name.title().replace('_', '')}View"
    return View


NoticesView = _list_create_view(
    "notices", PartyNotice, NoticeSerializer, NoticeInputSerializer, services.party_notice_record,
    ("cleared_by", "recorded_by"), "Record that someone other than the ICO was told",
)  # fmt: skip
RootCausesView = _list_create_view(
    "root_causes", RootCause, RootCauseSerializer, RootCauseInputSerializer, services.root_cause_record,
    ("recorded_by",), "Record a root cause from the fixed list",
)  # fmt: skip
LessonsView = _list_create_view(
    "lessons", Lesson, LessonSerializer, LessonInputSerializer, services.lesson_record,
    ("recorded_by",), "Record a lesson learned",
)  # fmt: skip


# --- tracker form --------------------------------------------------------------------------


class TrackerVersionSerializer(serializers.ModelSerializer):
    created_by = _username()
    complete = serializers.BooleanField(read_only=True)
    missing = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = TrackerFormVersion
        fields = ["version", *TRACKER_FIELDS, "change_note", "created_by", "created_at", "complete", "missing"]
        read_only_fields = fields


class TrackerInputSerializer(serializers.Serializer):
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    data_involved = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    people_affected = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    containment = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    ongoing_risk = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    notifications = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    next_steps = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    investigating_officer = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    change_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class TrackerFormView(GenericAPIView):
    serializer_class = TrackerVersionSerializer
    pagination_class = None
    queryset = TrackerFormVersion.objects.none()

    @extend_schema(
        responses=TrackerVersionSerializer(many=True),
        summary="The tracker form's versions, newest (the current form) first",
        operation_id="incidents_tracker_form_list",
    )
    def get(self, request: Request, reference: str) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        rows = TrackerFormVersion.objects.filter(incident=incident).select_related("created_by").order_by("-version")
        return Response(TrackerVersionSerializer(rows, many=True).data)

    @extend_schema(
        request=TrackerInputSerializer,
        responses={201: TrackerVersionSerializer},
        summary="Start or update the tracker form: a new version (PC02-14)",
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        data = TrackerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        note = fields.pop("change_note")
        row = services.tracker_form_update(
            incident=incident, actor=current_user(request), fields=fields, change_note=note
        )
        return Response(TrackerVersionSerializer(row).data, status=status.HTTP_201_CREATED)


# --- lifecycle and the plan's state --------------------------------------------------------


class TransitionInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class MissingSerializer(serializers.Serializer):
    element = serializers.ChoiceField(choices=PlanElement.choices)
    message = serializers.CharField()


class SimilarSerializer(serializers.Serializer):
    reference = serializers.CharField(source="incident.reference")
    title = serializers.CharField(source="incident.title")
    discovered_at = DateTimeField(source="incident.discovered_at")
    earlier = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())


class TransitionOptionSerializer(serializers.Serializer):
    status = serializers.CharField(source="target")
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    reason_required = serializers.BooleanField()


class PlanSerializer(serializers.Serializer):
    status = serializers.CharField()
    closure_missing = MissingSerializer(many=True)
    transitions = TransitionOptionSerializer(many=True, help_text="What the signed-in user may do next.")
    similar = SimilarSerializer(many=True)


class PlanView(GenericAPIView):
    serializer_class = PlanSerializer

    @extend_schema(
        responses=PlanSerializer, summary="Status, what closing still needs, next steps and similar incidents"
    )
    def get(self, request: Request, reference: str) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        user = current_user(request)
        return Response(
            PlanSerializer(
                {
                    "status": incident.status,
                    "closure_missing": selectors.closure_missing(incident),
                    "transitions": services.transitions_for_user(incident, user),
                    "similar": selectors.similar_incidents(incident, user=user),
                }
            ).data
        )


class TransitionView(GenericAPIView):
    serializer_class = TransitionInputSerializer

    @extend_schema(
        request=TransitionInputSerializer,
        responses={200: PlanSerializer},
        summary="Change the status; closing is refused with the list of what is missing",
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        data = TransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = current_user(request)
        changed = services.incident_transition(
            incident=incident, actor=user, target=data.validated_data["status"], reason=data.validated_data["reason"]
        )
        return Response(
            PlanSerializer(
                {
                    "status": changed.status,
                    "closure_missing": selectors.closure_missing(changed),
                    "transitions": services.transitions_for_user(changed, user),
                    "similar": selectors.similar_incidents(changed, user=user),
                }
            ).data
        )


# --- enquiries -----------------------------------------------------------------------------


class EnquirySerializer(serializers.ModelSerializer):
    recorded_by = _username()

    class Meta:
        model = Enquiry
        fields = [
            "id", "kind", "person_name", "contact", "received_at", "identity_verified", "identity_method",
            "data_held", "fields_held", "answered_at", "outcome", "compensation_paid", "apology_at", "notes",
            "recorded_by", "recorded_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class EnquiryInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EnquiryKind.choices)
    person_name = serializers.CharField(max_length=200)
    contact = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    received_at = DateTimeField()
    identity_verified = serializers.BooleanField(required=False, default=False)
    identity_method = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")


class EnquiryUpdateSerializer(serializers.Serializer):
    contact = serializers.CharField(max_length=300, required=False, allow_blank=True)
    identity_verified = serializers.BooleanField(required=False)
    identity_method = serializers.CharField(max_length=300, required=False, allow_blank=True)
    data_held = serializers.BooleanField(required=False, allow_null=True)
    fields_held = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    answered_at = DateTimeField(required=False, allow_null=True)
    outcome = serializers.ChoiceField(choices=EnquiryOutcome.choices, required=False)
    compensation_paid = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, allow_null=True)
    apology_at = DateTimeField(required=False, allow_null=True)
    notes = serializers.CharField(max_length=10_000, required=False, allow_blank=True)


def _require_plan_role(request: Request) -> None:
    from django.http import Http404

    from breachdesk.selectors import user_has_role

    if not user_has_role(request.user, services.PLAN_ROLES):
        raise Http404  # enquirers' names are for those who run the plan


class EnquiriesView(GenericAPIView):
    serializer_class = EnquirySerializer
    pagination_class = None
    queryset = Enquiry.objects.none()

    @extend_schema(responses=EnquirySerializer(many=True), operation_id="incidents_enquiries_list")
    def get(self, request: Request, reference: str) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        _require_plan_role(request)
        rows = Enquiry.objects.filter(incident=incident).select_related("recorded_by")
        return Response(EnquirySerializer(rows, many=True).data)

    @extend_schema(
        request=EnquiryInputSerializer,
        responses={201: EnquirySerializer},
        summary="Log an enquiry ('was my data in it?'), a complaint or a compensation claim",
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        _require_plan_role(request)
        data = EnquiryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.enquiry_record(incident=incident, actor=current_user(request), **data.validated_data)
        return Response(EnquirySerializer(row).data, status=status.HTTP_201_CREATED)


class EnquiryDetailView(GenericAPIView):
    serializer_class = EnquirySerializer
    queryset = Enquiry.objects.none()

    def get(self, request: Request, reference: str, pk: int) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        _require_plan_role(request)
        return Response(EnquirySerializer(get_object_or_404(Enquiry, pk=pk, incident=incident)).data)

    @extend_schema(
        request=EnquiryUpdateSerializer, responses=EnquirySerializer, summary="Verify, answer, decide, apologise"
    )
    def patch(self, request: Request, reference: str, pk: int) -> Response:
        incident = selectors.incident_get_for_user(user=request.user, reference=reference)
        _require_plan_role(request)
        enquiry = get_object_or_404(Enquiry, pk=pk, incident=incident)
        data = EnquiryUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        row = services.enquiry_update(enquiry=enquiry, actor=current_user(request), changes=dict(data.validated_data))
        return Response(EnquirySerializer(row).data)


def api_urls() -> list[Any]:
    from django.urls import path

    base = "incidents/<str:reference>"
    return [
        path("actions/mine/", MyActionsView.as_view(), name="my-actions"),
        path(f"{base}/actions/", ActionsView.as_view(), name="incident-actions"),
        path(f"{base}/actions/<int:pk>/finish/", ActionFinishView.as_view(), name="incident-action-finish"),
        path(f"{base}/notices/", NoticesView.as_view(), name="incident-notices"),
        path(f"{base}/root-causes/", RootCausesView.as_view(), name="incident-root-causes"),
        path(f"{base}/lessons/", LessonsView.as_view(), name="incident-lessons"),
        path(f"{base}/tracker-form/", TrackerFormView.as_view(), name="incident-tracker-form"),
        path(f"{base}/plan/", PlanView.as_view(), name="incident-plan"),
        path(f"{base}/transitions/", TransitionView.as_view(), name="incident-transitions"),
        path(f"{base}/enquiries/", EnquiriesView.as_view(), name="incident-enquiries"),
        path(f"{base}/enquiries/<int:pk>/", EnquiryDetailView.as_view(), name="incident-enquiry"),
    ]
