"""Two-step verification: the devices a person signs in with after the password (an
authenticator app's TOTP codes, passkeys, recovery codes), and the middleware that asks for
one.

The devices are django-otp's (TOTPDevice, StaticDevice for the recovery codes) and
django-otp-webauthn's (WebAuthnCredential, a django-otp device too); who must use one and
how recent it must be is isms.second_factor's. Pages (isms/views/mfa.py) call the functions
here and nothing else to change a device; each writes the audit trail.
"""

from base64 import b32encode
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from . import audit, second_factor
from .audit import AuditAction
from .models import User

RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "recovery"
PENDING_TOTP_NAME = "pending"


class DeviceRefused(Exception):
    """The change would leave the person without the second factor they must have."""


# Devices ---------------------------------------------------------------------------------


def primary_devices(user: User) -> list[Device]:
    """The confirmed devices a person signs in with: authenticator apps and passkeys
    (recovery codes are only the way back when those are lost)."""
    return [
        *TOTPDevice.objects.devices_for_user(user, confirmed=True),
        *WebAuthnCredential.objects.devices_for_user(user, confirmed=True),
    ]


def recovery_device(user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME).first()


def recovery_codes_left(user: User) -> int:
    device = recovery_device(user)
    return device.token_set.count() if device else 0


def has_device(user: User) -> bool:
    return bool(primary_devices(user)) or recovery_codes_left(user) > 0


def pending_totp(user: User) -> TOTPDevice:
    """The authenticator app being added: a new secret until a code from it confirms it.
    Kept between visits, so the QR code the person scanned stays valid."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=PENDING_TOTP_NAME, confirmed=False)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The shared secret in base32, as a person types it into an app without a camera."""
    return b32encode(device.bin_key).decode().rstrip("=")


def totp_uri(device: TOTPDevice) -> str:
    return device.config_url


# Verification ----------------------------------------------------------------------------


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def verify_code(request: HttpRequest, code: str) -> str | None:
    """Check a code from the authenticator app or a recovery code; on success record the
    second factor in the session and return its source ("totp" or "recovery"). Raises
    DeviceRefused while django-otp throttles the devices after failures."""
    user = request.user
    code = _clean(code)
    throttled = False
    if code.isdigit():
        candidates: list[tuple[Device, str]] = [
            (device, "totp") for device in TOTPDevice.objects.devices_for_user(user)
        ]
    else:
        candidates = [(device, "recovery") for device in StaticDevice.objects.filter(user=user)]
    for device, source in candidates:
        allowed, _details = device.verify_is_allowed()
        if not allowed:
            throttled = True
            continue
        if device.verify_token(code):
            record_verified(request, device, source)
            return source
    audit.record(
        AuditAction.MFA_VERIFICATION_FAILED,
        actor=user,
        request=request,
        data={"method": "recovery" if not code.isdigit() else "totp", "throttled": throttled},
    )
    if throttled:
        raise DeviceRefused(_("Too many wrong codes: wait a moment and try again."))
    return None


def record_verified(request: HttpRequest, device: Device, source: str) -> None:
    # django-otp's own mark (user.is_verified(), which django-otp-webauthn asks before a
    # second passkey is added) and the portal's, which says when.
    otp_login(request, device)
    second_factor.record(request, source)


# Changes ---------------------------------------------------------------------------------


@transaction.atomic
def confirm_totp(request: HttpRequest, device: TOTPDevice, code: str, *, name: str) -> bool:
    """Confirm the pending authenticator app with a code it shows."""
    allowed, _details = device.verify_is_allowed()
    if not allowed:
        raise DeviceRefused(_("Too many wrong codes: wait a moment and try again."))
    if not device.verify_token(_clean(code)):
        return False
    device.confirmed = True
    device.name = name[:64] or _("Authenticator app")
    device.save(update_fields=["confirmed", "name"])
    audit.record(
        AuditAction.MFA_ENROLLED,
        actor=request.user,
        target=request.user,
        request=request,
        data={"method": "totp", "name": device.name},
    )
    record_verified(request, device, "totp")
    return True


def passkey_registered(request: HttpRequest, device: WebAuthnCredential) -> None:
    audit.record(
        AuditAction.MFA_ENROLLED,
        actor=request.user,
        target=request.user,
        request=request,
        data={"method": "webauthn", "name": device.name},
    )
    if request.session.get(second_factor.SESSION_AT) is None:
        # The first device of a person led here by the middleware: creating it with the
        # authenticator was the proof. (Beside another device, a fresh second factor was
        # asked for first, and that one stays on record.)
        second_factor.record(request, "webauthn")


@transaction.atomic
def generate_recovery_codes(request: HttpRequest) -> list[str]:
    """New recovery codes, replacing any earlier ones; shown once, stored as django-otp
    stores them."""
    user = request.user
    if not primary_devices(user):
        raise DeviceRefused(_("Add an authenticator app or a passkey first."))
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _n in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    audit.record(
        AuditAction.MFA_RECOVERY_CODES_GENERATED,
        actor=user,
        target=user,
        request=request,
        data={"count": len(codes)},
    )
    return [f"{code[:4]}-{code[4:]}" for code in codes]


def device_of(user: User, persistent_id: str) -> Device | None:
    try:
        device = Device.from_persistent_id(persistent_id, for_verify=False)
    except Exception:  # noqa: BLE001 - any malformed id is simply no device of theirs
        return None
    if device is None or device.user_id != user.pk:
        return None
    return device


@transaction.atomic
def remove_device(request: HttpRequest, device: Device) -> None:
    user = request.user
    remaining = [d for d in primary_devices(user) if d.persistent_id != device.persistent_id]
    if not isinstance(device, StaticDevice) and second_factor.must_use(user) and not remaining:
        raise DeviceRefused(
            _("You must keep a second factor: add another before removing this one.")
        )
    method = {StaticDevice: "recovery", TOTPDevice: "totp"}.get(type(device), "webauthn")
    name = device.name
    device.delete()
    if not remaining:
        # Recovery codes are the way back to a device, not a device of their own.
        StaticDevice.objects.filter(user=user).delete()
    audit.record(
        AuditAction.MFA_REMOVED,
        actor=user,
        target=user,
        request=request,
        data={"method": method, "name": name},
    )


# The middleware --------------------------------------------------------------------------

# Set at sign-in: whether the person holds a device, so that someone not bound to use one but
# who added one is asked for it too, without three queries on every page they open.
SESSION_HAS_DEVICE = "isms_mfa_has_device"


@receiver(user_logged_in, dispatch_uid="isms.mfa.remember_devices")
def remember_devices(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session") and settings.MFA_ENABLED:
        request.session[SESSION_HAS_DEVICE] = has_device(user)


# What a person who still owes a second factor may open: the MFA pages themselves, signing
# out, the language switch, static files and the health check.
OPEN_PREFIXES = ("/mfa/", "/accounts/logout/", "/i18n/", "/static/", "/healthz")


def owes_second_factor(request: HttpRequest) -> bool:
    """Signed in, bound to use a second factor (or holding a device), and none given in
    this session; a second factor from the identity provider (source "idp") counts."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not settings.MFA_ENABLED:
        return False
    if request.session.get(second_factor.SESSION_AT) is not None:
        return False
    return bool(request.session.get(SESSION_HAS_DEVICE)) or second_factor.must_use(user)


def verify_url(next_url: str) -> str:
    return f"{reverse('mfa-verify')}?{urlencode({'next': next_url})}"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _form_page(request: HttpRequest) -> str:
    """Where to come back to after the second factor: the page itself for a GET, the page
    that held the form (the Referer, when it is the portal's own) for a POST."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = request.META.get("HTTP_REFERER", "")
    if url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("home")


class SecondFactorMiddleware:
    """Sends a signed-in person who owes a second factor to give it (or to enrol one)
    before any other page; turns a step-up refusal (SecondFactorRequired, raised by the
    service functions) into a visit to the verify page and back."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if owes_second_factor(request) and not request.path.startswith(OPEN_PREFIXES):
            if _is_api(request):
                return JsonResponse(
                    {"detail": _("Confirm it is you with your second factor first.")},
                    status=403,
                )
            if has_device(request.user):
                return redirect(verify_url(_form_page(request)))
            return redirect(f"{reverse('mfa-totp')}?{urlencode({'next': _form_page(request)})}")
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        if not isinstance(exception, second_factor.SecondFactorRequired) or _is_api(request):
            return None
        if not request.user.is_authenticated:
            return None
        messages.info(request, str(exception))
        next_url = _form_page(request)
        if not has_device(request.user):
            return redirect(f"{reverse('mfa-totp')}?{urlencode({'next': next_url})}")
        return redirect(verify_url(next_url))
