"""The information asset register (seed 4(2), 6(2) and 6(3)).

Classification schemes, levels, handling rules and network tiers are data, so a city can
move from the classic scheme (機密性3/2/1) to the 2024 one (3A/3B/3C/2/1) or add a tier
variant without a code change.
"""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from isms import dbguards
from isms.exceptions import ImmutableRecordError
from isms.models import Department

from .custodians import check_custodian


class Axis(models.TextChoices):
    CONFIDENTIALITY = "confidentiality", _("Confidentiality (機密性)")
    INTEGRITY = "integrity", _("Integrity (完全性)")
    AVAILABILITY = "availability", _("Availability (可用性)")


class ClassificationScheme(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=False)

    class Meta:
        verbose_name = _("classification scheme")
        verbose_name_plural = _("classification schemes")
        constraints = [
            # One scheme in force per installation.
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_scheme"
            ),
        ]

    def __str__(self):
        return self.name

    @classmethod
    def active(cls):
        return cls.objects.get(is_active=True)


class ClassificationLevel(models.Model):
    scheme = models.ForeignKey(
        ClassificationScheme,
        on_delete=models.PROTECT,
        related_name="levels",
        verbose_name=_("scheme"),
    )
    axis = models.CharField(_("axis"), max_length=20, choices=Axis.choices)
    code = models.CharField(_("code"), max_length=10)
    name = models.CharField(_("name"), max_length=60)
    # 1 is the lowest level of an axis; a higher rank is more sensitive. Confidentiality
    # rank 1 is public information that every member of staff may see.
    rank = models.PositiveSmallIntegerField(_("rank"))
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["scheme", "axis", "-rank"]
        verbose_name = _("classification level")
        verbose_name_plural = _("classification levels")
        constraints = [
            models.UniqueConstraint(fields=["scheme", "axis", "code"], name="unique_level_code"),
            models.UniqueConstraint(fields=["scheme", "axis", "rank"], name="unique_level_rank"),
        ]

    def __str__(self):
        return self.name


class HandlingTopic(models.TextChoices):
    LABELLING = "labelling", _("Labelling")
    COPYING = "copying", _("Copying and distribution")
    TAKING_OUT = "taking_out", _("Taking out")
    SENDING = "sending", _("Sending")
    STORAGE = "storage", _("Storage")
    DISPOSAL = "disposal", _("Disposal")
    BACKUP = "backup", _("Backup and recovery")
    TERMINALS = "terminals", _("Terminals")


class HandlingRule(models.Model):
    """What a level requires on one topic. Where an asset's levels give several rules for
    a topic, the strictest applies."""

    level = models.ForeignKey(
        ClassificationLevel,
        on_delete=models.CASCADE,
        related_name="rules",
        verbose_name=_("level"),
    )
    topic = models.CharField(_("topic"), max_length=20, choices=HandlingTopic.choices)
    text = models.TextField(_("rule"))
    strictness = models.PositiveSmallIntegerField(_("strictness"), default=1)

    class Meta:
        ordering = ["topic", "-strictness"]
        verbose_name = _("handling rule")
        verbose_name_plural = _("handling rules")
        constraints = [
            models.UniqueConstraint(fields=["level", "topic"], name="one_rule_per_topic"),
        ]

    def __str__(self):
        return f"{self.level} / {self.get_topic_display()}"


class NetworkTier(models.Model):
    """The three-tier model (三層の対策) as data: guideline variants move systems
    between tiers without a code change."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=60)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["sort_order"]
        verbose_name = _("network tier")
        verbose_name_plural = _("network tiers")

    def __str__(self):
        return self.name


# Tier codes the built-in rules refer to.
MY_NUMBER_TIER, LGWAN_TIER, INTERNET_TIER, NO_NETWORK_TIER = "mynumber", "lgwan", "internet", "none"


class AssetKind(models.TextChoices):
    SYSTEM = "system", _("Network, system, facility or media")
    INFORMATION = "information", _("Information handled by systems")
    DOCUMENTATION = "documentation", _("System documentation")
    DOCUMENT = "document", _("Documents staff create or obtain")


class AssetStatus(models.TextChoices):
    IN_USE = "in_use", _("In use")
    RETIRED = "retired", _("Retired")


# The columns that make an asset's classification. They change only through
# assets.services.update_asset(), which writes the history entry first.
CLASSIFICATION_COLUMNS = {
    "confidentiality",
    "confidentiality_id",
    "integrity",
    "integrity_id",
    "availability",
    "availability_id",
    "confidentiality_rank",
}

# Why a trigger that looks for the history entry, rather than a flag that only the service
# sets (e.g. SET LOCAL isms.reclassifying): any session of the portal's role can set a
# flag, so a flag stops only accidents. The trigger instead refuses the new classification
# unless this transaction has written a "classified" history entry for this asset that names
# the new level, so whatever path changes a classification, its history says so, by whom
# and why. (The history's time is the transaction's start, from the database clock: that is
# how "this transaction" is recognised, savepoints included.)
CLASSIFICATION_NEEDS_HISTORY = """
    IF NEW.confidentiality_rank IS DISTINCT FROM (
        SELECT rank FROM assets_classificationlevel WHERE id = NEW.confidentiality_id
    ) THEN
        RAISE EXCEPTION 'asset %: confidentiality_rank must be the rank of its level', NEW.id;
    END IF;
    IF TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    IF (NEW.confidentiality_id IS DISTINCT FROM OLD.confidentiality_id
            AND NOT EXISTS (SELECT 1 FROM assets_assetchange h
                JOIN assets_classificationlevel l ON l.id = NEW.confidentiality_id
                WHERE h.asset_id = NEW.id AND h.kind = 'classified' AND h.changed_at = now()
                  AND h.changes -> 'confidentiality' ->> 1 = l.name))
       OR (NEW.integrity_id IS DISTINCT FROM OLD.integrity_id
            AND NOT EXISTS (SELECT 1 FROM assets_assetchange h
                JOIN assets_classificationlevel l ON l.id = NEW.integrity_id
                WHERE h.asset_id = NEW.id AND h.kind = 'classified' AND h.changed_at = now()
                  AND h.changes -> 'integrity' ->> 1 = l.name))
       OR (NEW.availability_id IS DISTINCT FROM OLD.availability_id
            AND NOT EXISTS (SELECT 1 FROM assets_assetchange h
                JOIN assets_classificationlevel l ON l.id = NEW.availability_id
                WHERE h.asset_id = NEW.id AND h.kind = 'classified' AND h.changed_at = now()
                  AND h.changes -> 'availability' ->> 1 = l.name)) THEN
        RAISE EXCEPTION 'asset %: a classification changes only with its history entry '
            '(assets.services.update_asset)', NEW.id;
    END IF;
    RETURN NEW;
"""


class AssetQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if CLASSIFICATION_COLUMNS & set(kwargs):
            raise ImmutableRecordError(
                "A classification changes only through assets.services.update_asset(), "
                "which writes its history."
            )
        return super().update(**kwargs)


class Asset(models.Model):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=AssetKind.choices)
    description = models.TextField(_("description"), blank=True)
    section = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="assets",
        verbose_name=_("owning section"),
    )
    custodian = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="custodied_assets",
        verbose_name=_("custodian"),
    )
    location = models.CharField(_("location"), max_length=200, blank=True)
    tier = models.ForeignKey(
        NetworkTier,
        on_delete=models.PROTECT,
        related_name="assets",
        verbose_name=_("network tier"),
    )
    has_personal_data = models.BooleanField(_("personal data"), default=False)
    has_my_number = models.BooleanField(_("My Number data"), default=False)
    external_service = models.CharField(
        _("external service or contractor"),
        max_length=200,
        blank=True,
        help_text=_("Fill in when a contractor or cloud service holds the asset."),
    )
    contract_reference = models.CharField(
        _("contract"),
        max_length=200,
        blank=True,
        help_text=_("The contract with security requirements (seed 6(8))."),
    )
    confidentiality = models.ForeignKey(
        ClassificationLevel,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("confidentiality"),
        limit_choices_to={"axis": Axis.CONFIDENTIALITY},
    )
    integrity = models.ForeignKey(
        ClassificationLevel,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("integrity"),
        limit_choices_to={"axis": Axis.INTEGRITY},
    )
    availability = models.ForeignKey(
        ClassificationLevel,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("availability"),
        limit_choices_to={"axis": Axis.AVAILABILITY},
    )
    # Copied from the confidentiality level: the permission filter reads it on every list,
    # so it must not need a join.
    confidentiality_rank = models.PositiveSmallIntegerField(editable=False, db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=AssetStatus.choices, default=AssetStatus.IN_USE
    )
    last_reviewed_on = models.DateField(_("last reviewed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = AssetQuerySet.as_manager()

    class Meta:
        ordering = ["section_id", "name", "id"]
        verbose_name = _("information asset")
        verbose_name_plural = _("information assets")
        indexes = [
            # Serves the register's default order within the sections a person may see.
            models.Index(fields=["section", "name", "id"], name="asset_section_name_idx"),
            # Serves the city-wide list of public (confidentiality 1) assets.
            models.Index(fields=["confidentiality_rank", "name", "id"], name="asset_rank_name_idx"),
            # Serves "review due" per section.
            models.Index(fields=["section", "last_reviewed_on"], name="asset_review_idx"),
            # Holds every column of a staff member's visibility filter (public, or their
            # sections, or kept by them) and the confidentiality filter, so the register's
            # count reads this small index alone instead of the whole table
            # (bench/asset_register.py).
            models.Index(
                fields=["confidentiality_rank", "section", "custodian", "confidentiality"],
                name="asset_visibility_idx",
            ),
        ]
        triggers = [
            dbguards.Trigger(
                name="classification_needs_history",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert
                | pgtrigger.UpdateOf(
                    "confidentiality_id", "integrity_id", "availability_id", "confidentiality_rank"
                ),
                func=CLASSIFICATION_NEEDS_HISTORY,
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        saved = getattr(self, "_saved_classification", None)
        if saved and saved != self._classification() and not getattr(self, "history_entry", None):
            raise ImmutableRecordError(
                "A classification changes only through assets.services.update_asset(), "
                "which writes its history."
            )
        self.confidentiality_rank = self.confidentiality.rank
        super().save(*args, **kwargs)
        self._saved_classification = self._classification()
        self.history_entry = None

    @classmethod
    def from_db(cls, db, field_names, values):
        # What was loaded, to tell a classification or custodian change from a plain save.
        instance = super().from_db(db, field_names, values)
        instance._saved_classification = instance._classification()
        instance._loaded_custodian_id = instance.__dict__.get("custodian_id")
        return instance

    def _classification(self):
        axes = ("confidentiality", "integrity", "availability")
        return tuple(self.__dict__.get(f"{axis}_id") for axis in axes)

    def clean(self):
        # Whatever form names a new custodian (the services, a Django admin form), it must
        # be someone who may read the asset. (A move to another unit is checked by
        # assets.services.update_asset, the one path that moves assets.)
        if self.custodian_id and self.custodian_id != getattr(self, "_loaded_custodian_id", None):
            check_custodian(self.custodian, self.section)

    def handling_rules(self):
        """The rules that apply, one per topic: the strictest among the asset's levels."""
        rules = HandlingRule.objects.filter(
            level_id__in=[self.confidentiality_id, self.integrity_id, self.availability_id]
        ).select_related("level")
        strictest = {}
        for rule in rules:
            current = strictest.get(rule.topic)
            if current is None or rule.strictness > current.strictness:
                strictest[rule.topic] = rule
        order = list(HandlingTopic.values)
        return sorted(strictest.values(), key=lambda r: order.index(r.topic))


class RelationKind(models.TextChoices):
    STORED_ON = "stored_on", _("is stored on / runs on")
    CONNECTS_TO = "connects_to", _("connects to")


class AssetRelation(models.Model):
    source = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="relations_from", verbose_name=_("asset")
    )
    kind = models.CharField(_("relation"), max_length=20, choices=RelationKind.choices)
    target = models.ForeignKey(
        Asset,
        on_delete=models.CASCADE,
        related_name="relations_to",
        verbose_name=_("related asset"),
    )
    sanitised = models.BooleanField(
        _("through sanitisation (無害化)"),
        default=False,
        help_text=_(
            "For connections: traffic passes sanitisation (text mail, file "
            "sanitising, screen transfer)."
        ),
    )

    class Meta:
        verbose_name = _("asset relation")
        verbose_name_plural = _("asset relations")
        constraints = [
            models.UniqueConstraint(fields=["source", "kind", "target"], name="unique_relation"),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")), name="no_self_relation"
            ),
        ]

    def __str__(self):
        return f"{self.source} {self.get_kind_display()} {self.target}"


class ChangeKind(models.TextChoices):
    CREATED = "created", _("Created")
    IMPORTED = "imported", _("Imported")
    EDITED = "edited", _("Edited")
    CLASSIFIED = "classified", _("Classification changed")
    REVIEWED = "reviewed", _("Reviewed")


class AssetChangeQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for change in objs:
            change.fill_confidentiality_rank()
        return super().bulk_create(objs, *args, **kwargs)

    def update(self, **kwargs):
        raise ImmutableRecordError("An asset's history cannot be changed.")

    def delete(self):
        raise ImmutableRecordError("An asset's history cannot be deleted.")


class AssetChange(models.Model):
    """One entry of an asset's history, kept for ever: who, when, what changed, why."""

    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="history", verbose_name=_("asset")
    )
    kind = models.CharField(_("change"), max_length=20, choices=ChangeKind.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("changed by"),
    )
    # The database's clock, whatever the client says (a trigger enforces it on PostgreSQL).
    changed_at = models.DateTimeField(_("changed"), db_default=Now())
    # {"field": [old, new]} with levels as their codes and names as shown at the time.
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # The highest confidentiality the asset had in this entry (before or after it): an
    # entry is shown only to those who could read the asset at that level, so declassifying
    # an asset does not open its confidential past to everyone.
    confidentiality_rank = models.PositiveSmallIntegerField(editable=False)

    objects = AssetChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("asset change")
        verbose_name_plural = _("asset changes")
        triggers = [
            dbguards.time_from_database_clock("changed_at"),
            dbguards.refuse_update(),
            dbguards.refuse_delete(),
            dbguards.refuse_truncate(),
        ]

    def __str__(self):
        return f"{self.asset} {self.kind} {self.changed_at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("An asset's history cannot be changed.")
        self.fill_confidentiality_rank()
        super().save(*args, **kwargs)

    def fill_confidentiality_rank(self):
        """Unless the writer set it (a classification change sets the higher of the old and
        the new level), the entry is as confidential as the asset now is."""
        if self.confidentiality_rank is None:
            self.confidentiality_rank = self.asset.confidentiality_rank

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("An asset's history cannot be deleted.")
