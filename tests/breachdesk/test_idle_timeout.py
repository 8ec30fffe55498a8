"""Signed out after SESSION_IDLE_MINUTES without activity; pages refreshing themselves do
not count as activity."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from breachdesk.models import AuditEvent
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db
POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_BREACHDESK_POLL": "1"}


def signed_in(client: Client) -> bool:
    return client.get("/incidents/").status_code == 200


def test_idle_sessions_end_and_polls_do_not_keep_them_alive(org, settings):
    settings.SESSION_IDLE_MINUTES = 30
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False) as clock:
        client.login(username="siro", password=DEMO_PASSWORD)
        assert signed_in(client)
        clock.move_to(start + timedelta(minutes=20))
        assert signed_in(client)  # activity: the clock starts again
        clock.move_to(start + timedelta(minutes=45))
        assert signed_in(client)
        # The dashboard's clocks refresh themselves for 40 minutes: not activity.
        for minute in range(46, 86, 2):
            clock.move_to(start + timedelta(minutes=minute))
            response = client.get("/dashboard/clocks/", **POLL)
            if response.has_header("HX-Redirect"):
                break
            assert response.status_code == 200
        assert response["HX-Redirect"] == "/accounts/login/"
        assert minute > 75
        page = client.get("/incidents/")
        assert page.status_code == 302
        assert page["Location"].startswith("/accounts/login/")
        login = client.get(page["Location"])
        assert "signed out after 30 minutes without activity" in login.content.decode()
    event = AuditEvent.objects.filter(action="auth.idle_timeout").get()
    assert event.actor == org["siro"]
