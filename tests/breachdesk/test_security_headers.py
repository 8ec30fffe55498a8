"""Security headers on every page: a Content-Security-Policy without 'unsafe-inline' (the
one inline style, in report previews and the API docs, carries the response's nonce), no
framing, a referrer policy; and under production settings HSTS and secure cookies."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_every_page_has_a_strict_policy(org):
    client = Client()
    client.login(username="dpo", password=DEMO_PASSWORD)
    incident = IncidentFactory.create(reporter=org["reporter"])
    pages = [(Client(), "/accounts/login/")] + [
        (client, path) for path in ("/incidents/", f"/incidents/{incident.reference}/", "/dashboard/", "/tasks/")
    ]
    for who, path in pages:
        response = who.get(path)
        assert response.status_code == 200, path
        rules = policy(response)
        assert "unsafe-inline" not in response["Content-Security-Policy"], path
        assert rules["script-src"] == "script-src 'self'", path
        assert rules["frame-ancestors"] == "frame-ancestors 'none'", path
        assert rules["object-src"] == "object-src 'none'", path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["Referrer-Policy"] == "same-origin", path
        body = response.content.decode()
        assert "<script>" not in body, path
        assert " style=" not in body, path


def test_the_report_preview_style_carries_the_nonce_of_its_own_response(org):
    client = Client()
    client.login(username="dpo", password=DEMO_PASSWORD)
    incident = IncidentFactory.create(reporter=org["reporter"])
    response = client.get(f"/incidents/{incident.reference}/reports/tracker-form/")
    assert response.status_code == 200
    nonce = re.search(r'<style nonce="([^"]+)">', response.content.decode())
    assert nonce is not None
    assert f"'nonce-{nonce[1]}'" in policy(response)["style-src"]
    again = client.get(f"/incidents/{incident.reference}/reports/tracker-form/")
    assert f"'nonce-{nonce[1]}'" not in again["Content-Security-Policy"]  # a new one each time


def test_the_api_docs_work_under_the_policy(org):
    client = Client()
    client.login(username="dpo", password=DEMO_PASSWORD)
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<script>" not in body
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
