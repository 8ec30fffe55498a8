from django.contrib import admin
from django.http import HttpRequest

from .models import Incident


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Read-only in the admin: every change goes through the services, which audit it."""

    list_display = ["reference", "title", "category", "status", "org_unit", "reported_at"]
    list_filter = ["status", "category"]
    search_fields = ["reference", "title"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
