"""Security incidents and the emergency response plan (seed 3 and 6(7)).

Anyone reports an incident; the CSIRT triages and handles it through a guarded workflow
(services.move: never a free status field); its timeline is append-only. Reporting
obligations to the authorities are data: rules the programme admin edits decide which
incidents call for which reports, and each report stage carries its own clock."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from isms import dbguards
from isms.exceptions import ImmutableRecordError
from isms.models import Department, EvidenceFile


class Category(models.Model):
    """A kind of threat (seed 3): attacks, insider fraud, rule violations and mistakes,
    disasters, pandemics, outages. Data, so that the city words them as its policy does."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("incident category")
        verbose_name_plural = _("incident categories")

    def __str__(self):
        return self.name


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


# Severities whose closing needs a post-incident review.
SERIOUS = (Severity.HIGH, Severity.CRITICAL)
SEVERITY_RANK: dict[str, int] = {
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Status(models.TextChoices):
    REPORTED = "reported", _("Reported")
    TRIAGED = "triaged", _("Triaged")
    CONTAINED = "contained", _("Contained")
    ERADICATED = "eradicated", _("Eradicated")
    RECOVERED = "recovered", _("Recovered")
    REVIEWED = "reviewed", _("Reviewed")
    CLOSED = "closed", _("Closed")
    DISMISSED = "dismissed", _("Dismissed (false alarm)")


# Incidents still being handled: what the weekly summary and the CSIRT's queue count.
OPEN_STATUSES = (
    Status.REPORTED,
    Status.TRIAGED,
    Status.CONTAINED,
    Status.ERADICATED,
    Status.RECOVERED,
    Status.REVIEWED,
)


class Incident(models.Model):
    # What the reporter says (anyone, in a minute, from a phone).
    title = models.CharField(_("what happened"), max_length=200)
    description = models.TextField(_("details"), blank=True)
    occurred_at = models.DateTimeField(_("when it happened"))
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("where (section)"),
    )
    location = models.CharField(_("place"), max_length=200, blank=True)
    personal_data = models.BooleanField(_("personal data may be involved"), default=False)
    my_number = models.BooleanField(_("My Number data may be involved"), default=False)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reported_incidents",
        verbose_name=_("reported by"),
    )
    # The database's clock: the clocks of the reporting obligations start here.
    reported_at = models.DateTimeField(_("reported"), db_default=Now())
    # What the CSIRT's triage adds.
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REPORTED
    )
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("category"),
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, blank=True)
    network_tier = models.ForeignKey(
        "assets.NetworkTier",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("network tier"),
    )
    affected_assets = models.ManyToManyField(
        "assets.Asset", blank=True, related_name="incidents", verbose_name=_("affected assets")
    )
    affected_people = models.PositiveIntegerField(_("people affected"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_incidents",
        verbose_name=_("owner"),
    )
    # Detection: when the city first knew (the report, unless triage says earlier);
    # awareness: when the CSIRT confirmed it (triage). Obligation clocks count from either.
    detected_at = models.DateTimeField(_("detected"), null=True, blank=True)
    triaged_at = models.DateTimeField(_("triaged"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    dismissed_reason = models.TextField(_("why it was dismissed"), blank=True)

    class Meta:
        ordering = ["-reported_at", "-pk"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [
            # The CSIRT's list: newest first, and by status.
            models.Index(fields=["-reported_at", "-id"], name="incident_list_order_idx"),
            models.Index(fields=["status", "-reported_at"], name="incident_status_idx"),
            # A head's list: their department's, once triaged.
            models.Index(fields=["department", "-reported_at"], name="incident_department_idx"),
            models.Index(fields=["reported_by", "-reported_at"], name="incident_reporter_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=Status.DISMISSED) | ~Q(dismissed_reason=""),
                name="incident_dismissed_with_reason",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    @property
    def number(self) -> str:
        return f"INC-{self.pk:05d}"

    @property
    def is_serious(self) -> bool:
        return self.severity in SERIOUS

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class EntryKind(models.TextChoices):
    DETECTION = "detection", _("Detection")
    ACTION = "action", _("Action")
    DECISION = "decision", _("Decision")
    COMMUNICATION = "communication", _("Communication")
    # Written by the services: a move through the workflow, a reopening, a report stage.
    STATUS = "status", _("Status change")


class TimelineEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRecordError("The incident timeline is append-only.")

    def delete(self):
        raise ImmutableRecordError("The incident timeline is append-only.")


class TimelineEntry(models.Model):
    """What happened and what was done, in order: append-only, each entry with its author
    and the database's time."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="timeline")
    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    text = models.TextField(_("entry"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(_("time"), db_default=Now())

    objects = TimelineEntryQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        indexes = [models.Index(fields=["incident", "created_at"], name="timeline_incident_idx")]
        triggers = [
            dbguards.time_from_database_clock("created_at"),
            dbguards.refuse_update(),
            dbguards.refuse_delete(),
            dbguards.refuse_truncate(),
        ]

    def __str__(self):
        return f"{self.incident_id}: {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("Timeline entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Timeline entries cannot be deleted.")


class Attachment(EvidenceFile):
    """A file that backs an incident (a photo, a log, a letter), in the core's evidence
    store; downloaded only by those who may read the incident."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="attachments")

    class Meta(EvidenceFile.Meta):
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")


# --- reporting obligations --------------------------------------------------------------


class Authority(models.Model):
    """Whom the city reports to: the Personal Information Protection Commission, the
    prefecture, the Ministry of Internal Affairs, J-LIS, the police…"""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    contact = models.TextField(_("how to reach them"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")

    def __str__(self):
        return self.name


class ObligationRule(models.Model):
    """Which incidents must be reported to an authority, in which stages. An incident
    matches when every condition set here holds; a rule with no condition matches every
    triaged incident."""

    authority = models.ForeignKey(
        Authority, on_delete=models.PROTECT, related_name="rules", verbose_name=_("authority")
    )
    name = models.CharField(_("name"), max_length=200)
    basis = models.TextField(
        _("legal basis"), blank=True, help_text=_("The law or notice that asks for the report.")
    )
    if_personal_data = models.BooleanField(_("when personal data may be involved"), default=False)
    if_my_number = models.BooleanField(_("when My Number data may be involved"), default=False)
    min_severity = models.CharField(
        _("from severity"), max_length=10, choices=Severity.choices, blank=True
    )
    min_affected_people = models.PositiveIntegerField(
        _("from people affected"), null=True, blank=True
    )
    categories = models.ManyToManyField(
        Category,
        blank=True,
        related_name="+",
        verbose_name=_("categories"),
        help_text=_("Empty: incidents of any category."),
    )
    # The law's details vary (thresholds, deadlines for wrongful acts): the CSIRT checks
    # each case, and the page says so.
    configurable = models.BooleanField(
        _("check the details for each case"),
        default=False,
        help_text=_("The law's details vary: the CSIRT confirms whether and when to report."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["authority__order", "pk"]
        verbose_name = _("reporting obligation rule")
        verbose_name_plural = _("reporting obligation rules")

    def __str__(self):
        return self.name


class CountFrom(models.TextChoices):
    DETECTION = "detection", _("Detection")
    AWARENESS = "awareness", _("Awareness (triage)")
    PREVIOUS = "previous", _("The previous stage was sent")


class StageRule(models.Model):
    """One report a rule asks for (a prompt report 速報, a final report 確報) and its
    deadline."""

    rule = models.ForeignKey(ObligationRule, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    name = models.CharField(_("report"), max_length=100)
    days = models.PositiveSmallIntegerField(_("days"))
    count_from = models.CharField(
        _("counted from"), max_length=20, choices=CountFrom.choices, default=CountFrom.DETECTION
    )

    class Meta:
        ordering = ["rule", "order"]
        verbose_name = _("report stage")
        verbose_name_plural = _("report stages")
        constraints = [
            models.UniqueConstraint(fields=["rule", "order"], name="one_stage_per_order"),
        ]

    def __str__(self):
        return f"{self.rule}: {self.name}"


class Decision(models.TextChoices):
    ASSESSED = "assessed", _("Being assessed")
    REQUIRED = "required", _("Required")
    NOT_REQUIRED = "not_required", _("Not required")


class Obligation(models.Model):
    """An incident's duty to report to one authority, found by a rule."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="obligations")
    rule = models.ForeignKey(ObligationRule, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(
        _("decision"), max_length=20, choices=Decision.choices, default=Decision.ASSESSED
    )
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rule__authority__order", "pk"]
        verbose_name = _("reporting obligation")
        verbose_name_plural = _("reporting obligations")
        constraints = [
            models.UniqueConstraint(fields=["incident", "rule"], name="one_obligation_per_rule"),
            models.CheckConstraint(
                condition=~Q(decision=Decision.NOT_REQUIRED) | ~Q(reason=""),
                name="obligation_not_required_with_reason",
            ),
        ]

    def __str__(self):
        return f"{self.incident.number}: {self.rule}"


class StageStatus(models.TextChoices):
    PENDING = "pending", _("To do")
    DRAFTED = "drafted", _("Drafted")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged by the authority")


# The order a stage goes through; a step back is refused.
STAGE_ORDER: list[str] = [
    StageStatus.PENDING,
    StageStatus.DRAFTED,
    StageStatus.SENT,
    StageStatus.ACKNOWLEDGED,
]


class ObligationStage(models.Model):
    """One report of an obligation, with its clock."""

    obligation = models.ForeignKey(Obligation, on_delete=models.PROTECT, related_name="stages")
    stage_rule = models.ForeignKey(StageRule, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("report"), max_length=100)
    # Set once the clock starts: at once when counted from detection or awareness, when the
    # previous stage is sent otherwise.
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=StageStatus.choices, default=StageStatus.PENDING
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["obligation", "stage_rule__order"]
        verbose_name = _("report stage")
        verbose_name_plural = _("report stages")
        constraints = [
            models.UniqueConstraint(
                fields=["obligation", "stage_rule"], name="one_report_per_stage"
            ),
        ]
        indexes = [
            # The reminder job: the clocks still running.
            models.Index(
                fields=["due_at"],
                condition=Q(status__in=["pending", "drafted"]),
                name="stage_running_clock_idx",
            ),
        ]

    def __str__(self):
        return f"{self.obligation}: {self.name}"

    @property
    def is_done(self) -> bool:
        return self.status in (StageStatus.SENT, StageStatus.ACKNOWLEDGED)


# --- lessons learnt -----------------------------------------------------------------------


class PostIncidentReview(models.Model):
    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="review")
    causes = models.TextField(_("causes"))
    what_worked = models.TextField(_("what worked"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed"), auto_now_add=True)

    class Meta:
        verbose_name = _("post-incident review")
        verbose_name_plural = _("post-incident reviews")

    def __str__(self):
        return f"{self.incident.number}: {_('review')}"


class Lesson(models.Model):
    """One "what to change" of a review; it may go to the policy review backlog."""

    review = models.ForeignKey(PostIncidentReview, on_delete=models.PROTECT, related_name="lessons")
    change = models.TextField(_("what to change"))
    to_policy_review = models.BooleanField(_("for the policy review"), default=False)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")

    def __str__(self):
        return self.change[:80]


# --- the emergency response plan ----------------------------------------------------------


class Contact(models.Model):
    """The contact tree (連絡体制): whom to call, in order, with a deputy each."""

    order = models.PositiveSmallIntegerField(_("order"))
    duty = models.CharField(_("duty"), max_length=200)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("person"),
    )
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("deputy"),
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("contact")
        verbose_name_plural = _("contact tree")

    def __str__(self):
        return f"{self.order}. {self.duty}"


class Drill(models.Model):
    """A drill or exercise (訓練) of the emergency response plan."""

    held_on = models.DateField(_("held on"))
    scenario = models.CharField(_("scenario"), max_length=300)
    participants = models.TextField(_("participants"))
    lessons = models.TextField(_("lessons"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_on", "-pk"]
        verbose_name = _("drill")
        verbose_name_plural = _("drills")

    def __str__(self):
        return f"{self.held_on} {self.scenario}"
