import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Login everywhere, except the API, whose own authentication answers 401 with JSON
    instead of redirecting a script to a login page."""

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


POLL_HEADER = "X-BreachDesk-Poll"
LAST_ACTIVITY = "breachdesk:last_activity"
ACTIVITY_RESOLUTION = 60  # seconds


class IdleTimeoutMiddleware:
    """Signs a browser session out after ``SESSION_IDLE_MINUTES`` without anything the
    person did (ASVS V7). A page refreshing itself (htmx polls send ``X-BreachDesk-Poll``)
    is not activity, so a dashboard left open does not keep the session alive. The session
    cookie's absolute age (``SESSION_COOKIE_AGE``) still applies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            last = request.session.get(LAST_ACTIVITY)
            idle = settings.SESSION_IDLE_MINUTES * 60
            if last is not None and now - int(last) > idle:
                from .audit import audit_record

                audit_record(actor=user, action="auth.idle_timeout", object_type="user", object_id=user.pk)
                logout(request)
                messages.info(
                    request, f"You were signed out after {settings.SESSION_IDLE_MINUTES} minutes without activity."
                )
                if request.headers.get("HX-Request"):
                    return HttpResponse(status=200, headers={"HX-Redirect": reverse("login")})
            elif not request.headers.get(POLL_HEADER) and (last is None or now - int(last) >= ACTIVITY_RESOLUTION):
                # to the minute: a session is written once a minute at most, not every request
                request.session[LAST_ACTIVITY] = now
        return self.get_response(request)
