"""The health endpoints: liveness of the web process, and readiness of the whole service
(database, beat and worker heartbeat, timers left unfired), without signing in and without
anything about an incident."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from breachdesk.tasks import HEARTBEAT_CACHE_KEY, heartbeat_task
from notifications.choices import TimerState
from notifications.models import Timer
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_live_answers_without_signing_in():
    response = Client().get("/health/live/")
    assert (response.status_code, response.content) == (200, b"ok")


def test_ready_needs_a_fresh_heartbeat_and_no_timer_left_unfired(org):
    cache.delete(HEARTBEAT_CACHE_KEY)
    body = Client().get("/health/ready/")
    assert body.status_code == 503
    assert body.json() == {
        "ready": False,
        "database": "ok",
        "beat_and_worker_heartbeat_age_s": None,
        "oldest_unfired_timer_late_s": 0,
    }

    heartbeat_task()  # what a worker does when beat sends it
    response = Client().get("/health/ready/")
    assert response.status_code == 200
    assert response.json()["ready"] is True
    assert response.json()["beat_and_worker_heartbeat_age_s"] < 5

    # A timer ten minutes past its time: the sweep is not running.
    incident = IncidentFactory.create(reporter=org["reporter"])
    timer = Timer.objects.filter(incident=incident, state=TimerState.PENDING).first()
    assert timer is not None
    Timer.objects.filter(pk=timer.pk).update(due_at=timezone.now() - timedelta(minutes=10))
    late = Client().get("/health/ready/")
    assert late.status_code == 503
    assert 599 < late.json()["oldest_unfired_timer_late_s"] < 700
    assert incident.reference not in late.content.decode()


def test_a_stale_heartbeat_is_not_ready():
    cache.set(HEARTBEAT_CACHE_KEY, (timezone.now() - timedelta(minutes=5)).isoformat(), timeout=None)
    response = Client().get("/health/ready/")
    assert response.status_code == 503
    assert response.json()["beat_and_worker_heartbeat_age_s"] >= 300
