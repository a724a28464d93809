"""Who belonged where, and when: postings, the history of units, the rules that turn a post
into a role, and the batches of the personnel system that change all of these.

A person's postings (Posting) and a unit's history (UnitChange) are records: a report on a
past date (who was staff last June) reads them, so the model layer and PostgreSQL refuse to
rewrite them. A posting's only change is its end, set once.
"""

import datetime

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .. import dbguards
from ..exceptions import ImmutableRecordError
from .organisation import DepartmentKind, Role, RoleAssignment


class EmploymentType(models.TextChoices):
    # Seed 2(13): every one of 職員等 is bound by the policy, whatever the employment.
    REGULAR = "regular", _("Regular (正規職員)")
    REAPPOINTED = "reappointed", _("Re-appointed (再任用職員)")
    FISCAL_YEAR = "fiscal_year", _("Fiscal-year part-time (会計年度任用職員)")
    TEMPORARY = "temporary", _("Temporary (臨時的任用職員)")
    SECONDED = "seconded", _("Seconded (派遣・出向)")


class PostingQuerySet(models.QuerySet):
    def on(self, date):
        """Postings that held on `date` (both ends inclusive)."""
        return self.filter(valid_from__lte=date).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=date)
        )

    def current(self):
        return self.filter(valid_until__isnull=True)

    def end_before(self, on):
        """End these postings (the open ones) the day before `on`; one that began on `on`
        or later ends the day before it began, an empty period, never before it: one
        UPDATE, and one more per such start day (a few)."""
        day = datetime.timedelta(days=1)
        current = self.current()
        current.filter(valid_from__lt=on).update(valid_until=on - day)
        starts = current.filter(valid_from__gte=on).order_by().values_list("valid_from", flat=True)
        for start in starts.distinct():
            current.filter(valid_from=start).update(valid_until=start - day)

    def update(self, **kwargs):
        if set(kwargs) - {"valid_until"}:
            raise ImmutableRecordError("A posting changes only by its end (valid_until).")
        return super().update(**kwargs)

    def delete(self):
        raise ImmutableRecordError("Postings are kept: they say who belonged where.")


class Posting(models.Model):
    """One period of a person in one unit, with their post and employment type. Opened when
    the person joins or moves, closed (valid_until, the last day) when they move again or
    leave; never changed otherwise, never deleted."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="postings",
    )
    unit = models.ForeignKey(
        "isms.Department", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+"
    )
    post = models.CharField(_("post"), max_length=50, blank=True)
    employment_type = models.CharField(
        _("employment type"), max_length=20, choices=EmploymentType.choices, blank=True
    )
    valid_from = models.DateField(_("from"))
    valid_until = models.DateField(_("until"), null=True, blank=True)
    batch = models.ForeignKey(
        "isms.PersonnelBatch",
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = PostingQuerySet.as_manager()

    class Meta:
        ordering = ["user", "-valid_from", "-id"]
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(valid_until__isnull=True),
                name="one_current_posting",
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "valid_from"], name="posting_unit_idx"),
        ]
        triggers = [
            # The end, set once from NULL, is the only change a posting allows.
            dbguards.refuse_update(
                condition=dbguards.Sql(
                    "NOT {ends}", ends=dbguards.ChangesOnly(set_once=["valid_until"])
                )
            ),
            dbguards.refuse_delete(),
            dbguards.refuse_truncate(),
        ]

    def __str__(self):
        return f"{self.user_id}@{self.unit_id} {self.valid_from}–{self.valid_until or ''}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("A posting changes only by its end (valid_until).")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Postings are kept: they say who belonged where.")


class UnitChangeKind(models.TextChoices):
    CREATED = "created", _("Created")
    RENAMED = "renamed", _("Renamed")
    MOVED = "moved", _("Moved in the tree")
    UPDATED = "updated", _("Details changed")
    ENDED = "ended", _("Ended")
    MERGED = "merged", _("Merged into its successor")
    RECEIVED = "received", _("Received the records of a merged unit")


class UnitChangeQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRecordError("A unit's history cannot be changed.")

    def delete(self):
        raise ImmutableRecordError("A unit's history cannot be deleted.")


class UnitChange(models.Model):
    """One entry of a unit's history: created, renamed, moved, ended, merged (and what its
    successor received). Append-only."""

    unit = models.ForeignKey(
        "isms.Department",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="history",
    )
    kind = models.CharField(_("change"), max_length=20, choices=UnitChangeKind.choices)
    effective_on = models.DateField(_("effective"))
    # {"name": [old, new], "parent": [old code, new code], "assets": 3, ...}
    details = models.JSONField(_("details"), default=dict, blank=True)
    other_unit = models.ForeignKey(
        "isms.Department",
        verbose_name=_("successor or predecessor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    batch = models.ForeignKey(
        "isms.PersonnelBatch",
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = UnitChangeQuerySet.as_manager()

    class Meta:
        ordering = ["unit", "-effective_on", "-id"]
        verbose_name = _("unit change")
        verbose_name_plural = _("unit changes")
        triggers = [
            dbguards.refuse_update(),
            dbguards.refuse_delete(),
            dbguards.refuse_truncate(),
        ]

    def __str__(self):
        return f"{self.unit_id} {self.kind} {self.effective_on}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("A unit's history cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("A unit's history cannot be deleted.")


class RoleRule(models.Model):
    """A post (役職) in a kind of unit, or in one named unit, gives a role: 部長 of a
    department -> department head of it; 課長 of a section -> section chief of it; anyone of
    the audit team's unit -> auditor. A departmental role is held on the unit the person is
    posted to. The programme admin keeps these in the Django admin."""

    post = models.CharField(_("post"), max_length=50, blank=True, help_text=_("Blank: any post."))
    unit_kind = models.CharField(
        _("kind of unit"),
        max_length=20,
        choices=DepartmentKind.choices,
        blank=True,
        help_text=_("Blank: any kind."),
    )
    unit = models.ForeignKey(
        "isms.Department",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Only people posted to this unit (a team such as the audit team)."),
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)

    class Meta:
        ordering = ["role", "post", "pk"]
        verbose_name = _("role rule")
        verbose_name_plural = _("role rules")
        constraints = [
            models.CheckConstraint(
                condition=~Q(post="") | Q(unit__isnull=False),
                name="role_rule_names_a_post_or_a_unit",
            ),
        ]

    def __str__(self):
        where = self.unit.code if self.unit_id else (self.unit_kind or "*")
        return f"{self.post or '*'} @ {where} → {self.role}"

    def matches(self, post, unit):
        return (
            (not self.post or self.post == post)
            and (not self.unit_kind or self.unit_kind == unit.kind)
            and (self.unit_id is None or self.unit_id == unit.pk)
        )


class PersonnelRoleGrant(models.Model):
    """Which role assignments a rule gave: a later batch takes back only these when the rule
    no longer applies, never a role the portal's own role page gave."""

    assignment = models.OneToOneField(
        RoleAssignment,
        verbose_name=_("role assignment"),
        on_delete=models.CASCADE,
        related_name="personnel_grant",
    )
    batch = models.ForeignKey(
        "isms.PersonnelBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("role given by a role rule")
        verbose_name_plural = _("roles given by role rules")

    def __str__(self):
        return str(self.assignment)


class BatchKind(models.TextChoices):
    ORGANISATION = "organisation", pgettext_lazy("what a personnel file holds", "Organisation")
    STAFF = "staff", pgettext_lazy("what a personnel file holds", "Staff")


class BatchStatus(models.TextChoices):
    CHECKING = "checking", _("Being checked")
    REJECTED = "rejected", _("Has problems")
    READY = "ready", _("Ready to apply")
    SCHEDULED = "scheduled", _("Scheduled")
    APPLIED = "applied", _("Applied")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed; nothing applied")


class PersonnelBatch(models.Model):
    """One file of the personnel system: checked into a preview, then applied at once or
    scheduled for its effective date (the April transfer), or cancelled."""

    kind = models.CharField(_("kind"), max_length=20, choices=BatchKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=BatchStatus.choices, default=BatchStatus.CHECKING
    )
    original_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # The uploaded file until it has been read; its checked rows are kept in `rows` until the
    # batch is applied or cancelled (they hold names and addresses), then emptied.
    file = models.FileField(_("file"), upload_to="personnel/%Y/%m/", max_length=300, blank=True)
    rows = models.JSONField(_("rows"), default=list, blank=True)
    effective_on = models.DateField(
        _("effective date"),
        null=True,
        blank=True,
        help_text=_("The day the changes take effect; empty: when applied."),
    )
    # What applying would do (after the check) or did (after applying): counts and lists.
    preview = models.JSONField(_("preview"), default=dict, blank=True)
    errors = models.JSONField(_("problems"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("number of problems"), default=0)
    rows_checked = models.PositiveIntegerField(_("rows checked"), default=0)
    language = models.CharField(_("language"), max_length=10, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("scheduled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    scheduled_at = models.DateTimeField(_("scheduled"), null=True, blank=True)
    finished_at = models.DateTimeField(_("applied or cancelled"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("personnel batch")
        verbose_name_plural = _("personnel batches")
        indexes = [
            models.Index(
                fields=["effective_on"],
                condition=Q(status="scheduled"),
                name="personnel_batch_due_idx",
            ),
        ]
        triggers = [
            # An applied batch is the record of what changed: its outcome stays as written.
            dbguards.refuse_update(
                name="applied_batch_is_kept",
                condition=pgtrigger.Q(old__status="applied"),
                reason="is an applied batch",
            ),
            dbguards.refuse_delete(
                condition=pgtrigger.Q(old__status="applied"), reason="is an applied batch"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.original_name})"

    @property
    def is_open(self):
        """Waiting for a decision or for its date: it can still be cancelled."""
        return self.status in (BatchStatus.CHECKING, BatchStatus.READY, BatchStatus.SCHEDULED)
