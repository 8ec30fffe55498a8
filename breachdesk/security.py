"""Sign-in protection: what a locked-out sign-in is told, and its audit event."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes' answer once a username has failed too often: a page for people, JSON
    for the API. It says for how long, and whom to ask, but not whether the password was
    right this time."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many failed sign-ins for this username. Try again in {minutes} minutes, "
        "or ask your BreachDesk administrator to unlock it."
    )
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)
