"""The programme admin's actions on personnel batches, one function each, shared by the
pages, the API, the management command and the jobs:

upload (the file is stored and checked by a job) -> ready, with a preview, or rejected
with every problem -> scheduled for its date (or today: applied at once) -> applied; or
cancelled while it waits. Applying recomputes the plan against the state of that day and
writes it in one transaction (apply.py), so a batch applies whole or not at all, and
applying the same rows again changes nothing."""

import logging

from celery import current_app
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .. import audit, second_factor
from ..audit import AuditAction
from ..exceptions import WorkflowError
from ..imports import ImportRejected, RowError, sha256_of
from ..models import BatchKind, BatchStatus, PersonnelBatch, User
from ..notify import enqueue
from ..roles import is_programme_admin
from ..tables import read_table
from . import apply, plan, rows

logger = logging.getLogger(__name__)

# Queued by name: isms.tasks imports this module.
CHECK_TASK = "isms.tasks.check_personnel_batch"
APPLY_TASK = "isms.tasks.apply_due_personnel_batches"
DIGEST_TASK = "isms.tasks.send_personnel_digest"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Rows checked between two progress updates of the batch page.
PROGRESS_STEP = 2000


def can_manage_people(user):
    return is_programme_admin(user)


def visible_batches(user):
    if not can_manage_people(user):
        return PersonnelBatch.objects.none()
    return PersonnelBatch.objects.select_related("created_by", "scheduled_by")


def _check_may(by):
    if not can_manage_people(by):
        raise PermissionDenied(_("Only the programme admin imports people and units."))


def _check_date(effective_on):
    if effective_on is not None and effective_on < timezone.localdate():
        raise WorkflowError({"effective_on": _("The effective date cannot lie in the past.")})


def check_upload(uploaded):
    """A CSV or xlsx file of MAX_UPLOAD_BYTES at most, or a ValidationError: what the page's
    form and the API's serializer refuse alike."""
    name = (uploaded.name or "").lower()
    if not name.endswith((".csv", ".xlsx", ".txt")):
        raise ValidationError(_("Upload a CSV or xlsx file."))
    if uploaded.size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than 50 MB."))
    return uploaded


def upload_batch(uploaded, kind, *, by, effective_on=None, request=None):
    """Store the file as a batch and queue its check; returns the batch."""
    _check_may(by)
    # A file gives and takes roles: the step-up of role changes (isms.second_factor).
    second_factor.require_recent(request, by)
    if kind not in BatchKind.values:
        raise WorkflowError({"kind": _("Choose organisation or staff.")})
    _check_date(effective_on)
    batch = PersonnelBatch(
        kind=kind,
        original_name=(uploaded.name or "")[:255],
        sha256=sha256_of(uploaded),
        effective_on=effective_on,
        created_by=by,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    with transaction.atomic():
        batch.file.save(uploaded.name or "upload", uploaded, save=False)
        batch.save()
        audit.record(
            AuditAction.PERSONNEL_UPLOADED,
            actor=by,
            target=batch,
            request=request,
            data={
                "kind": kind,
                "file": batch.original_name,
                "sha256": batch.sha256,
                "effective_on": effective_on.isoformat() if effective_on else None,
            },
        )
        enqueue(current_app.tasks[CHECK_TASK], batch.pk)
    return batch


def _read(batch, progress=None):
    """Checked rows of the batch's file and the problems found."""
    errors = []
    checked = []
    if batch.kind == BatchKind.ORGANISATION:
        columns, required, headers = (
            rows.ORGANISATION_COLUMNS,
            rows.ORGANISATION_REQUIRED,
            rows.ORGANISATION_HEADERS,
        )
        check_row = rows.check_unit_row
    else:
        columns, required, headers = rows.STAFF_COLUMNS, rows.STAFF_REQUIRED, rows.STAFF_HEADERS
        check_row = rows.check_staff_row
    with batch.file.open("rb") as handle:
        for count, (number, data) in enumerate(
            read_table(handle, columns, required, name=batch.original_name, aliases=headers),
            start=1,
        ):
            row = check_row(number, data, errors)
            if row is not None:
                checked.append(row)
            if progress and count % PROGRESS_STEP == 0:
                progress(count)
    return checked, errors


def plan_for(batch, checked, errors, on):
    if batch.kind == BatchKind.ORGANISATION:
        return plan.plan_organisation(checked, on, errors)
    return plan.plan_staff(checked, on, errors, extra_units=plan.pending_units(batch))


def check_batch(batch_id):
    """The job after an upload: read and check every row, work out the preview. Safe to
    run twice: only a batch still being checked is written."""
    batch = PersonnelBatch.objects.filter(pk=batch_id, status=BatchStatus.CHECKING).first()
    if batch is None:
        return "checked already"
    with translation.override(batch.language or settings.LANGUAGE_CODE):

        def progress(count):
            PersonnelBatch.objects.filter(pk=batch_id).update(rows_checked=count)

        try:
            if batch.file:
                checked, errors = _read(batch, progress)
            else:  # checked again for the date it was scheduled for: its kept rows
                checked, errors = _kept_rows(batch), []
        except ImportRejected as rejected:
            checked, errors = [], rejected.errors
        except FileNotFoundError:
            checked, errors = [], [RowError(0, "", _("The uploaded file is gone."))]
        if not checked and not errors:
            errors = [RowError(1, "", _("The file has no rows."))]
        on = batch.effective_on or timezone.localdate()
        try:
            result = plan_for(batch, checked, errors, on)
        except Exception:  # noqa: BLE001 - whatever failed, the batch says so; never stuck
            logger.exception("personnel batch %s could not be checked", batch_id)
            result = plan.Plan(batch.kind, on, errors=[_unexpected()])
        checked_rows = [] if result.errors else [rows.as_json(r) for r in checked]
    failed = bool(result.errors)
    # Scheduled before this check (a new date asks for a new preview): scheduled again
    # when the rows still pass on that date.
    scheduled = not failed and batch.scheduled_by_id is not None
    with transaction.atomic():
        updated = PersonnelBatch.objects.filter(pk=batch_id, status=BatchStatus.CHECKING).update(
            status=(
                BatchStatus.REJECTED
                if failed
                else BatchStatus.SCHEDULED
                if scheduled
                else BatchStatus.READY
            ),
            rows=checked_rows,
            preview={} if failed else result.preview(),
            errors=[e.as_dict() for e in result.errors[:1000]],
            error_count=len(result.errors),
            rows_checked=len(checked) + len({e.row for e in result.errors if e.row > 1}),
        )
        if updated and scheduled and batch.effective_on <= timezone.localdate():
            enqueue(current_app.tasks[APPLY_TASK])
    if updated and batch.file:
        batch.file.delete(save=False)
        PersonnelBatch.objects.filter(pk=batch_id).update(file="")
    if failed:
        return BatchStatus.REJECTED
    return BatchStatus.SCHEDULED if scheduled else BatchStatus.READY


def _kept_rows(batch):
    kind_cls = rows.UnitRow if batch.kind == BatchKind.ORGANISATION else rows.StaffRow
    return [rows.from_json(kind_cls, data) for data in batch.rows]


def _unexpected():
    return RowError(0, "", _("The file could not be checked; nothing was changed."))


@transaction.atomic
def schedule_batch(batch_id, effective_on, *, by, request=None):
    """Set the day a checked batch takes effect; today applies it at once (by the job)."""
    _check_may(by)
    batch = PersonnelBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status not in (BatchStatus.READY, BatchStatus.SCHEDULED):
        raise WorkflowError(_("Only a checked batch without problems can be scheduled."))
    if effective_on is None:
        raise WorkflowError({"effective_on": _("Enter a valid date.")})
    _check_date(effective_on)
    second_factor.require_recent(request, by)
    # The preview was worked out for one day; another day (a leaver's last day passed, a
    # unit ended meanwhile) asks for the check again, which schedules it if it still passes.
    checked_for = batch.preview.get("on")
    again = checked_for != effective_on.isoformat()
    batch.status = BatchStatus.CHECKING if again else BatchStatus.SCHEDULED
    batch.effective_on = effective_on
    batch.scheduled_by = by
    batch.scheduled_at = timezone.now()
    batch.save(update_fields=["status", "effective_on", "scheduled_by", "scheduled_at"])
    audit.record(
        AuditAction.PERSONNEL_SCHEDULED,
        actor=by,
        target=batch,
        request=request,
        data={"effective_on": effective_on.isoformat(), "checked_again": again},
    )
    if again:
        enqueue(current_app.tasks[CHECK_TASK], batch.pk)
    elif effective_on <= timezone.localdate():
        enqueue(current_app.tasks[APPLY_TASK])
    return batch


@transaction.atomic
def cancel_batch(batch_id, *, by, request=None):
    _check_may(by)
    batch = PersonnelBatch.objects.select_for_update().get(pk=batch_id)
    if not batch.is_open:
        raise WorkflowError(_("This batch has been applied or cancelled already."))
    batch.status = BatchStatus.CANCELLED
    batch.cancelled_by = by
    batch.finished_at = timezone.now()
    batch.rows = []  # names and addresses are kept only while a batch may still apply
    batch.save(update_fields=["status", "cancelled_by", "finished_at", "rows"])
    if batch.file:
        stored = batch.file
        PersonnelBatch.objects.filter(pk=batch.pk).update(file="")
        transaction.on_commit(lambda: stored.delete(save=False))
    audit.record(AuditAction.PERSONNEL_CANCELLED, actor=by, target=batch, request=request)
    return batch


def due_batches(today=None):
    """Ids of the scheduled batches whose day has come, in the order they apply: by date,
    the organisation before the staff of the same day, then as uploaded."""
    today = today or timezone.localdate()
    due = PersonnelBatch.objects.filter(status=BatchStatus.SCHEDULED, effective_on__lte=today)
    return [
        b.pk
        for b in sorted(
            due.only("pk", "kind", "effective_on", "created_at"),
            key=lambda b: (b.effective_on, b.kind != BatchKind.ORGANISATION, b.created_at, b.pk),
        )
    ]


def apply_batch(batch_id, today=None):
    """Apply one scheduled batch whose day has come, whole, in one transaction; returns its
    final status, or None when there was nothing to do (not due, applied already, or being
    applied by another worker right now)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        batch = (
            PersonnelBatch.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=batch_id, status=BatchStatus.SCHEDULED, effective_on__lte=today)
            .select_related("scheduled_by", "created_by")
            .first()
        )
        if batch is None:
            return None
        if batch.kind == BatchKind.STAFF and _organisation_waiting(batch):
            # Its units come first: another run is applying them now, or will.
            return None
        by = batch.scheduled_by or batch.created_by
        with translation.override(batch.language or settings.LANGUAGE_CODE):
            result = plan_for(batch, _kept_rows(batch), [], batch.effective_on)
        if result.errors:
            _fail(batch, result.errors)
            return BatchStatus.FAILED
        preview = result.preview()  # before writing: it names where people came from
        digest = apply.apply_plan(result, batch, by=by)
        preview["digest"] = digest.as_json()
        batch.status = BatchStatus.APPLIED
        batch.preview = preview
        batch.rows = []
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "preview", "rows", "finished_at"])
        audit.record(
            AuditAction.PERSONNEL_APPLIED,
            actor=None,
            target=batch,
            data={"effective_on": batch.effective_on.isoformat(), **result.counts()},
        )
        if digest.departments:
            enqueue(current_app.tasks[DIGEST_TASK], batch.pk)
    return BatchStatus.APPLIED


def _organisation_waiting(batch):
    return PersonnelBatch.objects.filter(
        kind=BatchKind.ORGANISATION,
        status__in=(BatchStatus.SCHEDULED, BatchStatus.CHECKING),
        effective_on__lte=batch.effective_on,
    ).exists()


def _fail(batch, errors):
    """The batch could not be applied: it says why, keeps nothing of the rows (names and
    addresses), and the audit trail records it."""
    batch.status = BatchStatus.FAILED
    batch.errors = [e.as_dict() for e in errors[:1000]]
    batch.error_count = len(errors)
    batch.finished_at = timezone.now()
    batch.rows = []
    batch.save(update_fields=["status", "errors", "error_count", "finished_at", "rows"])
    audit.record(
        AuditAction.PERSONNEL_FAILED, actor=None, target=batch, data={"problems": len(errors)}
    )


def apply_due_batches(today=None):
    """The midnight job: every due batch, each in its own transaction. A batch that fails
    unexpectedly (its transaction rolled back, nothing of it written) is marked failed and
    the next one goes on, rather than blocking every later batch each hour."""
    done = {}
    for batch_id in due_batches(today):
        try:
            done[batch_id] = apply_batch(batch_id, today)
        except (OperationalError, InterfaceError):
            # The database went away or gave up (a restart, a deadlock): nothing was
            # written, and the next run tries again.
            logger.exception("personnel batch %s: the database failed; retried", batch_id)
            done[batch_id] = BatchStatus.SCHEDULED
        except Exception:  # noqa: BLE001 - recorded on the batch; the others go on
            logger.exception("personnel batch %s could not be applied", batch_id)
            with transaction.atomic():
                batch = (
                    PersonnelBatch.objects.select_for_update()
                    .filter(pk=batch_id, status=BatchStatus.SCHEDULED)
                    .first()
                )
                if batch is not None:
                    with translation.override(batch.language or settings.LANGUAGE_CODE):
                        _fail(batch, [_unexpected_apply()])
            done[batch_id] = BatchStatus.FAILED
    return done


def _unexpected_apply():
    return RowError(0, "", _("The batch could not be applied; nothing of it was changed."))


def deactivate_leavers(today=None):
    """The daily job: people whose last working day has passed lose their account."""
    today = today or timezone.localdate()
    count = 0
    for person in User.objects.filter(is_active=True, left_on__lt=today).only("pk"):
        with transaction.atomic():
            count += apply.deactivate(person)
    return count
