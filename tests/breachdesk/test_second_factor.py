"""The second factor: required for the SIRO, DPO, Chief Officers, SCS and admin staff,
set up with an authenticator app the first time, a code at every sign-in after, refused
when wrong (and audited), and not asked of API tokens."""

from __future__ import annotations

import os
import re
from base64 import b32decode
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential
from rest_framework.test import APIClient

from breachdesk.models import AuditEvent
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def required(settings):
    settings.SECOND_FACTOR_REQUIRED = True


def code_for(key: bytes) -> str:
    return f"{TOTP(key).token():06d}"


def sign_in(client: Client, username: str) -> str:
    response = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return (
        client.get(response["Location"])["Location"] if response["Location"] == "/incidents/" else response["Location"]
    )


def test_the_siro_sets_up_an_app_then_needs_a_code_every_time(org):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = Client()
        client.post("/accounts/login/", {"username": "siro", "password": DEMO_PASSWORD})
        first = client.get("/dashboard/")
        assert first.status_code == 302
        assert first["Location"] == "/accounts/code/set-up/?next=/dashboard/"
        page = client.get(first["Location"])
        body = page.content.decode()
        assert "<svg" in body
        key = b32decode(re.search(r'id="otp-key">([A-Z2-7 ]+)<', body)[1].replace(" ", "") + "=" * 0)
        wrong = client.post(first["Location"], {"code": "000000" if code_for(key) != "000000" else "111111"})
        assert wrong.status_code == 400
        assert "That code is not right" in wrong.content.decode()
        clock.shift(timedelta(seconds=2))  # after a wrong code, the next try waits a moment
        done = client.post(first["Location"], {"code": code_for(key), "next": "/dashboard/"})
        assert done["Location"] == "/dashboard/"
        assert client.get("/dashboard/").status_code == 200
        assert TOTPDevice.objects.get(user=org["siro"]).confirmed

        # Next sign-in: the code, not the set-up; a wrong one is refused and audited.
        client.post("/accounts/logout/")
        clock.move_to(start + timedelta(minutes=2))
        client.post("/accounts/login/", {"username": "siro", "password": DEMO_PASSWORD})
        asked = client.get("/tasks/")
        assert asked["Location"] == "/accounts/code/?next=/tasks/"
        refused = client.post("/accounts/code/", {"code": "12345x"})
        assert "Enter the 6 digits" in refused.content.decode()
        assert (
            client.post("/accounts/code/", {"code": "999999" if code_for(key) != "999999" else "888888"}).status_code
            == 400
        )
        assert client.get("/tasks/").status_code == 302  # still not through
        throttled = client.post("/accounts/code/", {"code": code_for(key)})
        assert "Too many wrong codes in a row" in throttled.content.decode()
        clock.shift(timedelta(seconds=5))
        ok = client.post("/accounts/code/", {"code": code_for(key), "next": "/tasks/"})
        assert ok["Location"] == "/tasks/"
        assert client.get("/tasks/").status_code == 200
    actions = list(
        AuditEvent.objects.filter(actor=org["siro"], action__startswith="auth.").values_list("action", flat=True)
    )
    assert "auth.second_factor_set_up" in actions
    assert "auth.second_factor_failed" in actions
    assert "auth.second_factor" in actions


def test_reporters_are_not_asked_and_an_offsite_next_is_ignored(org):
    client = Client()
    client.post("/accounts/login/", {"username": "reporter", "password": DEMO_PASSWORD})
    assert client.get("/incidents/").status_code == 200
    # Anyone may set one up; a "next" elsewhere is not followed.
    page = client.get("/accounts/code/set-up/?next=https://evil.example/")
    assert page.status_code == 200
    assert 'value="/incidents/"' in page.content.decode()


def test_the_api_by_session_waits_for_the_code_but_a_token_does_not(org):
    client = Client()
    client.post("/accounts/login/", {"username": "dpo", "password": DEMO_PASSWORD})
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert "authenticator app" in response.json()["detail"]
    token = APIClient().post("/api/v1/auth/token/", {"username": "dpo", "password": DEMO_PASSWORD}).json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me/").status_code == 200


def test_admin_staff_need_it_too(org):
    user = org["reporter"]
    user.is_staff = True
    user.save()
    client = Client()
    client.post("/accounts/login/", {"username": "reporter", "password": DEMO_PASSWORD})
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/code/set-up/")


# Passkeys (django-otp-webauthn). The ceremonies themselves run in a real browser with a
# virtual authenticator: tests/test_browser_passkeys.py.


def make_passkey(user: Any, name: str = "Work laptop") -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user,
        name=name,
        confirmed=True,
        credential_id=os.urandom(32),
        public_key=os.urandom(77),
        sign_count=0,
        transports=["internal"],
    )


def verified_with(client: Client, username: str, device: Any) -> None:
    """Signed in with the password and this second factor (as django-otp records it)."""
    client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def test_a_password_alone_cannot_add_a_passkey_for_someone_who_has_a_second_factor(org):
    TOTPDevice.objects.create(user=org["siro"], name="Authenticator app", confirmed=True)
    client = Client()
    client.post("/accounts/login/", {"username": "siro", "password": DEMO_PASSWORD})
    refused = client.post("/accounts/passkeys/registration/begin/")
    assert refused.status_code == 403
    assert "verify your identity first" in refused.json()["detail"]
    assert "otp_webauthn_register_state" not in client.session
    assert client.get("/accounts/security/")["Location"] == "/accounts/code/?next=/accounts/security/"
    # Someone with no second factor yet may add a passkey as their first.
    first = Client()
    first.post("/accounts/login/", {"username": "dpo", "password": DEMO_PASSWORD})
    options = first.post("/accounts/passkeys/registration/begin/")
    assert options.status_code == 200
    assert options.json()["rp"] == {"name": "BreachDesk", "id": "localhost"}
    assert "otp_webauthn_register_state" in first.session
    # A reply that is not a passkey's is refused with a message, and adds nothing.
    for body, status in (("not json", 400), ('{"id": "x", "rawId": "x", "response": {}, "type": "public-key"}', 422)):
        refused = first.post("/accounts/passkeys/registration/complete/", body, content_type="application/json")
        assert refused.status_code == status, body
        assert refused.json()["detail"]
    assert not WebAuthnCredential.objects.filter(user=org["dpo"]).exists()
    assert not AuditEvent.objects.filter(action="auth.passkey_added").exists()


def test_someone_with_only_a_passkey_is_offered_it_and_not_a_code(org):
    make_passkey(org["siro"])
    client = Client()
    client.post("/accounts/login/", {"username": "siro", "password": DEMO_PASSWORD})
    asked = client.get("/dashboard/")
    assert asked["Location"] == "/accounts/code/?next=/dashboard/"
    page = client.get(asked["Location"]).content.decode()
    assert 'id="passkey-verification-button"' in page
    assert 'name="code"' not in page
    refused = client.post("/accounts/code/", {"code": "123456"})
    assert refused.status_code == 400
    assert "You have not set up an authenticator app: use your passkey." in refused.content.decode()
    assert client.get("/dashboard/").status_code == 302  # still not through
    # Signing in with a passkey instead of the password: not offered.
    anonymous = Client().post("/accounts/passkeys/authentication/begin/")
    assert anonymous["Location"].startswith("/accounts/login/")


def test_passkeys_are_listed_and_removed_but_never_the_last_second_factor_of_a_role_that_needs_one(org):
    laptop = make_passkey(org["siro"], "Work laptop")
    phone = make_passkey(org["siro"], "Phone")
    someone_elses = make_passkey(org["dpo"], "DPO's key")
    client = Client()
    verified_with(client, "siro", laptop)

    page = client.get("/accounts/security/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Work laptop" in body
    assert "Phone" in body
    assert "DPO&#x27;s key" not in body
    assert "Not set up." in body  # no authenticator app

    assert client.post(f"/accounts/security/passkeys/{someone_elses.pk}/remove/").status_code == 404
    removed = client.post(f"/accounts/security/passkeys/{phone.pk}/remove/", follow=True)
    assert "Phone removed: it can no longer be used to sign in to BreachDesk." in removed.content.decode()
    assert not WebAuthnCredential.objects.filter(pk=phone.pk).exists()
    kept = client.post(f"/accounts/security/passkeys/{laptop.pk}/remove/", follow=True)
    assert "This is your only way to confirm it is you" in kept.content.decode()
    assert WebAuthnCredential.objects.filter(pk=laptop.pk).exists()
    assert WebAuthnCredential.objects.filter(pk=someone_elses.pk).exists()
    assert list(AuditEvent.objects.filter(action="auth.passkey_removed").values_list("actor__username", "before")) == [
        ("siro", {"passkey": phone.pk})
    ]
