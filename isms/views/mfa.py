"""Two-step verification pages: the person's own devices, adding an authenticator app or a
passkey, recovery codes, and the verify page the middleware sends people to (isms/mfa.py)."""

import json
import re
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import exceptions as webauthn_exceptions
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.models import WebAuthnCredential

from .. import mfa, second_factor


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=64)


class TOTPForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the device"), max_length=64, required=False)
    code = forms.CharField(label=gettext_lazy("Code from the app"), max_length=8)

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not re.fullmatch(r"[0-9]{6,8}", code):
            raise forms.ValidationError(_("Enter the digits the app shows."))
        return code


class RemoveForm(forms.Form):
    device = forms.CharField(max_length=200)


def _next(request, default="home"):
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse(default)


def _needs_fresh_factor(request):
    """Changing one's devices asks for a second factor given within MFA_STEP_UP_MINUTES
    once there is one: a session left open must not swap them."""
    return (
        settings.MFA_ENABLED
        and bool(mfa.primary_devices(request.user))
        and not second_factor.is_recent(request)
    )


def _errors(request, form):
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@login_required
def settings_page(request):
    user = request.user
    devices = [
        {
            "device": device,
            "kind": "totp" if device.persistent_id.startswith("otp_totp") else "webauthn",
        }
        for device in mfa.primary_devices(user)
    ]
    return render(
        request,
        "mfa/settings.html",
        {
            "devices": devices,
            "must_use": second_factor.must_use(user),
            "recovery_left": mfa.recovery_codes_left(user),
            "recovery_device": mfa.recovery_device(user),
            "can_remove_last": not second_factor.must_use(user),
        },
    )


@login_required
def totp_add(request):
    if _needs_fresh_factor(request):
        return redirect(mfa.verify_url(request.get_full_path()))
    device = mfa.pending_totp(request.user)
    form = TOTPForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                confirmed = mfa.confirm_totp(
                    request, device, form.cleaned_data["code"], name=form.cleaned_data["name"]
                )
            except mfa.DeviceRefused as refused:
                messages.error(request, str(refused))
            else:
                if confirmed:
                    messages.success(
                        request,
                        _("The app is added. Keep recovery codes too, in case you lose it."),
                    )
                    return redirect(_next(request, "mfa-settings"))
                messages.error(request, _("That code is not right: check the clock of the device."))
        else:
            _errors(request, form)
    uri = mfa.totp_uri(device)
    return render(
        request,
        "mfa/totp.html",
        {
            "form": form,
            "secret": mfa.totp_secret(device),
            "qr_svg": segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"),
            "next": _next(request, "mfa-settings"),
            "first": not mfa.primary_devices(request.user),
            "must_use": second_factor.must_use(request.user),
        },
    )


@require_POST
@login_required
def recovery_codes(request):
    if _needs_fresh_factor(request):
        return redirect(mfa.verify_url(reverse("mfa-settings")))
    try:
        codes = mfa.generate_recovery_codes(request)
    except mfa.DeviceRefused as refused:
        messages.error(request, str(refused))
        return redirect("mfa-settings")
    return render(request, "mfa/recovery_codes.html", {"codes": codes})


@require_POST
@login_required
def remove(request):
    form = RemoveForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return redirect("mfa-settings")
    if _needs_fresh_factor(request):
        messages.info(request, _("Confirm it is you with your second factor first."))
        return redirect(mfa.verify_url(reverse("mfa-settings")))
    device = mfa.device_of(request.user, form.cleaned_data["device"])
    if device is None:
        messages.error(request, _("There is no such device of yours."))
        return redirect("mfa-settings")
    try:
        mfa.remove_device(request, device)
    except mfa.DeviceRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Removed."))
    return redirect("mfa-settings")


@login_required
def verify(request):
    user = request.user
    next_url = _next(request)
    if not mfa.has_device(user):
        return redirect(f"{reverse('mfa-totp')}?{urlencode({'next': next_url})}")
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                source = mfa.verify_code(request, form.cleaned_data["code"])
            except mfa.DeviceRefused as refused:
                messages.error(request, str(refused))
            else:
                if source:
                    if source == "recovery":
                        messages.warning(
                            request,
                            _("%(left)d recovery codes are left.")
                            % {"left": mfa.recovery_codes_left(user)},
                        )
                    return redirect(next_url)
                messages.error(request, _("That code is not right."))
        else:
            _errors(request, form)
    return render(
        request,
        "mfa/verify.html",
        {
            "form": form,
            "next": next_url,
            "has_passkey": WebAuthnCredential.objects.filter(user=user, confirmed=True).exists(),
            "has_totp": any(
                not d.persistent_id.startswith("django_otp_webauthn")
                for d in mfa.primary_devices(user)
            ),
        },
    )


# Passkeys: django-otp-webauthn's JSON endpoints, with the portal's rules ------------------


class FreshFactorForPasskeys:
    def check_can_register(self):
        super().check_can_register()
        if _needs_fresh_factor(self.request):
            raise webauthn_exceptions.NotVerified(
                detail=_("Confirm it is you with your second factor first.")
            )


class BeginPasskeyRegistration(
    FreshFactorForPasskeys, webauthn_views.BeginCredentialRegistrationView
):
    pass


class CompletePasskeyRegistration(
    FreshFactorForPasskeys, webauthn_views.CompleteCredentialRegistrationView
):
    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        device = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"])
        mfa.passkey_registered(self.request, device)
        return response


class BeginPasskeyVerification(webauthn_views.BeginCredentialAuthenticationView):
    pass


class CompletePasskeyVerification(webauthn_views.CompleteCredentialAuthenticationView):
    def complete_auth(self, device):
        super().complete_auth(device)
        second_factor.record(self.request, "webauthn")


passkey_catalogue = JavaScriptCatalog.as_view(packages=["django_otp_webauthn"])
