"""Audits and self-inspections (seed 7 and 8): versioned checklists, cycles per fiscal year,
answers, findings, corrective actions and evidence. A finding that needs a policy change goes
to the core's policy review backlog (isms.review), where revisions cite it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from isms.models import Department, EvidenceFile

from .owners import check_owner


class Area(models.TextChoices):
    """The nine countermeasure areas of seed section 6."""

    ORGANISATION = "organisation", _("Organisation")
    ASSETS = "assets", _("Asset classification and management")
    RESILIENCE = "resilience", _("Resilience and the three tiers")
    PHYSICAL = "physical", _("Physical security")
    HUMAN = "human", _("Human security")
    TECHNICAL = "technical", _("Technical security")
    OPERATIONS = "operations", _("Operations")
    OUTSOURCING = "outsourcing", _("Outsourcing and external services")
    REVIEW = "review", _("Evaluation and review")


class ChecklistVersion(models.Model):
    """One version of the checklist. Items of a version used by a cycle never change: a new
    version is made instead."""

    name = models.CharField(_("name"), max_length=200)
    version = models.PositiveIntegerField(_("version"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("checklist version")
        verbose_name_plural = _("checklist versions")
        constraints = [models.UniqueConstraint(fields=["version"], name="unique_checklist_version")]

    def __str__(self):
        return f"{self.name} v{self.version}"


class ChecklistItem(models.Model):
    checklist = models.ForeignKey(
        ChecklistVersion,
        on_delete=models.PROTECT,
        related_name="items",
        verbose_name=_("checklist"),
    )
    area = models.CharField(_("area"), max_length=20, choices=Area.choices)
    number = models.CharField(_("number"), max_length=10)
    text = models.TextField(_("check"))
    policy_reference = models.CharField(_("policy section"), max_length=100)

    class Meta:
        ordering = ["checklist", "pk"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        constraints = [
            models.UniqueConstraint(fields=["checklist", "number"], name="unique_item_number"),
        ]

    def __str__(self):
        return f"{self.number} {self.text[:40]}"


class CycleKind(models.TextChoices):
    AUDIT = "audit", _("Information security audit")
    SELF_INSPECTION = "self_inspection", _("Self-inspection")


class Cycle(models.Model):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=CycleKind.choices)
    fiscal_year = models.PositiveIntegerField(_("fiscal year"))
    checklist = models.ForeignKey(
        ChecklistVersion,
        on_delete=models.PROTECT,
        related_name="cycles",
        verbose_name=_("checklist"),
    )
    departments = models.ManyToManyField(
        Department, related_name="audit_cycles", verbose_name=_("departments in scope")
    )
    starts_on = models.DateField(_("start"))
    due_on = models.DateField(_("due"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-fiscal_year", "-starts_on", "-pk"]
        verbose_name = _("cycle")
        verbose_name_plural = _("cycles")
        constraints = [
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("starts_on")), name="cycle_due_after_start"
            ),
        ]

    def __str__(self):
        return self.name


class AuditorAssignment(models.Model):
    """Who audits which department in a cycle. Never the auditor's own department."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="assignments")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="audit_assignments"
    )

    class Meta:
        verbose_name = _("auditor assignment")
        verbose_name_plural = _("auditor assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "department", "auditor"], name="unique_auditor_assignment"
            ),
        ]

    def __str__(self):
        return f"{self.auditor} → {self.department}"


class SubmissionStatus(models.TextChoices):
    OPEN = "open", _("Being answered")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for correction")


class Inspection(models.Model):
    """One department's answers in one cycle."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="inspections")
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="inspections",
        verbose_name=_("department"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=SubmissionStatus.choices, default=SubmissionStatus.OPEN
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    returned_reason = models.TextField(_("reason for return"), blank=True)

    class Meta:
        ordering = ["cycle", "department__sort_order", "department__code"]
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "department"], name="one_inspection"),
        ]

    def __str__(self):
        return f"{self.cycle} — {self.department}"

    @property
    def is_locked(self):
        return self.status == SubmissionStatus.SUBMITTED


class Result(models.TextChoices):
    COMPLIANT = "compliant", _("Compliant")
    PARTLY = "partly", _("Partly compliant")
    NOT_COMPLIANT = "not_compliant", _("Not compliant")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class Answer(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="answers")
    result = models.CharField(_("result"), max_length=20, choices=Result.choices)
    comment = models.TextField(_("comment"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(_("answered"), default=timezone.now)

    class Meta:
        ordering = ["inspection", "item_id"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="one_answer_per_item"),
        ]

    def __str__(self):
        return f"{self.item.number}: {self.get_result_display()}"


class Severity(models.TextChoices):
    MAJOR = "major", _("Major")
    MINOR = "minor", _("Minor")
    OBSERVATION = "observation", _("Observation")


class FindingStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACTION_PLANNED = "action_planned", _("Corrective action planned")
    CLOSED = "closed", _("Closed")


class Finding(models.Model):
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="findings")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="findings", verbose_name=_("department")
    )
    item = models.ForeignKey(
        ChecklistItem,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="findings",
        verbose_name=_("checklist item"),
    )
    area = models.CharField(_("area"), max_length=20, choices=Area.choices)
    title = models.CharField(_("title"), max_length=200)
    severity = models.CharField(_("severity"), max_length=20, choices=Severity.choices)
    description = models.TextField(_("description"))
    recommendation = models.TextField(_("recommendation"), blank=True)
    related_assets = models.ManyToManyField(
        "assets.Asset", blank=True, related_name="findings", verbose_name=_("related assets")
    )
    source_answer = models.OneToOneField(
        Answer, null=True, blank=True, on_delete=models.PROTECT, related_name="finding"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    # The auditor's choice; while it is set the finding has an item on the core's policy
    # review backlog (audits.services keeps the two in step).
    needs_policy_review = models.BooleanField(_("needs policy review"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        indexes = [
            # The flagged findings by status (the API's and the admin's filters).
            models.Index(fields=["needs_policy_review", "status"], name="finding_backlog_idx"),
            # The finding list's order: the first page without sorting every finding
            # (the CISO's office sees them all).
            models.Index(fields=["-created_at", "-id"], name="finding_list_order_idx"),
            # An auditor's findings: those of the (cycle, department) pairs assigned.
            models.Index(fields=["cycle", "department"], name="finding_cycle_department_idx"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_closed(self):
        return self.status == FindingStatus.CLOSED


class CorrectiveAction(models.Model):
    finding = models.ForeignKey(
        Finding, on_delete=models.PROTECT, related_name="corrective_actions"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="corrective_actions",
        verbose_name=_("owner"),
    )
    plan = models.TextField(_("plan"))
    due_on = models.DateField(_("due"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["finding", "-created_at"]
        verbose_name = _("corrective action")
        verbose_name_plural = _("corrective actions")

    def __str__(self):
        return self.plan[:60]

    @classmethod
    def from_db(cls, db, field_names, values):
        action = super().from_db(db, field_names, values)
        action._loaded_owner_id = action.__dict__.get("owner_id")
        return action

    def clean(self):
        # Any form that names the owner (the Django admin too) applies the owners' rule.
        if self.owner_id and self.owner_id != getattr(self, "_loaded_owner_id", None):
            check_owner(self.owner, self.finding)


class Evidence(EvidenceFile):
    """A file that backs an answer or a finding, in the core's evidence store. Served only
    through a permission-checked view, never from a public URL."""

    answer = models.ForeignKey(
        Answer, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )
    finding = models.ForeignKey(
        Finding, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        constraints = [
            models.CheckConstraint(
                condition=Q(answer__isnull=False, finding__isnull=True)
                | Q(answer__isnull=True, finding__isnull=False),
                name="evidence_backs_one_record",
            ),
        ]

    @property
    def inspection_department_id(self):
        if self.answer_id:
            return self.answer.inspection.department_id
        return self.finding.department_id
