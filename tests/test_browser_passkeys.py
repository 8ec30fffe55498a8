"""Passkeys in a real browser: Debian's Chromium with its virtual authenticator (the DevTools
WebAuthn domain), which does what a phone or a fingerprint reader would. The SIRO, who must
use a second factor, adds a passkey on first sign-in, then signs in with it; the page that
lists it passes axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import Browser, Page, expect

from breachdesk.models import AuditEvent
from tests.test_accessibility import SERIOUS, describe
from tests.test_browser import AXE, async_unsafe_allowed, chromium, shot  # noqa: F401 - fixtures

from .conftest import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_with_password(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_the_siro_adds_a_passkey_then_signs_in_with_it(
    chromium: Browser,  # noqa: F811 - the fixture
    live_server: Any,
    org: dict[str, User],
    settings: Any,
) -> None:
    base = str(live_server)
    assert base.startswith("http://localhost:"), "passkeys need a domain name, not an IP address"
    settings.SECOND_FACTOR_REQUIRED = True
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [base]
    context = chromium.new_context(base_url=base, viewport={"width": 1280, "height": 800})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    try:
        # First sign-in: the password, then a second step must be set up; a passkey is added.
        sign_in_with_password(page, "siro")
        expect(page).to_have_url(re.compile(r"/accounts/code/set-up/"))
        expect(page.get_by_role("heading", name="Set up a second step at sign-in")).to_be_visible()
        expect(page.get_by_role("button", name="Add a passkey")).to_be_visible()
        shot(page, "second-factor-set-up")
        page.get_by_role("button", name="Add a passkey").click()
        expect(page).to_have_url(re.compile(r"^[^?]*/incidents/$"))
        passkey = WebAuthnCredential.objects.get(user=org["siro"])
        assert passkey.confirmed
        assert passkey.name.startswith("Passkey added ")

        # Next sign-in: the password, then the passkey (no authenticator app was set up).
        page.get_by_role("button", name="Sign out").click()
        sign_in_with_password(page, "siro")
        expect(page).to_have_url(re.compile(r"/accounts/code/"))
        expect(page.get_by_label("Code from your authenticator app")).to_have_count(0)
        shot(page, "passkey-sign-in")
        page.get_by_role("button", name="Use your passkey").click()
        expect(page).to_have_url(re.compile(r"^[^?]*/incidents/$"))
        dashboard = page.goto("/dashboard/")
        assert dashboard is not None
        assert dashboard.status == 200  # the second factor counts

        # The page listing the ways to confirm it is them.
        page.goto("/accounts/security/")
        row = page.get_by_role("row", name=re.compile(passkey.name))
        expect(row).to_be_visible()
        expect(row).not_to_contain_text("Not yet")  # it has been used to sign in
        shot(page, "sign-in-security")
        result = page.evaluate(
            """async () => await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
            })"""
        )
        violations = [v for v in result["violations"] if v["impact"] in SERIOUS]
        assert violations == [], describe(violations)
        assert errors == []
    finally:
        context.close()

    actions = list(
        AuditEvent.objects.filter(actor=org["siro"], action__startswith="auth.")
        .order_by("seq")
        .values_list("action", "after")
    )
    assert ("auth.passkey_added", {"passkey": passkey.pk}) in actions
    assert ("auth.second_factor", {"method": "passkey", "passkey": passkey.pk}) in actions
