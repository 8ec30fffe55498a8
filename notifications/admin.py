from django.contrib import admin
from django.http import HttpRequest

from breachdesk.admin_audit import AuditedAdmin

from .models import Approval, Deadline, Escalation, EscalationPolicy, EscalationStep, IcoSubmission, Notification, Timer


class StepInline(admin.StackedInline):
    model = EscalationStep
    extra = 0
    ordering = ["order"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(AuditedAdmin):
    """Policies are configuration: editable here, every change audited. A running
    escalation keeps the snapshot it started with, so an edit only affects incidents
    reported afterwards."""

    list_display = ["name", "is_default"]
    inlines = [StepInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Operational records change only through the services, which audit every change."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ["incident", "policy", "state", "current_step", "started_at"]
    list_filter = ["state"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["incident", "step", "role", "recipient", "state", "sent_at", "acknowledged_at", "due_at"]
    list_filter = ["state", "purpose"]
    search_fields = ["incident__reference", "recipient__username"]


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ["incident", "step", "state", "decided_by", "decided_at"]
    list_filter = ["state"]


@admin.register(Deadline)
class DeadlineAdmin(ReadOnlyAdmin):
    list_display = ["incident", "code", "due_at", "state", "met_at"]
    list_filter = ["code", "state"]
    search_fields = ["incident__reference"]


@admin.register(Timer)
class TimerAdmin(ReadOnlyAdmin):
    list_display = ["kind", "incident", "due_at", "state", "fired_at"]
    list_filter = ["kind", "state"]


@admin.register(IcoSubmission)
class IcoSubmissionAdmin(ReadOnlyAdmin):
    list_display = ["incident", "kind", "submitted_at", "case_reference", "recorded_by"]
