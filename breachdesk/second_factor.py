"""A second factor at sign-in: a time-based code (TOTP, RFC 6238, django-otp) from an
authenticator app, or a passkey (WebAuthn, breachdesk/passkeys.py). Required for the roles
that decide and see everything (SIRO, DPO, Chief Officer and deputy, SCS) and for admin
staff; anyone else may set one up.

After the password, someone who must use a second factor (or has set one up) is sent to use
it, or, the first time, to set one up: scan a QR code, or add a passkey. Until they do, every
page sends them there and the API (by session) answers 403; API tokens are long random
secrets issued after signing in, and are not asked for a code.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from .audit import audit_record
from .choices import Role
from .http import current_user
from .selectors import user_has_role

REQUIRED_ROLES = frozenset({Role.SIRO, Role.DPO, Role.CHIEF_OFFICER, Role.DEPUTY_CHIEF_OFFICER, Role.SCS})
EXEMPT_PREFIXES = ("/accounts/", "/static/", "/health/", "/ack/")


def requires_second_factor(user: User | AnonymousUser) -> bool:
    if not user.is_authenticated or not settings.SECOND_FACTOR_REQUIRED:
        return False
    return bool(user.is_staff or user.is_superuser or user_has_role(user, REQUIRED_ROLES))


def confirmed_device(user: User) -> TOTPDevice | None:
    """The person's authenticator app, once set up."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_second_factor(user: User) -> bool:
    """An authenticator app or a passkey, set up."""
    return bool(user_has_device(user, confirmed=True))


def has_passkey(user: User) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def is_verified(request: HttpRequest) -> bool:
    verified = getattr(request.user, "is_verified", None)
    return bool(verified and verified())


class SecondFactorMiddleware:
    """After django-otp's OTPMiddleware: someone who must use a code and has not entered
    one this session reaches only the sign-in pages until they do."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path_info.startswith(EXEMPT_PREFIXES)
            and not request.headers.get("Authorization", "").startswith("Token ")
            and not is_verified(request)
            and (requires_second_factor(user) or has_second_factor(user))
        ):
            if request.path_info.startswith("/api/"):
                return JsonResponse(
                    {"detail": "Confirm it is you first: a code from your authenticator app, or your passkey."},
                    status=403,
                )
            target = "second-factor" if has_second_factor(user) else "second-factor-setup"
            return redirect(f"{reverse(target)}?next={quote(request.get_full_path())}")
        return self.get_response(request)


class CodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{6}\s*$",
        label="Code from your authenticator app",
        help_text="The 6 digits it shows now for BreachDesk.",
        error_messages={
            "required": "Enter the 6-digit code from your authenticator app.",
            "invalid": "Enter the 6 digits the app shows, without spaces.",
        },
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or reverse(settings.LOGIN_REDIRECT_URL)
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return reverse(settings.LOGIN_REDIRECT_URL)
    return target


@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    """Enter the code, or use a passkey, after the password."""
    if not request.user.is_authenticated:
        return redirect("login")
    user = current_user(request)
    device = confirmed_device(user)
    passkey = has_passkey(user)
    if device is None and not passkey:
        return redirect(f"{reverse('second-factor-setup')}?next={quote(_next(request))}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and device is None:
        form.add_error("code", "You have not set up an authenticator app: use your passkey.")
    elif request.method == "POST" and form.is_valid() and device is not None:
        allowed, _why = device.verify_is_allowed()
        if not allowed:
            form.add_error("code", "Too many wrong codes in a row: wait a few seconds, then enter the code shown.")
        elif device.verify_token(form.cleaned_data["code"].strip()):
            otp_login(request, device)
            audit_record(actor=user, action="auth.second_factor", object_type="user", object_id=user.pk)
            return redirect(_next(request))
        else:
            audit_record(actor=user, action="auth.second_factor_failed", object_type="user", object_id=user.pk)
            form.add_error("code", "That code is not right, or has expired: enter the one the app shows now.")
    return render(
        request,
        "registration/second_factor.html",
        {"form": form, "next": _next(request), "app": device is not None, "passkey": passkey},
        status=400 if form.errors else 200,
    )


def _qr_svg(uri: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


@require_http_methods(["GET", "POST"])
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code (or type the key), then enter a code
    to prove it works. Until then the device is unconfirmed and counts for nothing. Or add
    a passkey instead (the page's other half)."""
    if not request.user.is_authenticated:
        return redirect("login")
    user = current_user(request)
    if has_second_factor(user) and not is_verified(request):
        return redirect(f"{reverse('second-factor')}?next={quote(_next(request))}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=False
    )
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"].strip()):
            TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit_record(actor=user, action="auth.second_factor_set_up", object_type="user", object_id=user.pk)
            messages.success(
                request, "Your authenticator app is set up: BreachDesk will ask for a code at each sign-in."
            )
            return redirect(_next(request))
        form.add_error(
            "code", "That code is not right: check the app shows BreachDesk, and enter the code it shows now."
        )
    uri = device.config_url
    key = _base32(device.bin_key)
    return render(
        request,
        "registration/second_factor_setup.html",
        {
            "form": form,
            "next": _next(request),
            "qr": _qr_svg(uri),
            "key": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
            "required": requires_second_factor(user),
        },
        status=400 if form.errors else 200,
    )


def _base32(key: bytes) -> str:
    from base64 import b32encode

    return b32encode(key).decode().rstrip("=")
