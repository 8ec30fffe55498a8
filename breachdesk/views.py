from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from . import selectors, services
from .choices import ControlSubject
from .forms import ControlCheckForm
from .http import current_user


@login_not_required
@require_GET
def health_live(request: HttpRequest) -> HttpResponse:
    """Liveness: the web process answers. Touches nothing else."""
    return HttpResponse("ok", content_type="text/plain")


HEARTBEAT_STALE_SECONDS = 120  # beat sends the heartbeat every 30 s, a worker runs it


@login_not_required
@require_GET
def health_ready(request: HttpRequest) -> JsonResponse:
    """Readiness of the whole service: the database answers; beat and a worker are alive
    (the heartbeat beat sends every 30 s, recorded by the worker that runs it); and no timer
    is left unfired (the oldest timer past its time, which the two-second sweep should have
    taken). Ages and counts only: nothing about any incident or person. 503 when not ready."""
    from datetime import datetime

    from django.core.cache import cache
    from django.db import connection
    from django.utils import timezone

    from notifications.choices import TimerState
    from notifications.models import Timer

    from .tasks import HEARTBEAT_CACHE_KEY

    now = timezone.now()
    checks: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # any failure to reach it is the answer
        checks["database"] = "unreachable"
    beat = cache.get(HEARTBEAT_CACHE_KEY)
    age = (now - datetime.fromisoformat(beat)).total_seconds() if beat else None
    checks["beat_and_worker_heartbeat_age_s"] = round(age, 1) if age is not None else None
    oldest_late = None
    if checks["database"] == "ok":
        late = (
            Timer.objects.filter(state=TimerState.PENDING, due_at__lt=now)
            .order_by("due_at")
            .values_list("due_at", flat=True)
            .first()
        )
        oldest_late = round((now - late).total_seconds(), 1) if late else 0
    checks["oldest_unfired_timer_late_s"] = oldest_late
    ready = (
        checks["database"] == "ok"
        and age is not None
        and age < HEARTBEAT_STALE_SECONDS
        and (oldest_late or 0) < HEARTBEAT_STALE_SECONDS
    )
    return JsonResponse({"ready": ready, **checks}, status=200 if ready else 503)


@login_not_required
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return HttpResponse('{"detail": "Not found."}', status=404, content_type="application/json")
    return render(request, "404.html", status=404)


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)


# --- The controls register (DOMAIN.md s.7) ------------------------------------------------------


@require_GET
def controls_register(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    if not selectors.control_register_visible_to(user):
        raise PermissionDenied
    return render(request, "controls/register.html", {"register": selectors.control_register_for_user(user)})


@require_http_methods(["GET", "POST"])
def control_new(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    if not selectors.control_can_record(user, subject=ControlSubject.UNIT):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else request.GET
    unit_code = (data.get("unit") or "").strip()
    # A unit outside the user's part of the organisation does not exist for them.
    unit = selectors.control_unit_get_for_user(user=user, code=unit_code) if unit_code else None
    initial: dict[str, Any] = {}
    if request.method == "GET":
        initial = {k: request.GET[k] for k in ("subject", "unit", "partner", "kind") if request.GET.get(k)}
        if unit is not None:
            initial["subject"] = ControlSubject.UNIT.value
    form = ControlCheckForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        try:
            check = services.control_check_record(
                actor=user,
                subject=cleaned["subject"],
                kind=cleaned["kind"],
                in_place=cleaned["in_place"],
                checked_on=cleaned["checked_on"],
                # Passed as given: the service says which of the two a subject must leave empty.
                unit=cleaned["unit"],
                partner=cleaned.get("partner", ""),
                valid_until=cleaned["valid_until"],
                evidence=cleaned["evidence"],
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            who = check.unit.name if check.unit is not None else check.partner
            messages.success(request, f"Check recorded: {check.get_kind_display()} for {who}.")
            anchor = f"unit-{check.unit.code}" if check.unit is not None else "partners"
            return redirect(f"{reverse('controls')}#{anchor}")
    status = 400 if request.method == "POST" else 200
    return render(request, "controls/new.html", {"form": form}, status=status)
