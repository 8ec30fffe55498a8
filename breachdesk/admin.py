from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from .admin_audit import AuditedAdmin
from .audit import audit_record
from .models import Alternate, AuditEvent, ControlCheck, OrgUnit, Profile, RoleAssignment

User = get_user_model()


@admin.register(OrgUnit)
class OrgUnitAdmin(AuditedAdmin):
    list_display = ["code", "name", "level", "parent", "path"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    readonly_fields = ["path"]


class ProfileInline(admin.StackedInline):
    model = Profile
    fk_name = "user"
    can_delete = False
    autocomplete_fields = ["unit", "line_manager"]


class RoleInline(admin.TabularInline):
    model = RoleAssignment
    extra = 1
    autocomplete_fields = ["unit"]


class AlternateInline(admin.TabularInline):
    model = Alternate
    fk_name = "principal"
    extra = 1
    autocomplete_fields = ["alternate"]
    verbose_name = "alternate used in this person's absence"


admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(AuditedAdmin, UserAdmin):  # type: ignore[misc]
    inlines = [ProfileInline, RoleInline, AlternateInline]

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """The password page saves outside save_model: audit that the password changed (or
        was disabled), never the password or its hash."""
        with transaction.atomic():
            before = User.objects.filter(pk=id).values_list("password", flat=True).first() if id.isdigit() else None
            response = super().user_change_password(request, id, form_url)
            user = User.objects.filter(pk=id).first() if before is not None else None
            if user is not None and user.password != before:
                audit_record(
                    actor=request.user,
                    action="user.password_changed",
                    object_type="user",
                    object_id=user.pk,
                    after={"usable": user.has_usable_password(), "via": "admin"},
                )
        return response


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(AuditedAdmin):
    list_display = ["user", "role", "unit"]
    list_filter = ["role", "unit__level"]
    search_fields = ["user__username", "unit__code"]
    autocomplete_fields = ["user", "unit"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is append-only and written by services alone."""

    list_display = ["seq", "occurred_at", "actor_username", "action", "object_type", "object_id", "incident_ref"]
    list_filter = ["action"]
    search_fields = ["incident_ref", "actor_username", "object_id"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ControlCheck)
class ControlCheckAdmin(admin.ModelAdmin):
    """Read-only: checks are recorded through the service (its rules and audit event) at
    /controls/new/ or the API, and never edited."""

    list_display = ["checked_on", "subject", "unit", "partner", "kind", "in_place", "valid_until", "recorded_by"]
    list_filter = ["subject", "kind", "in_place", "unit__level"]
    list_select_related = ["unit", "recorded_by"]
    search_fields = ["unit__code", "unit__name", "partner", "evidence"]
    date_hierarchy = "checked_on"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
