"""Acknowledgements: proof that each member of staff knows the policy in force (seed 5)."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from isms import dbguards
from isms.exceptions import ImmutableRecordError
from isms.models import PolicyRevision, RevisionStatus


class AcknowledgementCampaign(models.Model):
    """Opened when a material revision is published: its audience must acknowledge it."""

    revision = models.OneToOneField(
        PolicyRevision,
        verbose_name=_("revision"),
        on_delete=models.PROTECT,
        related_name="campaign",
    )
    deadline = models.DateField(_("deadline"))
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("acknowledgement campaign")
        verbose_name_plural = _("acknowledgement campaigns")

    def __str__(self):
        return str(self.revision)


class AcknowledgementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRecordError("Acknowledgements cannot be changed.")

    def delete(self):
        raise ImmutableRecordError("Acknowledgements cannot be deleted.")


class Acknowledgement(models.Model):
    """One person's confirmation that they read one exact revision. Never changed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="acknowledgements",
    )
    revision = models.ForeignKey(
        PolicyRevision,
        verbose_name=_("revision"),
        on_delete=models.PROTECT,
        related_name="acknowledgements",
    )
    # The fingerprint of the text the person saw, copied so the receipt stands on its own.
    content_sha256 = models.CharField(_("SHA-256 of the content"), max_length=64)
    # The database's clock, whatever the client says (a trigger enforces it on PostgreSQL).
    acknowledged_at = models.DateTimeField(_("acknowledged"), db_default=Now())
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    objects = AcknowledgementQuerySet.as_manager()

    class Meta:
        ordering = ["-acknowledged_at"]
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")
        constraints = [
            # One record per person and revision, however often the button is pressed.
            models.UniqueConstraint(fields=["user", "revision"], name="one_ack_per_user_revision"),
        ]
        indexes = [
            # Serves the status page: acknowledgements of one revision.
            models.Index(fields=["revision", "user"], name="ack_revision_user_idx"),
        ]
        triggers = [
            dbguards.Trigger(
                name="acknowledgement_checked",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                func="""
                    NEW.acknowledged_at := now();
                    IF NOT EXISTS (
                        SELECT 1 FROM isms_policyrevision r
                        WHERE r.id = NEW.revision_id AND r.status = 'published'
                          AND r.content_sha256 <> '' AND r.content_sha256 = NEW.content_sha256
                    ) THEN
                        RAISE EXCEPTION 'acknowledgement refused: not the SHA-256 of '
                            'published revision %', NEW.revision_id;
                    END IF;
                    RETURN NEW;
                """,
            ),
            # The reminders asking for this acknowledgement are done once it exists, in the
            # insert's own statement: whatever writes the record (the page, the API, an
            # import), and without one more round trip on the portal's busiest write.
            # The key is tasks.ack_task()'s. SQLite (the demo) has no trigger:
            # services.acknowledge() marks them there.
            pgtrigger.Trigger(
                name="acknowledgement_completes_reminders",
                when=pgtrigger.After,
                operation=pgtrigger.Insert,
                func="""
                    UPDATE isms_notification SET done_at = now()
                    WHERE task_key = 'ack:revision:' || NEW.revision_id
                      AND recipient_id = NEW.user_id AND done_at IS NULL;
                    RETURN NULL;
                """,
            ),
            dbguards.refuse_update(),
            dbguards.refuse_delete(),
            dbguards.refuse_truncate(),
        ]

    def __str__(self):
        return f"{self.user} — {self.revision}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("Acknowledgements cannot be changed.")
        revision = self.revision
        if revision.status != RevisionStatus.PUBLISHED or self.content_sha256 != (
            revision.content_sha256
        ):
            raise ImmutableRecordError(
                "An acknowledgement carries the SHA-256 of the published revision it confirms."
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Acknowledgements cannot be deleted.")


class PersonalDeadline(models.Model):
    """A later deadline for one person of a campaign's audience: someone who joined the
    audience after the campaign opened (new staff, a move into a department a procedure is
    for) has their own period, counted from the day they joined it."""

    campaign = models.ForeignKey(
        AcknowledgementCampaign,
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="personal_deadlines",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    deadline = models.DateField(_("deadline"))
    joined_on = models.DateField(_("joined the audience"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("personal deadline")
        verbose_name_plural = _("personal deadlines")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="one_personal_deadline"),
        ]

    def __str__(self):
        return f"{self.user_id} {self.campaign_id} {self.deadline}"
