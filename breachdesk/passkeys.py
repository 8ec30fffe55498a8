"""Passkeys (WebAuthn) as a second factor, with django-otp-webauthn: a passkey on a phone,
a laptop's fingerprint reader or a security key confirms it is you after the password, as an
authenticator app's code does. Never instead of the password (passwordless sign-in is off).

The ceremonies are the library's; BreachDesk adds the audit trail, and the page where people
see, add and remove their ways of confirming it is them. The library refuses to register a
passkey for someone who already has a second factor until they have used it this session,
so a stolen password cannot add an attacker's passkey.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import JavaScriptCatalog
from django_otp import user_has_device
from django_otp_webauthn import exceptions
from django_otp_webauthn import views as webauthn
from django_otp_webauthn.models import AbstractWebAuthnCredential, WebAuthnCredential

from .audit import audit_record
from .http import current_user


class PasskeyRegistrationComplete(webauthn.CompleteCredentialRegistrationView):
    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().post(*args, **kwargs)
        user = current_user(self.request)
        added = WebAuthnCredential.objects.filter(user=user).order_by("-pk").first()
        if added is not None and not added.name:
            added.name = f"Passkey added {added.created_at:%d %B %Y}"
            added.save(update_fields=["name"])
        audit_record(
            actor=user,
            action="auth.passkey_added",
            object_type="user",
            object_id=user.pk,
            after={"passkey": added.pk if added else None},
        )
        return response


class PasskeyAuthenticationComplete(webauthn.CompleteCredentialAuthenticationView):
    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response: HttpResponse = super().post(*args, **kwargs)
        except exceptions.OTPWebAuthnApiError:
            if self.request.user.is_authenticated:
                user = current_user(self.request)
                audit_record(
                    actor=user,
                    action="auth.second_factor_failed",
                    object_type="user",
                    object_id=user.pk,
                    after={"method": "passkey"},
                )
            raise
        return response

    def complete_auth(self, device: AbstractWebAuthnCredential) -> None:  # type: ignore[override]
        super().complete_auth(device)
        user = device.user
        audit_record(
            actor=user,
            action="auth.second_factor",
            object_type="user",
            object_id=user.pk,
            after={"method": "passkey", "passkey": device.pk},
        )


# The names the library's template tags reverse ("otp_webauthn:..."), under /accounts/ so
# they can be reached between the password and the second factor.
urlpatterns = [
    path(
        "registration/begin/",
        webauthn.BeginCredentialRegistrationView.as_view(),
        name="credential-registration-begin",
    ),
    path("registration/complete/", PasskeyRegistrationComplete.as_view(), name="credential-registration-complete"),
    path(
        "authentication/begin/",
        webauthn.BeginCredentialAuthenticationView.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        PasskeyAuthenticationComplete.as_view(),
        name="credential-authentication-complete",
    ),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]


def _verified_or_redirect(request: HttpRequest) -> HttpResponse | None:
    """The sign-in security page is under /accounts/ (reachable before the second factor),
    so it checks for itself: someone with a second factor uses it first."""
    user = current_user(request)
    verified = getattr(request.user, "is_verified", None)
    if user_has_device(user, confirmed=True) and not (verified and verified()):
        return redirect(f"{reverse('second-factor')}?next={reverse('sign-in-security')}")
    return None


@require_http_methods(["GET"])
def sign_in_security(request: HttpRequest) -> HttpResponse:
    """The ways this person confirms it is them: an authenticator app, passkeys."""
    if not request.user.is_authenticated:
        return redirect("login")
    if (blocked := _verified_or_redirect(request)) is not None:
        return blocked
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = current_user(request)
    return render(
        request,
        "registration/sign_in_security.html",
        {
            "app": TOTPDevice.objects.filter(user=user, confirmed=True).first(),
            "passkeys": WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at"),
        },
    )


@require_POST
def passkey_remove(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    if (blocked := _verified_or_redirect(request)) is not None:
        return blocked
    user: User = current_user(request)
    passkey = get_object_or_404(WebAuthnCredential, pk=pk, user=user)
    from .second_factor import requires_second_factor

    others = [d for d in _devices(user) if not (isinstance(d, WebAuthnCredential) and d.pk == passkey.pk)]
    if requires_second_factor(user) and not others:
        messages.error(
            request, "This is your only way to confirm it is you, and your role needs one: add another first."
        )
        return redirect("sign-in-security")
    name = passkey.name
    passkey.delete()
    audit_record(
        actor=user, action="auth.passkey_removed", object_type="user", object_id=user.pk, before={"passkey": pk}
    )
    messages.success(request, f"{name} removed: it can no longer be used to sign in to BreachDesk.")
    return redirect("sign-in-security")


def _devices(user: User) -> list[Any]:
    from django_otp import devices_for_user

    return list(devices_for_user(user, confirmed=True))
