"""Who a sign-in through the city's directory (LDAP / Active Directory) or its identity
provider (OpenID Connect) is in the portal, and what the audit trail keeps of sign-ins.

Both ways end in person_for_sign_in(): the person is matched by staff number (職員番号,
the personnel import creates people with it), then by login name; the directory's or the
provider's attributes then update the display name, e-mail and section. Whether a person
unknown to the portal may be created on first sign-in is a setting
(SIGNIN_CREATE_UNKNOWN_PEOPLE); by default they are refused, so nobody outside the
personnel records gets an account.
"""

import logging
from dataclasses import dataclass

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest

from . import audit
from .models import AuditAction, Department, User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DirectoryPerson:
    """What a directory entry or an ID token says of a person. Empty strings: not given."""

    username: str
    staff_number: str = ""
    display_name: str = ""
    email: str = ""
    section_code: str = ""


class SignInRefused(Exception):
    """The directory or provider knows the person but the portal does not let them in; the
    message says why in words for the sign-in page."""


@transaction.atomic
def person_for_sign_in(found: DirectoryPerson, *, source: str) -> User:
    """The portal's person for `found`, updated from it. Raises SignInRefused for a person
    the portal does not know (unless SIGNIN_CREATE_UNKNOWN_PEOPLE) or who has left."""
    person = None
    if found.staff_number:
        person = User.objects.select_for_update().filter(staff_number=found.staff_number).first()
    if person is None and found.username:
        person = (
            User.objects.select_for_update()
            .filter(username=found.username)
            .filter(staff_number__isnull=True)
            .first()
        )
        if person is None and found.staff_number:
            # The login name belongs to someone with another staff number: never merge two
            # people because a login name was reused.
            if User.objects.filter(username=found.username).exists():
                raise SignInRefused("login name already taken by another staff number")
    if person is None:
        if not settings.SIGNIN_CREATE_UNKNOWN_PEOPLE:
            raise SignInRefused("not in the portal's personnel records")
        person = User(username=found.username, staff_number=found.staff_number or None)
        person.set_unusable_password()
    elif not person.is_active:
        raise SignInRefused("account deactivated in the portal")
    _update_from(person, found)
    person.save()
    logger.info("sign-in through %s matched %s", source, person.username)
    return person


def _update_from(person: User, found: DirectoryPerson) -> None:
    if found.staff_number and not person.staff_number:
        person.staff_number = found.staff_number
    if found.display_name:
        person.display_name = found.display_name
    if found.email:
        person.email = found.email
    if found.section_code:
        section = Department.objects.filter(code=found.section_code).first()
        if section is None:
            logger.warning(
                "sign-in of %s names section %r, which the portal does not know",
                person.username,
                found.section_code,
            )
        else:
            person.section = section


def sign_in_method(request: HttpRequest | None) -> str:
    """How the person signed in: the backend's short name ("local", "ldap", "oidc")."""
    backend = ""
    if request is not None and hasattr(request, "session"):
        backend = request.session.get("_auth_user_backend", "")
    return settings.SIGNIN_METHOD_NAMES.get(backend, backend.rsplit(".", 1)[-1] or "local")


@receiver(user_logged_in)
def _record_sign_in(sender, request, user, **kwargs):
    audit.record(
        AuditAction.SIGNIN_SUCCEEDED,
        actor=user,
        target=user,
        request=request,
        data={"method": sign_in_method(request)},
    )


@receiver(user_logged_out)
def _record_sign_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(AuditAction.SIGNED_OUT, actor=user, target=user, request=request)


@receiver(user_login_failed)
def _record_failed_sign_in(sender, credentials, request=None, **kwargs):
    # credentials come cleansed (the password masked); only the name given is kept.
    data = {"username": str(credentials.get("username", ""))[:150]}
    # Why, when a backend said so (the directory's, isms/ldap_signin.py: refused, disabled,
    # unreachable); a wrong password has no reason beyond itself.
    reason = getattr(request, "sign_in_failure_reason", "")
    if reason:
        data["reason"] = reason
    audit.record(AuditAction.SIGNIN_FAILED, request=request, data=data)


@receiver(user_locked_out)
def _record_lockout(sender, request, username=None, ip_address=None, **kwargs):
    audit.record(
        AuditAction.SIGNIN_LOCKED_OUT,
        request=request,
        data={"username": str(username or "")[:150]},
    )
