"""The evidence store's record: a file that backs a record of compliance (an audit answer
or finding, an incident). Each app keeps its own table of files, linked to its own records,
on this abstract model; isms.evidence checks, stores and serves them, once for all."""

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _


class EvidenceStorage(LazyObject):
    """STORAGES["evidence"]: the local media folder, or an S3-compatible object store that
    several web servers share (isms/settings/base.py). Resolved when a file is first stored
    or read, and again after the setting changes (the tests point it at a local S3 server),
    as Django's default_storage is: a FileField keeps the storage object it is given."""

    def _setup(self):
        self._wrapped = storages["evidence"]


evidence_store = EvidenceStorage()


@receiver(setting_changed)
def _forget_the_store(*, setting, **kwargs):
    if setting == "STORAGES":
        evidence_store._wrapped = empty


def evidence_storage() -> Storage:
    """A callable, so that the migrations name this function rather than a backend."""
    return evidence_store  # type: ignore[return-value]


def evidence_path(instance: "EvidenceFile", filename: str) -> str:
    # A random name: the original name is kept in the row, never trusted as a path.
    return f"evidence/{instance.sha256[:2]}/{instance.sha256}-{timezone.now():%Y%m%d%H%M%S%f}"


class EvidenceFile(models.Model):
    file = models.FileField(upload_to=evidence_path, storage=evidence_storage, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.original_name
