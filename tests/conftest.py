from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

DEMO_PASSWORD = "demo-password-for-tests"


@pytest.fixture
def org(db: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, User]:
    """The demo organisation of API.md, created by the real seed_demo command."""
    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    call_command("seed_demo", verbosity=0)
    return {u.username: u for u in User.objects.all()}


@pytest.fixture
def api_client_for(org: dict[str, User]) -> Callable[[str], APIClient]:
    def make(username: str) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=org[username])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def report_payload() -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "title": "Memory stick lost on the train",
            "description": "An unencrypted memory stick with a case list was left on the 17:30 to York.",
            "category": "device_lost_or_stolen",
            "discovered_at": (timezone.now() - timedelta(minutes=20)).isoformat(),
            "org_unit": "NE-TYNE-NCL",
        }
        payload.update(overrides)
        return payload

    return make


requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: run with DATABASE_URL set (as .ci/run does)",
)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"
