"""With Redis down, pages still work: the cache misses and drops writes, and nothing fails."""

from __future__ import annotations

import socket

import pytest
from django.core.cache import caches
from django.test import Client

from breachdesk.cache import ResilientRedisCache
from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


def test_an_unreachable_redis_is_a_cache_miss_not_an_error(org, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "breachdesk.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    cache = caches["default"]
    assert isinstance(cache, ResilientRedisCache)
    assert cache.get("anything", "fallback") == "fallback"
    cache.set("anything", 1)
    assert cache.get_many(["a", "b"]) == {}
    IncidentFactory.create(reporter=org["reporter"])
    client = Client()
    client.login(username="siro", password=DEMO_PASSWORD)
    assert client.get("/incidents/").status_code == 200
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/health/ready/").status_code == 503  # no heartbeat to read: not ready
    assert "Cache unreachable" in caplog.text
