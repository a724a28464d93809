"""Policy documents and their revisions (seed sections 8 to 11)."""

import hashlib
import json

import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import dbguards
from ..eras import date_label
from ..exceptions import ImmutableRecordError
from .organisation import Department, subtree_ids


class DocumentKind(models.TextChoices):
    BASIC_POLICY = "basic_policy", _("Basic policy (基本方針)")
    STANDARD = "standard", _("Security standard (対策基準)")
    PROCEDURE = "procedure", _("Implementation procedure (実施手順)")
    # Seed 6(7): for staff only, like the standards (never public).
    EMERGENCY_PLAN = "emergency_plan", _("Emergency response plan (緊急時対応計画)")


class Audience(models.TextChoices):
    PUBLIC = "public", _("Public")
    ALL_STAFF = "all_staff", _("All staff")
    DEPARTMENTS = "departments", _("Named departments")


class PolicyDocumentQuerySet(models.QuerySet):
    def for_audience_of(self, user):
        """Documents whose audience includes the person: the public ones for everyone, and
        once signed in those for all staff and for the departments above their section.
        Who reads every document whatever its audience is isms.roles' to say
        (visible_policy_documents): models import no roles."""
        if not user.is_authenticated:
            return self.filter(audience=Audience.PUBLIC)
        visible = Q(audience__in=[Audience.PUBLIC, Audience.ALL_STAFF])
        if user.section_id:
            in_audience = PolicyDocument.audience_departments.through.objects.filter(
                policydocument_id=OuterRef("pk"),
                department_id__in=user.section.ancestors_and_self(),
            )
            visible |= Q(audience=Audience.DEPARTMENTS) & Q(Exists(in_audience))
        return self.filter(visible)


class PolicyDocument(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices)
    audience_departments = models.ManyToManyField(
        Department,
        verbose_name=_("audience departments"),
        blank=True,
        help_text=_("Only for the audience 'named departments': these and the units below them."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PolicyDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("policy document")
        verbose_name_plural = _("policy documents")

    def __str__(self):
        return self.title

    def clean(self):
        # The basic policy is public by definition (seed 11); standards and procedures never
        # are (seed 9 and 10).
        if self.kind == DocumentKind.BASIC_POLICY and self.audience != Audience.PUBLIC:
            raise ValidationError({"audience": _("The basic policy is always public.")})
        if self.kind != DocumentKind.BASIC_POLICY and self.audience == Audience.PUBLIC:
            raise ValidationError(
                {"audience": _("Security standards and procedures are never public.")}
            )

    def current_revision(self, today=None):
        """The revision in force: the latest published one whose effective date has come."""
        today = today or timezone.localdate()
        return (
            self.revisions.filter(status=RevisionStatus.PUBLISHED, effective_date__lte=today)
            .order_by("-effective_date", "-number")
            .first()
        )

    def audience_members(self):
        """Active people who must know this document (seed 5: every member of staff)."""
        from .organisation import User

        people = User.objects.filter(is_active=True, section__isnull=False)
        if self.audience == Audience.DEPARTMENTS:
            people = people.filter(section__in=subtree_ids(self.audience_departments.all()))
        return people


# The date as the reader reads it: 令和8年4月1日, or 1 April 2026 in English.
local_date = date_label


class RevisionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")


# Once published, a revision is a record of what the city required: it is never rewritten.
FROZEN_STATUSES = (RevisionStatus.PUBLISHED, RevisionStatus.SUPERSEDED)
# The only change a frozen revision allows: published -> superseded, with its timestamp.
SUPERSEDE_FIELDS = {"status", "superseded_at"}


class PolicyRevisionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        frozen = self.filter(status__in=FROZEN_STATUSES)
        if not frozen.exists():
            return super().update(**kwargs)
        # The one change of a published revision: published -> superseded, with the time
        # it happened, once (the same rule as the trigger's).
        if (
            set(kwargs) != SUPERSEDE_FIELDS
            or kwargs["status"] != RevisionStatus.SUPERSEDED
            or kwargs["superseded_at"] is None
            or frozen.exclude(status=RevisionStatus.PUBLISHED, superseded_at__isnull=True).exists()
        ):
            raise ImmutableRecordError("A published revision can only become superseded, once.")
        return super().update(**kwargs)

    def delete(self):
        if self.filter(status__in=FROZEN_STATUSES).exists():
            raise ImmutableRecordError("Published revisions cannot be deleted.")
        return super().delete()

    def published_history(self):
        """Revisions as published: in force, to come, or superseded."""
        return self.filter(status__in=FROZEN_STATUSES)


class PolicyRevision(models.Model):
    document = models.ForeignKey(
        PolicyDocument,
        verbose_name=_("document"),
        on_delete=models.PROTECT,
        related_name="revisions",
    )
    number = models.PositiveIntegerField(_("revision number"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body (Markdown)"))
    change_summary = models.TextField(_("summary of changes"), blank=True)
    effective_date = models.DateField(
        _("effective date (施行日)"),
        null=True,
        blank=True,
        help_text=_("The revision becomes current on this date; it may lie in the future."),
    )
    is_material = models.BooleanField(
        _("material change"),
        default=True,
        help_text=_("Only a material change asks staff to acknowledge the policy again."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=RevisionStatus.choices, default=RevisionStatus.DRAFT
    )
    content_sha256 = models.CharField(_("SHA-256 of the content"), max_length=64, blank=True)

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="authored_revisions",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approved_revisions",
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="published_revisions",
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    superseded_at = models.DateTimeField(_("superseded"), null=True, blank=True)

    objects = PolicyRevisionQuerySet.as_manager()

    class Meta:
        ordering = ["document", "-number"]
        verbose_name = _("policy revision")
        verbose_name_plural = _("policy revisions")
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="unique_revision_number"),
        ]
        indexes = [
            # Serves PolicyDocument.current_revision().
            models.Index(
                fields=["document", "status", "effective_date"], name="revision_current_idx"
            ),
        ]
        triggers = [
            # Published or superseded: nothing changes but published -> superseded, with
            # superseded_at set once; not even the time of the last edit.
            dbguards.refuse_update(
                name="frozen_when_published",
                reason="holds a published revision, which only becomes superseded, once",
                condition=dbguards.Sql(
                    "{frozen} AND NOT ({superseding} AND {only_that})",
                    frozen=pgtrigger.Q(old__status__in=["published", "superseded"]),
                    superseding=pgtrigger.Q(old__status="published", new__status="superseded"),
                    only_that=dbguards.ChangesOnly(set_once=["superseded_at"], free=["status"]),
                ),
            ),
            dbguards.refuse_delete(
                name="published_kept",
                reason="holds a published revision, which is kept for ever",
                condition=pgtrigger.Q(old__status__in=["published", "superseded"]),
            ),
            dbguards.refuse_truncate(),
        ]

    def __str__(self):
        return self.full_name

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_loaded", None)
        if loaded and loaded.get("status") in FROZEN_STATUSES:
            changed = {
                f.attname
                for f in self._meta.concrete_fields
                if f.attname in loaded
                and getattr(self, f.attname) != loaded[f.attname]
                and f.attname != "updated_at"
            }
            superseding = (
                loaded["status"] == RevisionStatus.PUBLISHED
                and self.status == RevisionStatus.SUPERSEDED
                and loaded.get("superseded_at") is None
                and self.superseded_at is not None
            )
            if changed and not (changed <= SUPERSEDE_FIELDS and superseding):
                raise ImmutableRecordError("Published revisions cannot be changed.")
            if not changed:
                return
            # Only the two columns: the trigger refuses a new "updated" time as well.
            kwargs["update_fields"] = sorted(SUPERSEDE_FIELDS)
        if self.number is None:
            last = self.document.revisions.aggregate(models.Max("number"))["number__max"]
            self.number = (last or 0) + 1
        super().save(*args, **kwargs)
        self._loaded = {f.attname: getattr(self, f.attname) for f in self._meta.concrete_fields}

    def delete(self, *args, **kwargs):
        if self.status in FROZEN_STATUSES or (
            getattr(self, "_loaded", {}).get("status") in FROZEN_STATUSES
        ):
            raise ImmutableRecordError("Published revisions cannot be deleted.")
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded = dict(zip(field_names, values, strict=True))
        return instance

    @property
    def is_frozen(self):
        return self.status in FROZEN_STATUSES

    @property
    def is_editable(self):
        return self.status == RevisionStatus.DRAFT

    # The one way a revision is named, on every page, mail and export (issue 12): 「第3版」
    # and, where a revision is named on its own, its title and effective date:
    # 「情報セキュリティ基本方針 第3版（令和8年4月1日施行）」.
    @property
    def number_label(self):
        """第3版 / Revision 3."""
        return _("Revision %(number)s") % {"number": self.number}

    @property
    def label(self):
        """第3版（令和8年4月1日施行） / Revision 3 (effective 1 April 2026): the number and
        effective date, for a page that already shows the title."""
        if self.effective_date is None:
            return self.number_label
        return _("Revision %(number)s (effective %(date)s)") % {
            "number": self.number,
            "date": local_date(self.effective_date),
        }

    @property
    def full_name(self):
        """情報セキュリティ基本方針 第3版（令和8年4月1日施行）."""
        if self.effective_date is None:
            return _("%(title)s, revision %(number)s") % {
                "title": self.title,
                "number": self.number,
            }
        return _("%(title)s, revision %(number)s (effective %(date)s)") % {
            "title": self.title,
            "number": self.number,
            "date": local_date(self.effective_date),
        }

    def compute_sha256(self):
        """Fingerprint of everything a reader agrees to, fixed at publication."""
        content = {
            "document": self.document.code,
            "number": self.number,
            "title": self.title,
            "effective_date": self.effective_date.isoformat() if self.effective_date else None,
            "body": self.body,
        }
        encoded = json.dumps(content, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return hashlib.sha256(encoded).hexdigest()

    def is_in_force(self, today=None):
        today = today or timezone.localdate()
        return (
            self.status == RevisionStatus.PUBLISHED
            and self.effective_date is not None
            and self.effective_date <= today
        )

    def is_in_force_or_next(self, today=None):
        """In force today, or published for a later date with nothing published to follow
        it: the revisions whose audience may be asked to acknowledge them."""
        today = today or timezone.localdate()
        if self.status != RevisionStatus.PUBLISHED or self.effective_date is None:
            return False
        if self.effective_date <= today:
            current = self.document.current_revision(today)
            return current is not None and current.pk == self.pk
        return not (
            self.document.revisions.filter(status=RevisionStatus.PUBLISHED)
            .filter(
                Q(effective_date__gt=self.effective_date)
                | Q(effective_date=self.effective_date, number__gt=self.number)
            )
            .exists()
        )

    def previous_published(self):
        return (
            self.document.revisions.filter(status__in=FROZEN_STATUSES, number__lt=self.number)
            .order_by("-number")
            .first()
        )
