"""API tokens: several per person, each with a name, an expiry and a record of its
revocation. Only the SHA-256 of a key is stored; the key is shown once, when it is issued
(isms/tokens.py)."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# How much of the key the token list shows, to tell tokens apart (not enough to guess it:
# the key has 256 random bits, the prefix 48 of them).
PREFIX_LENGTH = 8


def key_hash(key: str) -> str:
    """SHA-256 is enough: the key is 256 random bits, never a password a person chose, so
    there is nothing for a slow hash to protect against."""
    return hashlib.sha256(key.encode()).hexdigest()


class RevokedReason(models.TextChoices):
    OWNER = "owner", _("Revoked by its owner")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    DEACTIVATED = "deactivated", _("Account deactivated")
    ROLE_REMOVED = "role_removed", _("Role removed")


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("person"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_reason = models.CharField(
        _("reason for revocation"), max_length=20, choices=RevokedReason.choices, blank=True
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [
            models.Index(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="apitoken_active_user"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired
