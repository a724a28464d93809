"""In-app notifications and the ledger that makes every reminder go out once."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..notification_text import render_json


class NotificationQuerySet(models.QuerySet):
    def unread(self):
        """What the badge counts: not read, and not done already (a notification asking for
        an action is done once the action is)."""
        return self.filter(read_at__isnull=True, done_at__isnull=True)


class Notification(models.Model):
    """A message in the portal. title and body are as rendered for the recipient when it was
    sent (the mail's text); `message` keeps what can be rendered again in the language of
    whoever reads it (isms.notification_text). A notification asking for an action carries
    the action's task key (e.g. "ack:revision:12"); the service that completes the action
    marks it done (isms.notify.mark_task_done)."""

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
    # {"title": [part, ...], "body": [part, ...]}: parts as isms.notification_text.to_json
    # writes them; empty for notifications of before, which show their stored text.
    message = models.JSONField(_("message parts"), default=dict, blank=True)
    task_key = models.CharField(_("task"), max_length=80, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # Serves the unread badge on every page.
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True, done_at__isnull=True),
                name="notification_unread_idx",
            ),
            # Serves marking a task's notifications done when the task is: of everyone
            # asked, or of one person (an acknowledgement), without reading the others'.
            models.Index(
                fields=["task_key", "recipient"],
                condition=Q(done_at__isnull=True) & ~Q(task_key=""),
                name="notification_open_task_idx",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def shown_title(self) -> str:
        """The title in the reader's current language (the stored one for old rows)."""
        return render_json(self.message.get("title"), self.title)

    @property
    def shown_body(self) -> str:
        return render_json(self.message.get("body"), self.body)


class SentReminder(models.Model):
    """One row per (recipient, subject, stage): the proof that this reminder went out, and
    the claim that stops a second run or a second worker from sending it again.

    A run inserts its claims with its own run id (conflicts are ignored) in the transaction
    that writes their in-app notifications, mails what it claimed one by one and stamps
    sent_at as each mail is accepted. A claim without sent_at whose run is no longer alive
    (isms.notify: its advisory lock is free), or that was given back (run is empty) after a
    mail failure, is taken over by the next run, which sends only the mail."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    subject = models.CharField(_("subject"), max_length=80)  # e.g. "campaign:12"
    stage = models.CharField(_("stage"), max_length=40)  # e.g. "overdue"
    # The run that holds the claim; empty once given back.
    run = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(auto_now_add=True)
    # When the mail was accepted by the mail server (or, for someone without an address,
    # when the notification was written): from then on the reminder is done.
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
            # Serves giving back a run's unsent claims when the mail server fails.
            models.Index(fields=["run"], name="reminder_run_idx"),
        ]

    def __str__(self):
        return f"{self.subject} {self.stage} → {self.recipient_id}"
