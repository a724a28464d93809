"""The portal's own passwords ("local accounts"): who may still sign in with one, changing
it, and resetting it by e-mail.

A city that signs its staff in through the directory or its identity provider keeps local
passwords for the programme admin's break-glass account (and the demo keeps them for
everyone): LOCAL_PASSWORDS says for whom (README, "Local accounts and sessions"):
  "all"         everyone with a portal password (the default, the demo);
  "superusers"  superusers, and the login names in LOCAL_PASSWORD_USERS;
  "listed"      only the login names in LOCAL_PASSWORD_USERS.
A person outside that set is refused by LocalPasswordBackend even with the right password,
and told so on the login page (not "wrong password"); no reset mail is sent to them.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.backends import ModelBackend
from django.core import validators
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import translation

from . import audit, sessions
from .clientip import client_ip
from .forms import LOCAL_PASSWORD_REFUSED, MAX_PASSWORD_LENGTH
from .models import AuditAction, User

logger = logging.getLogger(__name__)

POLICIES = ("all", "superusers", "listed")


def local_password_allowed(user: User) -> bool:
    """Whether LOCAL_PASSWORDS lets this person sign in with a portal password."""
    policy = settings.LOCAL_PASSWORDS
    if policy == "all":
        return True
    if user.get_username() in settings.LOCAL_PASSWORD_USERS:
        return True
    return policy == "superusers" and user.is_superuser


def has_local_password(user: User) -> bool:
    """Whether the person signs in with a portal password they may change or reset:
    directory and identity-provider people have none (an unusable password)."""
    return (
        user.is_authenticated
        and user.is_active
        and user.has_usable_password()
        and local_password_allowed(user)
    )


class LocalPasswordBackend(ModelBackend):
    """Django's ModelBackend, for the people LOCAL_PASSWORDS lets use a portal password. A
    session begun with a portal password ends when the setting no longer allows it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            # As ModelBackend: hash anyway, so an unknown name takes as long as a known one.
            User().set_password(password)
            return None
        if not (user.check_password(password) and super().user_can_authenticate(user)):
            return None
        if not local_password_allowed(user):
            if request is not None:
                # The login form then says why, instead of "wrong password".
                setattr(request, LOCAL_PASSWORD_REFUSED, True)
            return None
        return user

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and local_password_allowed(user)


# Password change and reset ----------------------------------------------------------------


def _bounded(form, *names):
    # Far longer passwords would tie up a worker hashing them (isms.forms.LoginForm).
    for name in names:
        form.fields[name].validators.append(validators.MaxLengthValidator(MAX_PASSWORD_LENGTH))


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bounded(self, "old_password", "new_password1", "new_password2")


class SetPasswordForm(auth_forms.SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bounded(self, "new_password1", "new_password2")


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, sending only to people who may use a portal password, and the
    mail in the recipient's language."""

    def get_users(self, email):
        return (user for user in super().get_users(email) if local_password_allowed(user))

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        with translation.override(context["user"].language or settings.LANGUAGE_CODE):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


def reset_requests_exceeded(email: str, request: HttpRequest) -> bool:
    """Count a reset request for this address and this client address; True when either
    has asked more often than PASSWORD_RESET_PER_ADDRESS / PASSWORD_RESET_PER_IP within
    PASSWORD_RESET_WINDOW_MINUTES. Every address counts, known or not, so the answer says
    nothing about who has an account. A cache that does not answer lets the request
    through: a reset mail goes only to the account's own address."""
    window = settings.PASSWORD_RESET_WINDOW_MINUTES * 60
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    counters = [
        (f"isms:password-reset:address:{address}", settings.PASSWORD_RESET_PER_ADDRESS),
        (f"isms:password-reset:ip:{client_ip(request) or '-'}", settings.PASSWORD_RESET_PER_IP),
    ]
    exceeded = False
    try:
        for key, limit in counters:
            cache.add(key, 0, timeout=window)
            exceeded |= cache.incr(key) > limit
    except Exception:  # noqa: BLE001 - any cache error: see the docstring
        logger.warning("password reset throttle: cache unavailable", exc_info=True)
        return False
    return exceeded


def password_changed(user: User, request: HttpRequest, *, previous_key: str | None) -> None:
    """After the person changed their own password: the trail, and every other session
    ended (the one they are using stays signed in, under its new key)."""
    audit.record(AuditAction.PASSWORD_CHANGED, actor=user, target=user, request=request)
    sessions.key_changed(previous_key, request)
    sessions.end_other_sessions(user, request=request, scope="password_changed")


def password_reset(user: User, request: HttpRequest) -> None:
    """After a password was set through a reset link: the trail, and every session ended."""
    audit.record(AuditAction.PASSWORD_RESET, actor=user, target=user, request=request)
    sessions.end_all_sessions(user, request=request, scope="password_reset", by=user)
