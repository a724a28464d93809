"""Import jobs: a file uploaded for import, checked and written by a background job.

The register's import is the first kind; imports of the organisation and of personnel
reuse the same record. Two rules are kept by PostgreSQL itself, so that two web workers
racing each other cannot break them:

- one file (by SHA-256) is imported once per kind: while a job for it is queued or
  running, and after it succeeded, another job for the same file cannot be created;
- one unit (the scope) has at most one queued or running import of a kind at a time.

A failed job frees both, so the corrected file (or the same one) can be uploaded again.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Imported")
    FAILED = "failed", _("Nothing imported")


ACTIVE_STATUSES = (ImportStatus.QUEUED, ImportStatus.RUNNING)


class ImportJob(models.Model):
    kind = models.CharField(_("kind"), max_length=40)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        # People are deactivated, never deleted, while records name them.
        on_delete=models.PROTECT,
        related_name="+",
    )
    scope = models.ForeignKey(
        "isms.Department",
        verbose_name=_("unit"),
        help_text=_("The unit the import is for; one import at a time per unit."),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The uploaded file, kept under MEDIA_ROOT (shared by the web and the worker) until the
    # job has finished; the SHA-256 stays as the idempotency key.
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=300, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    status = models.CharField(
        _("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    rows_checked = models.PositiveIntegerField(_("rows checked"), default=0)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    # [{"row": 3, "column": "tier", "message": "..."}, ...] in the uploader's language.
    errors = models.JSONField(_("problems"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("number of problems"), default=0)
    language = models.CharField(_("language"), max_length=10, blank=True)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # Moved on every progress step: a running job whose heartbeat is old lost its worker.
    heartbeat_at = models.DateTimeField(_("last progress"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "scope"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="import_one_active_job_per_scope",
            ),
            models.UniqueConstraint(
                fields=["kind", "sha256"],
                condition=Q(status__in=(*ACTIVE_STATUSES, ImportStatus.SUCCEEDED)),
                name="import_each_file_once",
            ),
        ]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_job_by_idx")]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.original_name})"

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES
