"""In-app notifications and the ledger that makes every reminder go out once."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=60)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # Serves the unread badge on every page.
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]

    def __str__(self):
        return self.title


class SentReminder(models.Model):
    """One row per (recipient, subject, stage): the proof that this reminder went out, and
    the claim that stops a second run or a second worker from sending it again.

    A run inserts its claims with its own run id (conflicts are ignored), sends only what it
    claimed, and stamps sent_at. A claim whose run died before sent_at is taken over by the
    next run once it is older than the stale limit."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    subject = models.CharField(_("subject"), max_length=80)  # e.g. "campaign:12"
    stage = models.CharField(_("stage"), max_length=40)  # e.g. "overdue"
    run = models.UUIDField()
    claimed_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sent reminder")
        verbose_name_plural = _("sent reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "subject", "stage"], name="one_reminder_per_stage"
            ),
        ]
        indexes = [
            # Serves the take-over of claims left by a worker that died.
            models.Index(
                fields=["claimed_at"], condition=Q(sent_at__isnull=True), name="reminder_unsent_idx"
            ),
            models.Index(fields=["run"], name="reminder_run_idx"),
        ]

    def __str__(self):
        return f"{self.subject} {self.stage} → {self.recipient_id}"
