"""API tokens: issue, revoke, and revoke them all when the person's password changes, when
the account is deactivated or when one of their roles is removed.

A key is `secrets.token_urlsafe(32)` (256 random bits). Only its SHA-256 is stored
(isms/models/tokens.py): the key is returned once by issue_token() and never stored,
logged or written to the audit trail, which records the token's name and prefix.
"""

import datetime
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, second_factor
from .models import ApiToken, AuditAction, RevokedReason, RoleAssignment, User
from .models.tokens import PREFIX_LENGTH, key_hash

# last_used_at is written at most this often per token: not a write on every request.
LAST_USED_INTERVAL = datetime.timedelta(minutes=1)


def new_key() -> tuple[str, str, str]:
    """A fresh key, with the prefix shown in the token list and the hash that is stored."""
    key = secrets.token_urlsafe(32)
    return key, key[:PREFIX_LENGTH], key_hash(key)


def default_lifetime() -> datetime.timedelta:
    return datetime.timedelta(days=settings.API_TOKEN_LIFETIME_DAYS)


def max_lifetime() -> datetime.timedelta:
    return datetime.timedelta(days=settings.API_TOKEN_MAX_LIFETIME_DAYS)


def issue_token(
    user: User,
    *,
    name: str,
    lifetime: datetime.timedelta | None = None,
    request: Any = None,
) -> tuple[ApiToken, str]:
    """A new token for `user` and its key, the one time the key is known. Needs a recent
    second factor from those who must use one (SecondFactorRequired, a PermissionDenied)."""
    if not user.is_active:
        raise PermissionDenied(_("A deactivated account cannot have API tokens."))
    second_factor.require_recent(request, user)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    lifetime = default_lifetime() if lifetime is None else lifetime
    if not datetime.timedelta(days=1) <= lifetime <= max_lifetime():
        raise ValidationError(
            {
                "lifetime": _("A token lasts between 1 and %(days)d days.")
                % {"days": settings.API_TOKEN_MAX_LIFETIME_DAYS}
            }
        )
    with transaction.atomic():
        # Locks the person's row: two requests at once cannot both slip under the limit.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if user.api_tokens.active().count() >= settings.API_TOKEN_MAX_PER_PERSON:
            raise ValidationError(
                _("You already have %(count)d API tokens: revoke one you no longer use first.")
                % {"count": settings.API_TOKEN_MAX_PER_PERSON}
            )
        key, prefix, hashed = new_key()
        now = timezone.now()
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            key_hash=hashed,
            created_at=now,
            expires_at=now + lifetime,
        )
        audit.record(
            AuditAction.TOKEN_ISSUED,
            actor=user,
            target=token,
            request=request,
            data={
                "name": token.name,
                "prefix": token.prefix,
                "expires": token.expires_at.isoformat(),
            },
        )
    return token, key


def revoke_token(token: ApiToken, *, by: User, request: Any = None) -> ApiToken:
    """The owner revokes one of their tokens (again: nothing more happens)."""
    if token.user_id != by.pk:
        raise PermissionDenied(_("Only its owner can revoke an API token."))
    with transaction.atomic():
        if _revoke(ApiToken.objects.filter(pk=token.pk), RevokedReason.OWNER, by, request):
            token.refresh_from_db()
    return token


def revoke_all_tokens(
    user: User, *, reason: RevokedReason | str, by: User | None = None, request: Any = None
) -> int:
    """Revoke every token of `user` not yet revoked; the number revoked."""
    with transaction.atomic():
        return _revoke(user.api_tokens.filter(revoked_at__isnull=True), reason, by, request)


def _revoke(tokens, reason, by, request) -> int:
    reason = RevokedReason(reason)
    revoked = list(tokens.select_for_update().filter(revoked_at__isnull=True))
    if not revoked:
        return 0
    ApiToken.objects.filter(pk__in=[t.pk for t in revoked]).update(
        revoked_at=timezone.now(), revoked_reason=reason.value
    )
    for token in revoked:
        audit.record(
            AuditAction.TOKEN_REVOKED,
            actor=by,
            target=token,
            request=request,
            data={"name": token.name, "prefix": token.prefix, "reason": reason.value},
        )
    return len(revoked)


def authenticate(key: str) -> ApiToken | None:
    """The unrevoked token whose key this is, with its user (expired or not: the caller
    tells an expired token apart), noting when it was last used."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=key_hash(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or token.is_expired:
        return token
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_INTERVAL:
        # Conditional, so concurrent requests of the same minute write once between them.
        ApiToken.objects.filter(pk=token.pk, last_used_at=token.last_used_at).update(
            last_used_at=now
        )
        token.last_used_at = now
    return token


# --- revoked on a password change and on deactivation ------------------------------------
#
# Whatever path changes them (the password change form, the Django admin, set_password()
# and save() in a script or an import, or `update_fields`), the User row's save is where
# they meet. queryset.update() bypasses it: nothing in the portal changes passwords that way.

_CHANGES = "_isms_token_revocations"


@receiver(pre_save, sender=User, dispatch_uid="isms.tokens.note_changes")
def note_changes(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    fields = set(update_fields) if update_fields is not None else None
    if fields is not None and not fields & {"password", "is_active"}:
        return  # e.g. last_login, on every sign-in: no extra query
    before = User.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    reasons = []
    if before["is_active"] and not instance.is_active:
        reasons.append(RevokedReason.DEACTIVATED)
    if before["password"] != instance.password and not _same_password(instance, before):
        reasons.append(RevokedReason.PASSWORD_CHANGED)
    setattr(instance, _CHANGES, reasons)


def _same_password(instance, before) -> bool:
    # A sign-in re-hashes the same password when the hasher's work factor has grown
    # (check_password's setter): a new hash, not a new password. set_password() leaves the
    # clear password on the instance until the save is done.
    from django.contrib.auth.hashers import check_password, is_password_usable

    # No password before and none now (a directory or identity-provider account given a
    # new unusable one): nothing that could have leaked has changed.
    if not is_password_usable(before["password"]) and not is_password_usable(instance.password):
        return True
    raw = getattr(instance, "_password", None)
    return raw is not None and check_password(raw, before["password"])


@receiver(post_save, sender=User, dispatch_uid="isms.tokens.revoke_on_changes")
def revoke_on_changes(sender, instance, raw=False, **kwargs):
    for reason in getattr(instance, _CHANGES, None) or ():
        revoke_all_tokens(instance, reason=reason)
    if hasattr(instance, _CHANGES):
        delattr(instance, _CHANGES)


# --- revoked when a role is removed ---------------------------------------------------------
#
# Every way a role goes (isms.roles.revoke_role, the Django admin, a directory group that no
# longer maps to it) deletes its RoleAssignment. A token may have been issued for the work
# of the role: it goes with it, and the person issues a new one for what they still do.


@receiver(post_delete, sender=RoleAssignment, dispatch_uid="isms.tokens.revoke_on_role_removed")
def revoke_on_role_removed(sender, instance, **kwargs):
    user = User.objects.filter(pk=instance.user_id).first()
    if user is not None:
        revoke_all_tokens(user, reason=RevokedReason.ROLE_REMOVED)
