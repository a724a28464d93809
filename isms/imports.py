"""Import jobs: the upload answers at once; a Celery job checks and writes the file.

An app registers a kind of import (its checker-and-writer, and the department permission
of those who manage its units) from its AppConfig.ready(). Then:

- `start_import()` (the page's and the API's one service function) stores the file, creates
  the job and queues it when the transaction commits; the database refuses a second job for
  the same file or for a unit that already has one running (see ImportJob);
- `isms.tasks.run_import_job(job_id)` claims the job, lets the kind check every row while it
  counts the rows checked, and writes through `write_once()`, which commits the rows and the
  job's success in one transaction, so a job delivered twice writes once;
- only the uploader and those who manage the job's unit see the job (`visible_jobs()`).

Without Redis (the demo) the job runs inline when the request commits; if the broker is
down, it runs inline too, so an import never waits for a broker that does not come.
"""

import datetime
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import audit
from .audit import AuditAction
from .models.imports import ACTIVE_STATUSES, ImportJob, ImportStatus
from .roles import departments_managed

logger = logging.getLogger(__name__)

# Progress is saved every this many rows: a few dozen UPDATEs for 100,000 rows.
PROGRESS_STEP = 2000
# A running job that has shown no progress for this long lost its worker (a job that is
# alive moves its heartbeat every PROGRESS_STEP rows, and writes within a minute or two).
ABANDONED_AFTER = datetime.timedelta(minutes=15)
# The problems kept with a job; the count of all of them is kept too.
ERRORS_KEPT = 1000


@dataclass(frozen=True)
class ImportKind:
    code: str
    label: str
    # run(job, progress) -> rows written; reads job.file, reports with progress.checked(n),
    # writes with write_once(job, ...), raises ImportRejected with every problem found.
    run: Callable
    # Department permission of those who manage a unit's imports (see isms.roles).
    permission: str
    # URL names of the page that shows what was imported, and of the upload page.
    done_url: str
    start_url: str


kinds: dict[str, ImportKind] = {}


def register_import_kind(kind):
    kinds[kind.code] = kind


@dataclass
class RowError:
    """One problem of an imported file: its spreadsheet row (the header is row 1; 0 for the
    file as a whole), its column (or "") and what is wrong, in the uploader's language."""

    row: int
    column: str
    message: str

    def as_dict(self):
        return {"row": self.row, "column": self.column, "message": self.message}


class ImportRejected(Exception):
    """Nothing is written: the file has these problems."""

    def __init__(self, errors):
        super().__init__(f"{len(errors)} problems")
        self.errors = errors


class ImportRefused(Exception):
    """The upload cannot become a job (the same file, or the unit is busy)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class _AlreadyFinished(Exception):
    """Another delivery of the job, or the sweep for abandoned jobs, got there first."""


# --- who sees a job ----------------------------------------------------------------------


def visible_jobs(user, jobs=None):
    """The uploader's own jobs, and those of the units the person manages for that kind."""
    jobs = ImportJob.objects.all() if jobs is None else jobs
    if not user.is_authenticated:
        return jobs.none()
    visible = Q(created_by=user)
    for kind in kinds.values():
        visible |= Q(kind=kind.code, scope__in=departments_managed(user, kind.permission))
    return jobs.filter(visible)


# --- starting ----------------------------------------------------------------------------


def sha256_of(uploaded):
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


def start_import(kind_code, uploaded, *, by, scope, request=None):
    """Store the upload and queue its job; returns the job. Raises ImportRefused when the
    same file is already imported or being imported, or when the unit has a job running."""
    kind = kinds[kind_code]
    digest = sha256_of(uploaded)
    _give_up_abandoned(kind_code)
    _refuse_if_busy(kind, digest, scope)
    job = ImportJob(
        kind=kind_code,
        created_by=by,
        scope=scope,
        original_name=(uploaded.name or "")[:255],
        size=uploaded.size or 0,
        sha256=digest,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    try:
        with transaction.atomic():
            job.file.save(uploaded.name or "upload", uploaded, save=False)
            job.save()
    except IntegrityError:
        # A second upload raced this one past the checks above; PostgreSQL decided.
        job.file.delete(save=False)
        _refuse_if_busy(kind, digest, scope)
        raise ImportRefused(
            _("Another import of this unit or of this file has just started.")
        ) from None
    audit.record(
        AuditAction.IMPORT_QUEUED,
        actor=by,
        target=job,
        request=request,
        data={"kind": kind_code, "file": job.original_name, "sha256": digest, "size": job.size},
    )
    _enqueue(job.pk)
    return job


def _refuse_if_busy(kind, digest, scope):
    same_file = ImportJob.objects.filter(
        kind=kind.code, sha256=digest, status__in=(*ACTIVE_STATUSES, ImportStatus.SUCCEEDED)
    ).first()
    if same_file is not None:
        if same_file.status == ImportStatus.SUCCEEDED:
            raise ImportRefused(
                _("This file was already imported on %(date)s; nothing was imported again.")
                % {"date": timezone.localtime(same_file.finished_at).date().isoformat()}
            )
        raise ImportRefused(_("This file is being imported already; wait until it has finished."))
    if ImportJob.objects.filter(kind=kind.code, scope=scope, status__in=ACTIVE_STATUSES).exists():
        raise ImportRefused(
            _("An import for %(unit)s is still running; wait until it has finished.")
            % {"unit": scope.name}
        )


def _give_up_abandoned(kind_code):
    """A job whose worker died (no progress for ABANDONED_AFTER) no longer blocks its unit or
    its file: it failed, and nothing of it was written (writing is one transaction). A job
    that is writing holds its row locked (write_once) and is alive whatever its heartbeat:
    it is skipped, not waited for."""
    stale = timezone.now() - ABANDONED_AFTER
    with transaction.atomic():
        for job in ImportJob.objects.select_for_update(skip_locked=True).filter(
            kind=kind_code, status__in=ACTIVE_STATUSES, heartbeat_at__lt=stale
        ):
            with translation.override(job.language or settings.LANGUAGE_CODE):
                message = _("The import stopped before it finished; nothing was imported.")
            _finish_failed(job.pk, [RowError(0, "", message)])


# Defined here rather than in isms.tasks (which offers it to the worker's autodiscovery),
# so that this module need not import isms.tasks, which imports it: no import circle. The
# name stays the one the queue has always known.
@shared_task(name="isms.tasks.run_import_job", acks_late=True, reject_on_worker_lost=True)
def run_import_job(job_id):
    """Check and write one uploaded import file. A worker killed mid-job hands the message
    back and the job runs again: its rows are written in one transaction, at most once."""
    return run(job_id)


def _enqueue(job_id):
    """Queue the job once the upload is committed; run it here if the broker is down."""

    def send():
        try:
            run_import_job.apply_async(args=[job_id], retry=False)
        except Exception:  # noqa: BLE001 - any broker failure: do the work here instead
            logger.exception("could not queue import job %s; running it in the request", job_id)
            run(job_id)

    transaction.on_commit(send)


# --- running -----------------------------------------------------------------------------


class Progress:
    """What the job page shows while the job runs."""

    def __init__(self, job):
        self.job_id = job.pk
        self.written_key = _written_key(job)

    def checked(self, count, *, final=False):
        if final or count % PROGRESS_STEP == 0:
            ImportJob.objects.filter(pk=self.job_id, status=ImportStatus.RUNNING).update(
                rows_checked=count, heartbeat_at=timezone.now()
            )

    def written(self, count):
        # Rows are written in one transaction that holds the job row, so the count the page
        # shows meanwhile goes through the cache; the committed job carries the final count.
        try:
            cache.set(self.written_key, count, timeout=3600)
        except Exception:  # noqa: BLE001 - progress is a nicety; the import goes on
            logger.warning("could not record the progress of import job %s", self.job_id)


def _written_key(job):
    # With the file's hash: job ids of two databases sharing one Redis do not collide.
    return f"isms:import-job:{job.pk}:{job.sha256[:16]}:written"


def rows_written_so_far(job):
    if job.status != ImportStatus.RUNNING:
        return job.rows_written
    try:
        return cache.get(_written_key(job)) or 0
    except Exception:  # noqa: BLE001 - progress is a nicety
        return 0


def run(job_id):
    """Check and write one job; returns its final status. Safe to run twice."""
    claimed = ImportJob.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).update(
        status=ImportStatus.RUNNING, heartbeat_at=timezone.now()
    )
    if not claimed:
        return "finished already"
    job = ImportJob.objects.select_related("created_by", "scope").get(pk=job_id)
    if job.started_at is None:
        ImportJob.objects.filter(pk=job_id).update(started_at=timezone.now())
    kind = kinds[job.kind]
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            kind.run(job, Progress(job))
        except _AlreadyFinished:
            return "finished already"
        except ImportRejected as rejected:
            _finish_failed(job_id, rejected.errors)
            _discard_file(job)
            return ImportStatus.FAILED
        except Exception:
            logger.exception("import job %s failed", job_id)
            _finish_failed(
                job_id,
                [RowError(0, "", _("The import failed unexpectedly; nothing was imported."))],
            )
            _discard_file(job)
            raise
    _discard_file(job)
    return ImportStatus.SUCCEEDED


def write_once(job, write):
    """Run write() -> rows written in one transaction holding the job row, and mark the job
    succeeded in the same transaction: the rows and the success commit together or not at
    all, and a second delivery of the job finds it finished and writes nothing."""
    with transaction.atomic():
        if (
            not ImportJob.objects.select_for_update()
            .filter(pk=job.pk, status=ImportStatus.RUNNING)
            .exists()
        ):
            raise _AlreadyFinished
        count = write()
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.SUCCEEDED,
            rows_written=count,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
    return count


def _finish_failed(job_id, errors):
    ImportJob.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).update(
        status=ImportStatus.FAILED,
        errors=[e.as_dict() for e in errors[:ERRORS_KEPT]],
        error_count=len(errors),
        finished_at=timezone.now(),
    )


def _discard_file(job):
    """The upload may hold confidential rows: once the job is over only its SHA-256 stays."""
    if job.file:
        try:
            job.file.delete(save=False)
        except OSError:
            logger.warning("could not delete the file of import job %s", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(file="")
