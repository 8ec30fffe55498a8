from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .choices import SUMMARY_ROLES
from .selectors import control_register_visible_to, roles_for_user, user_has_role


def service(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    context: dict[str, Any] = {"protective_marking": settings.PROTECTIVE_MARKING}
    if user is not None and user.is_authenticated:
        profile = getattr(user, "profile", None)
        context["current_unit"] = profile.unit if profile is not None else None
        context["current_roles"] = roles_for_user(user)
        context["sees_controls"] = control_register_visible_to(user)
        context["sees_summary"] = user_has_role(user, SUMMARY_ROLES)
    return context
