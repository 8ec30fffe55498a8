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


@pytest.fixture(autouse=True)
def _fresh_local_cache() -> None:
    """Each test starts with an empty in-process cache, as it starts with an empty database:
    the local-memory cache (used when no REDIS_URL is set) lives as long as the process, and
    SQLite reuses the ids a rolled-back test used, so a cache key could otherwise repeat."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    for cache in caches.all():
        if isinstance(cache, LocMemCache):
            cache.clear()


@pytest.fixture(autouse=True)
def _side_connections_closed() -> Any:
    """Connections opened apart from Django's (``breachdesk.db.execute_committed``) are closed
    after each test: PostgreSQL will not drop the test database while one is open."""
    yield
    from breachdesk.db import close_side_connections

    close_side_connections()


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


class Mailbox:
    """Messages received by a real SMTP server (aiosmtpd) on localhost."""

    def __init__(self) -> None:
        import threading

        self.messages: list[Any] = []
        self.peers: list[Any] = []  # the client address of each message: one per connection
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
            self.peers.append(session.peer)
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def ack_links(self, address: str) -> list[str]:
        import re

        links = []
        for message in self.to(address):
            body = message.get_body(preferencelist=("plain",)).get_content()
            links += re.findall(r"https?://[^/\s]+(/ack/[^\s]+/)", body)
        return links


@pytest.fixture
def mailbox(settings: Any) -> Any:
    """A real SMTP server on a free localhost port, and Django pointed at it."""
    import socket

    from aiosmtpd.controller import Controller

    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    box.port = port  # type: ignore[attr-defined]
    box.controller = controller  # type: ignore[attr-defined]
    yield box
    box.controller.stop()  # type: ignore[attr-defined]  # a test may have replaced it
