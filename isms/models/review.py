"""The policy review backlog (seed 8: the policy is reviewed because of audit results,
incidents and changes in risk): one list of things the policy should change, fed by any
module, each item pointing back at the record it came from."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .organisation import Department
from .policy import PolicyRevision


class ReviewItem(models.Model):
    # Which module's record raised it: a model label registered with
    # isms.review.register_source ("audits.finding", "incidents.incidentreview"), and the
    # record's id. Not a foreign key: the core knows no app's tables.
    source_kind = models.CharField(_("source"), max_length=60)
    source_id = models.PositiveBigIntegerField()
    title = models.CharField(_("title"), max_length=200)
    proposal = models.TextField(_("what to change"), blank=True)
    # Whose record it is: the backlog shows an item to those who may read its source.
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("department"),
    )
    link = models.CharField(_("link"), max_length=200)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("raised by"),
    )
    raised_at = models.DateTimeField(_("raised"), auto_now_add=True)
    cited_by = models.ManyToManyField(
        PolicyRevision,
        blank=True,
        related_name="review_items",
        verbose_name=_("cited by revisions"),
        help_text=_("Policy revisions that change the policy because of this item."),
    )

    class Meta:
        ordering = ["-raised_at", "-pk"]
        verbose_name = _("policy review item")
        verbose_name_plural = _("policy review backlog")
        indexes = [models.Index(fields=["source_kind", "source_id"], name="review_item_source_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(source_kind=""), name="review_item_has_source"),
        ]

    def __str__(self) -> str:
        return self.title
