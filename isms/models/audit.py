"""The audit trail: an append-only record of every change that proves compliance."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .policy import ImmutableRecordError


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRecordError("The audit trail is append-only.")

    def delete(self):
        raise ImmutableRecordError("The audit trail is append-only.")


class AuditEvent(models.Model):
    """Who did what, to what, when and from where. Written only by isms.audit.record()."""

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        # People are deactivated, never deleted, while the trail names them.
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Kept as text too, so the record still reads right if a name changes later.
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    target_type = models.CharField(_("target type"), max_length=100, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_repr = models.CharField(_("target"), max_length=300, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            # Serves the trail of one record: "everything that happened to revision 12".
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
        ]

    def __str__(self):
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target_repr}"
        )

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("The audit trail is append-only.")
