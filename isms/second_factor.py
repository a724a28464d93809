"""Whether a person has given a second factor recently enough for what they are doing.

Who must use a second factor is a setting (MFA_REQUIRED_ROLES: by default the programme
admin, the CISO, auditors, department heads and section chiefs; staff and superusers of the
Django admin too when MFA_REQUIRED_FOR_ADMIN). A sensitive action (publishing a revision,
changing a role, closing a finding, issuing an API token) asks for a second factor given
within MFA_STEP_UP_MINUTES; the service function checks it with require_recent().

The time of the last second factor lives in the session: written by the portal's own
verification (TOTP, passkey, recovery code) or, after a sign-in through the identity
provider whose ID token says a second factor was used (amr/acr), by the OpenID Connect
sign-in. The portal then does not ask again.
"""

import time
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from .models import User

SESSION_AT = "isms_second_factor_at"
SESSION_SOURCE = "isms_second_factor_source"


class SecondFactorRequired(PermissionDenied):
    """The action needs a second factor given within the last MFA_STEP_UP_MINUTES."""

    def __init__(self, message: Any = None) -> None:
        super().__init__(message or _("Confirm it is you with your second factor first."))


def must_use(user: User | Any) -> bool:
    """Whether the person must sign in with a second factor (and so enrol one)."""
    if not getattr(user, "is_authenticated", False) or not settings.MFA_ENABLED:
        return False
    if settings.MFA_REQUIRED_FOR_ADMIN and (user.is_staff or user.is_superuser):
        return True
    required = set(settings.MFA_REQUIRED_ROLES)
    return user.role_assignments.filter(role__in=required).exists()


def record(request: Any, source: str) -> None:
    """The person has just given a second factor (`source`: "totp", "webauthn",
    "recovery", "idp")."""
    request.session[SESSION_AT] = time.time()
    request.session[SESSION_SOURCE] = source


def given_within(request: Any, seconds: float) -> bool:
    session = getattr(request, "session", None)
    if session is None:
        return False
    at = session.get(SESSION_AT)
    return at is not None and time.time() - float(at) <= seconds


def is_recent(request: Any) -> bool:
    return given_within(request, settings.MFA_STEP_UP_MINUTES * 60)


def require_recent(request: Any, user: User | Any) -> None:
    """Raise SecondFactorRequired when the person must use a second factor and has not
    given one within MFA_STEP_UP_MINUTES. Without a request (a scheduled job acting on an
    earlier decision) there is nothing to ask."""
    if request is None or not must_use(user):
        return
    if not is_recent(request):
        raise SecondFactorRequired()
