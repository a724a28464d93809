"""Sign-in through the city's OpenID Connect identity provider (a cloud or prefecture-wide
one), with mozilla-django-oidc: the authorisation-code flow with PKCE (S256), state and
nonce checked, the ID token's RS256 signature checked against the provider's JWKS, and its
issuer, audience and expiry.

Active only when OIDC_ISSUER and OIDC_CLIENT_ID are set (isms/settings/base.py); otherwise
the pages here answer 404 and the login page shows no button. The provider's endpoints come
from its discovery document (<issuer>/.well-known/openid-configuration), fetched at first
use, unless OIDC_*_ENDPOINT settings name them.

The person is found with isms.accounts.person_for_sign_in(), the rules of the directory
sign-in; when the ID token says the provider asked for a second factor (amr, acr), the
portal records it (isms.second_factor) and does not ask again.
"""

import logging
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from . import second_factor
from .accounts import DirectoryPerson, SignInRefused, person_for_sign_in, sign_in_method

logger = logging.getLogger(__name__)

BACKEND = "isms.oidc_signin.ProviderBackend"

# mozilla-django-oidc's setting -> (the portal's setting, the discovery document's key).
_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": ("OIDC_AUTHORIZATION_ENDPOINT", "authorization_endpoint"),
    "OIDC_OP_TOKEN_ENDPOINT": ("OIDC_TOKEN_ENDPOINT", "token_endpoint"),
    "OIDC_OP_USER_ENDPOINT": ("OIDC_USERINFO_ENDPOINT", "userinfo_endpoint"),
    "OIDC_OP_JWKS_ENDPOINT": ("OIDC_JWKS_ENDPOINT", "jwks_uri"),
}
# mozilla-django-oidc's setting -> the portal's (read at each request, so that a test's
# settings override takes effect at once).
_RENAMED = {
    "OIDC_RP_CLIENT_ID": "OIDC_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET": "OIDC_CLIENT_SECRET",
    "OIDC_RP_SIGN_ALGO": "OIDC_SIGN_ALGO",
    "OIDC_RP_SCOPES": "OIDC_SCOPES",
    "OIDC_TIMEOUT": "OIDC_TIMEOUT",
}
# What the portal does not let an installation change: PKCE with S256, a nonce, a signed
# ID token, and the ID token kept in the session for the provider's logout.
_FIXED: dict[str, Any] = {
    "OIDC_USE_PKCE": True,
    "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
    "OIDC_USE_NONCE": True,
    "OIDC_ALLOW_UNSECURED_JWT": False,
    "OIDC_RP_IDP_SIGN_KEY": None,
    "OIDC_STORE_ID_TOKEN": True,
    "OIDC_STORE_ACCESS_TOKEN": False,
    "OIDC_VERIFY_KID": True,
    "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc-callback",
    "OIDC_REDIRECT_FIELD_NAME": "next",
}

_discovered: dict[str, dict[str, Any]] = {}


def is_configured() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID)


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME or str(_("the identity provider"))


def _verify() -> bool | str:
    return settings.OIDC_CA_BUNDLE or True


def discovery() -> dict[str, Any]:
    """The provider's discovery document, fetched once per process and issuer. An empty
    document when no endpoint needs it (all OIDC_*_ENDPOINT settings given)."""
    issuer = settings.OIDC_ISSUER.rstrip("/")
    if issuer in _discovered:
        return _discovered[issuer]
    response = requests.get(
        f"{issuer}/.well-known/openid-configuration",
        timeout=settings.OIDC_TIMEOUT,
        verify=_verify(),
    )
    response.raise_for_status()
    document = response.json()
    # OpenID Connect Discovery 1.0, section 4.3: the document must name the issuer asked.
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise SuspiciousOperation("the discovery document names another issuer")
    _discovered[issuer] = document
    return document


def _endpoint(setting: str, key: str) -> str | None:
    explicit = getattr(settings, setting, "")
    if explicit:
        return explicit
    if not is_configured():
        return None
    return discovery().get(key) or None


def oidc_setting(attr: str, *args: Any) -> Any:
    """mozilla-django-oidc's settings, made from the portal's OIDC_* settings."""
    if attr in _ENDPOINTS:
        return _endpoint(*_ENDPOINTS[attr])
    if attr in _RENAMED:
        return getattr(settings, _RENAMED[attr])
    if attr in _FIXED:
        return _FIXED[attr]
    if attr == "OIDC_VERIFY_SSL":
        return _verify()
    return import_from_settings(attr, *args)


def second_factor_claimed(payload: dict[str, Any]) -> bool:
    """Whether the ID token says the provider asked for more than a password: an `amr`
    (RFC 8176) naming a multi-factor method, or an `acr` the city's provider uses for it."""
    amr = payload.get("amr") or []
    if isinstance(amr, str):
        amr = [amr]
    if set(amr) & set(settings.OIDC_MFA_AMR_VALUES):
        return True
    acr = payload.get("acr")
    return bool(acr) and acr in settings.OIDC_MFA_ACR_VALUES


def person_from_claims(claims: dict[str, Any]) -> DirectoryPerson:
    def claim(setting: str) -> str:
        name = getattr(settings, setting)
        value = claims.get(name, "") if name else ""
        return "" if value is None else str(value).strip()

    return DirectoryPerson(
        username=claim("OIDC_CLAIM_USERNAME"),
        staff_number=claim("OIDC_CLAIM_STAFF_NUMBER"),
        display_name=claim("OIDC_CLAIM_DISPLAY_NAME"),
        email=claim("OIDC_CLAIM_EMAIL"),
        section_code=claim("OIDC_CLAIM_SECTION"),
    )


# Why the portal refused someone the provider signed in, in words for the login page.
# person_for_sign_in() says why in English for the log; these are its reasons.
_REFUSALS = {
    "not in the portal's personnel records": _(
        "You signed in at %(provider)s, but the portal has no account for you. Ask the "
        "information policy section to add you to the personnel records."
    ),
    "account deactivated in the portal": _(
        "You signed in at %(provider)s, but your account in the portal has been deactivated."
    ),
    "login name already taken by another staff number": _(
        "You signed in at %(provider)s, but your login name belongs to another member of "
        "staff in the portal. Ask the information policy section."
    ),
}
_FAILED = _(
    "Signing in with %(provider)s did not succeed. Try again, or sign in with your user "
    "name and password."
)
_UNREACHABLE = _(
    "%(provider)s cannot be reached just now. Try again later, or sign in with your user "
    "name and password."
)
_REFUSAL_ATTR = "_isms_oidc_refusal"
_SECOND_FACTOR_ATTR = "_isms_oidc_second_factor"


class ProviderBackend(OIDCAuthenticationBackend):
    """The person an ID token (and the provider's userinfo) names, by the matching rules of
    isms.accounts. A person the portal refuses is not signed in; why is kept on the request
    for the login page."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Django makes a backend for every sign-in, local ones too: the provider's endpoints
        # (and so its discovery document) are looked up only for a sign-in through it, so
        # that the break-glass local account works while the provider is unreachable.
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        if request is None or not is_configured() or "code_verifier" not in kwargs:
            return None  # a password sign-in: not the provider's
        try:
            super().__init__()
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, requests.RequestException, ValueError) as error:
            logger.warning("OpenID Connect sign-in failed: %s", error)
            return None

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:  # the ID token (a signed userinfo answer has no nonce)
            self._check_id_token(payload)
        return payload

    def _check_id_token(self, payload: dict[str, Any]) -> None:
        # OpenID Connect Core 1.0, 3.1.3.7: the issuer and audience are checked here;
        # mozilla-django-oidc checks the signature, the expiry (PyJWT) and the nonce.
        if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER.rstrip("/"):
            raise SuspiciousOperation("ID token from another issuer")
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if settings.OIDC_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token for another client")
        if len(audiences) > 1 and payload.get("azp") != settings.OIDC_CLIENT_ID:
            raise SuspiciousOperation("ID token authorised for another client")

    def get_userinfo(self, access_token, id_token, payload):
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            # Core 1.0, 5.3.2: a userinfo answer about someone else is not used.
            if userinfo.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("userinfo names another subject")
            claims.update(userinfo)
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        found = person_from_claims(claims)
        try:
            if not found.username:
                raise SignInRefused("no login name claim")
            person = person_for_sign_in(found, source="oidc")
        except SignInRefused as refusal:
            logger.info("OpenID Connect sign-in of %r refused: %s", found.username, refusal)
            setattr(self.request, _REFUSAL_ATTR, str(refusal))
            return None
        setattr(self.request, _SECOND_FACTOR_ATTR, second_factor_claimed(payload))
        return person


def _not_configured() -> Http404:
    return Http404("OpenID Connect sign-in is not configured")


class SignInView(OIDCAuthenticationRequestView):
    """/oidc/signin/: off to the provider, with state, nonce and a PKCE challenge."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, **kwargs):
        # mozilla-django-oidc looks the endpoint up here; the portal does it in get(), where
        # an unreachable provider can be answered with the login page.
        View.__init__(self, **kwargs)

    def get(self, request):
        if not is_configured():
            raise _not_configured()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except (SuspiciousOperation, requests.RequestException, ValueError) as error:
            logger.warning("OpenID Connect provider unreachable: %s", error)
            messages.error(request, _UNREACHABLE % {"provider": provider_name()})
            return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """/oidc/callback/: back from the provider. The state must be one this session sent
    (mozilla-django-oidc answers 400 otherwise); a refusal goes back to the login page
    with a message."""

    get_settings = staticmethod(oidc_setting)

    def dispatch(self, request, *args, **kwargs):
        if not is_configured():
            raise _not_configured()
        return super().dispatch(request, *args, **kwargs)

    @property
    def failure_url(self):
        return resolve_url(settings.LOGIN_URL)

    def login_failure(self):
        reason = getattr(self.request, _REFUSAL_ATTR, None)
        message = _REFUSALS.get(reason or "", _FAILED)
        messages.error(self.request, message % {"provider": provider_name()})
        return super().login_failure()

    def login_success(self):
        response = super().login_success()
        if getattr(self.request, _SECOND_FACTOR_ATTR, False):
            second_factor.record(self.request, "idp")
        return response


def end_session_url(request: HttpRequest, id_token: str) -> str | None:
    """The provider's end-session address (OpenID Connect RP-Initiated Logout 1.0) for
    this ID token, or None when the provider offers none."""
    try:
        endpoint = settings.OIDC_END_SESSION_ENDPOINT or discovery().get("end_session_endpoint")
    except (SuspiciousOperation, requests.RequestException) as error:
        logger.warning("provider's end-session endpoint unknown: %s", error)
        return None
    if not endpoint:
        return None
    back = settings.OIDC_POST_LOGOUT_REDIRECT_URL or request.build_absolute_uri(
        resolve_url(settings.LOGOUT_REDIRECT_URL)
    )
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": back,
            "client_id": settings.OIDC_CLIENT_ID,
        }
    )
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{query}"


class LogoutView(auth_views.LogoutView):
    """Django's logout; after a sign-in through the provider, then off to the provider's
    end-session endpoint too, so that the next sign-in asks for the password again."""

    def post(self, request, *args, **kwargs) -> HttpResponse:
        id_token = None
        if is_configured() and sign_in_method(request) == "oidc":
            id_token = request.session.get("oidc_id_token")
        response = super().post(request, *args, **kwargs)
        end = end_session_url(request, id_token) if id_token else None
        return HttpResponseRedirect(end) if end else response


def sign_in_button_context(next_url: str = "") -> dict[str, Any]:
    """What the login page's "Sign in with <provider>" button needs (empty: no button)."""
    if not is_configured():
        return {}
    url = reverse("oidc-signin")
    if next_url:
        url = f"{url}?{urlencode({'next': next_url})}"
    return {"oidc_signin_url": url, "oidc_provider_name": provider_name()}
