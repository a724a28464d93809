"""Security training (seed 6(5)): courses with an optional quiz, enrolments, attempts."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from isms.models import Department


class CourseAudience(models.TextChoices):
    ALL_STAFF = "all_staff", _("All staff")
    ROLES = "roles", _("People with given roles")
    DEPARTMENTS = "departments", _("Named departments")


class Course(models.Model):
    title = models.CharField(_("title"), max_length=200)
    content = models.TextField(_("content (Markdown)"))
    fiscal_year = models.PositiveIntegerField(_("fiscal year"))
    deadline = models.DateField(_("deadline"))
    audience = models.CharField(
        _("audience"),
        max_length=20,
        choices=CourseAudience.choices,
        default=CourseAudience.ALL_STAFF,
    )
    roles = models.JSONField(
        _("roles"),
        default=list,
        blank=True,
        help_text=_(
            'For the audience \'roles\': role codes, e.g. ["section_chief", "department_head"].'
        ),
    )
    departments = models.ManyToManyField(Department, blank=True, verbose_name=_("departments"))
    pass_mark = models.PositiveSmallIntegerField(_("pass mark (%)"), default=80)
    for_new_staff = models.BooleanField(
        _("for new staff"),
        default=False,
        help_text=_(
            "Assigned to each new member of staff, due a set number of days after they join."
        ),
    )
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-fiscal_year", "title"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")

    def __str__(self):
        return self.title

    @property
    def has_quiz(self):
        return self.questions.exists()


def course_file_path(instance, filename):
    return f"training/{instance.course_id}/{filename}"


class CourseFile(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(_("name"), max_length=200)
    file = models.FileField(_("file"), upload_to=course_file_path)

    class Meta:
        verbose_name = _("course file")
        verbose_name_plural = _("course files")

    def __str__(self):
        return self.name


class Question(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="questions")
    text = models.TextField(_("question"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["course", "order", "pk"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")

    def __str__(self):
        return self.text[:60]


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(_("choice"), max_length=300)
    is_correct = models.BooleanField(_("correct"), default=False)

    class Meta:
        ordering = ["question", "pk"]
        verbose_name = _("choice")
        verbose_name_plural = _("choices")

    def __str__(self):
        return self.text


class Enrolment(models.Model):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrolments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrolments"
    )
    due_on = models.DateField(_("due"))
    assigned_at = models.DateTimeField(_("assigned"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    best_score = models.PositiveSmallIntegerField(_("best score"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(fields=["course", "user"], name="one_enrolment"),
        ]
        indexes = [
            # Serves the reminder sweep: open enrolments by due date.
            models.Index(
                fields=["due_on"],
                condition=models.Q(completed_at__isnull=True),
                name="enrolment_open_idx",
            ),
        ]

    def __str__(self):
        return f"{self.user} — {self.course}"


class Attempt(models.Model):
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="attempts")
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), auto_now_add=True)
    score = models.PositiveSmallIntegerField(_("score (%)"))
    passed = models.BooleanField(_("passed"))
    answers = models.JSONField(_("answers"), default=dict)

    class Meta:
        ordering = ["-finished_at"]
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")

    def __str__(self):
        return f"{self.enrolment} {self.score}%"
