"""Browser views for escalation: the signed acknowledgement link, My tasks, and the actions
on an incident's notifications and clocks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from breachdesk.audit import change_key
from breachdesk.choices import GLOBAL_ROLES, UNIT_SCOPED_ROLES, Role
from breachdesk.http import current_user
from breachdesk.selectors import user_has_role, viewer_key
from incidents.selectors import incident_get_for_user, open_actions_for_user, recurring_for_user

from . import selectors, services
from .choices import AckMethod, DeadlineCode, NotificationState
from .forms import ApprovalDecisionForm, ChangeDueForm, IcoSubmissionForm, PhoneConfirmationForm, ReasonForm
from .models import Approval, Notification
from .services.delivery import LinkError, ack_token_read

# Who is shown the incidents that repeat earlier ones (DOMAIN.md s.7).
REPEAT_WATCHERS = frozenset({Role.ISIM, Role.SIRO, Role.DPO})


def _source(request: HttpRequest) -> str:
    agent = request.headers.get("User-Agent", "")[:120]
    return f"{request.META.get('REMOTE_ADDR', '')} {agent}".strip()


def _flash_errors(request: HttpRequest, error: ValidationError) -> None:
    for messages_ in error.message_dict.values():
        for message in messages_:
            messages.error(request, str(message))


def _back(reference: str, anchor: str) -> HttpResponse:
    return redirect(reverse("incidents:detail", args=[reference]) + anchor)


@login_not_required
@require_http_methods(["GET", "POST"])
def ack_link(request: HttpRequest, token: str) -> HttpResponse:
    """The email's "I have received this" link: no password, single use, expires. GET only
    shows the page (mail scanners follow links); the button POSTs."""
    try:
        notification_id, nonce = ack_token_read(token)
    except LinkError as error:
        return render(
            request,
            "notifications/ack_link.html",
            {"error": str(error), "expired": error.expired},
            status=410 if error.expired else 404,
        )
    notification = Notification.objects.select_related("incident", "recipient").filter(pk=notification_id).first()
    if notification is None:
        return render(request, "notifications/ack_link.html", {"error": "This link is not valid."}, status=404)
    if notification.state == NotificationState.ACKNOWLEDGED or notification.link_nonce != nonce or not nonce:
        return render(request, "notifications/ack_link.html", {"used": True, "n": notification}, status=410)
    if notification.state == NotificationState.CANCELLED:
        return render(
            request,
            "notifications/ack_link.html",
            {"error": "This notification was withdrawn: someone else has already confirmed."},
            status=410,
        )
    if request.method == "POST":
        services.notification_acknowledge(
            notification_id=notification.pk, by=notification.recipient, method=AckMethod.LINK, source=_source(request)
        )
        return render(request, "notifications/ack_link.html", {"done": True, "n": notification})
    return render(request, "notifications/ack_link.html", {"n": notification, "token": token})


@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    all_actions = request.GET.get("actions") == "all"
    # Worked out again after any recorded change (change_key), and at least every hour, as
    # "escalated in the last 14 days" and the recurrence window move with the clock.
    key = change_key("tasks", viewer_key(user), all_actions, timezone.now().strftime("%Y-%m-%dT%H"))
    lists = cache.get(key)
    if lists is None:
        lists = _task_lists(user, all_actions=all_actions)
        cache.set(key, lists, settings.TASKS_CACHE_SECONDS)
    return render(
        request,
        "notifications/tasks.html",
        {
            **lists,
            "recurrence_window_days": settings.RECURRENCE_WINDOW_DAYS,
            "today": timezone.localdate(),
            "decision_form": ApprovalDecisionForm(),
            "phone_form": PhoneConfirmationForm(),
        },
    )


def _task_lists(user: User, *, all_actions: bool) -> dict[str, Any]:
    """Everything on a person's task page that comes from the database."""
    actions = open_actions_for_user(user)
    my_actions = list(actions if all_actions else actions[: selectors.TASKS_SHOWN + 1])
    watches_repeats = user_has_role(user, REPEAT_WATCHERS)
    return {
        "tasks": selectors.tasks_for_user(user),
        "my_actions": my_actions if all_actions else my_actions[: selectors.TASKS_SHOWN],
        "more_actions": not all_actions and len(my_actions) > selectors.TASKS_SHOWN,
        "repeats": list(recurring_for_user(user)[: selectors.TASKS_SHOWN]) if watches_repeats else [],
    }


@require_POST
def acknowledge_in_app(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification.objects.select_related("incident"), pk=pk, recipient=request.user)
    try:
        services.notification_acknowledge(
            notification_id=notification.pk,
            by=current_user(request),
            method=AckMethod.IN_APP,
            source=_source(request),
        )
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, f"Receipt confirmed for {notification.incident.reference}.")
    return redirect("tasks")


def _can_record_phone(request: HttpRequest, notification: Notification) -> bool:
    decided = Approval.objects.filter(
        escalation=notification.escalation, step=notification.step, decided_by=current_user(request)
    ).exists()
    return decided or user_has_role(request.user, UNIT_SCOPED_ROLES | GLOBAL_ROLES)


@require_POST
def record_phone(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification.objects.select_related("incident"), pk=pk)
    incident = incident_get_for_user(user=request.user, reference=notification.incident.reference)
    if not _can_record_phone(request, notification):
        raise PermissionDenied
    form = PhoneConfirmationForm(request.POST)
    if not form.is_valid():
        for message in form.errors.get("note", []):
            messages.error(request, str(message))
        return _back(incident.reference, "#notifications")
    try:
        services.notification_acknowledge(
            notification_id=notification.pk,
            by=current_user(request),
            method=AckMethod.PHONE,
            note=form.cleaned_data["note"],
            source=_source(request),
        )
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, f"Phone confirmation recorded for {notification.recipient.get_full_name()}.")
    return _back(incident.reference, "#notifications")


@require_POST
def decide_approval(request: HttpRequest, pk: int) -> HttpResponse:
    approval = get_object_or_404(Approval.objects.select_related("incident"), pk=pk, approvers=request.user)
    form = ApprovalDecisionForm(request.POST)
    if form.is_valid():
        try:
            services.approval_decide(
                approval_id=approval.pk,
                by=current_user(request),
                approve=form.cleaned_data["decision"] == "approve",
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            _flash_errors(request, error)
        else:
            messages.success(
                request,
                "Decision recorded."
                if form.cleaned_data["decision"] == "decline"
                else "The national list is being told now.",
            )
            return _back(approval.incident.reference, "#notifications")
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, str(message))
    return redirect("tasks")


def _incident_action(
    request: HttpRequest, reference: str, form_class: type, action: Any, anchor: str, success: str
) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, str(message))
        return _back(incident.reference, anchor)
    try:
        action(incident, form.cleaned_data)
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, success)
    return _back(incident.reference, anchor)


@require_POST
def record_ico_submission(request: HttpRequest, reference: str) -> HttpResponse:
    return _incident_action(
        request,
        reference,
        IcoSubmissionForm,
        lambda incident, data: services.ico_submission_record(incident=incident, actor=current_user(request), **data),
        "#ico",
        "Notification to the ICO recorded.",
    )


def _code(code: str) -> DeadlineCode:
    if code not in DeadlineCode.values:
        raise Http404
    return DeadlineCode(code)


@require_POST
def deadline_not_required(request: HttpRequest, reference: str, code: str) -> HttpResponse:
    return _incident_action(
        request,
        reference,
        ReasonForm,
        lambda incident, data: services.deadline_not_required(
            incident=incident, code=_code(code), actor=current_user(request), reason=data["reason"]
        ),
        "#clocks",
        "Decision recorded: not required.",
    )


@require_POST
def deadline_change_due(request: HttpRequest, reference: str, code: str) -> HttpResponse:
    return _incident_action(
        request,
        reference,
        ChangeDueForm,
        lambda incident, data: services.deadline_change_due(
            incident=incident,
            code=_code(code),
            actor=current_user(request),
            due_at=data["due_at"],
            reason=data["reason"],
        ),
        "#clocks",
        "Due time changed.",
    )


@require_POST
def start_investigation(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)
    if not user_has_role(request.user, UNIT_SCOPED_ROLES | GLOBAL_ROLES):
        raise PermissionDenied
    try:
        services.investigation_start(incident=incident, actor=current_user(request))
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, "Investigation started.")
    return _back(incident.reference, "#clocks")


@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    return render(request, "notifications/policies.html", {"policies": selectors.policies()})
