"""Files of the personnel system and the steps of a batch, for the personnel tests."""

import csv
import datetime
import io

import pytest
from celery import current_app
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from isms.models import AuditEvent, PersonnelBatch, User
from isms.personnel import services

STAFF_HEADER = [
    "職員番号",
    "姓",
    "名",
    "セイ",
    "メイ",
    "メールアドレス",
    "所属コード",
    "役職",
    "任用区分",
    "開始日",
    "終了日",
    "ログインID",
]
UNIT_HEADER = ["組織コード", "組織名", "種別", "上位組織コード", "終了日", "統合先コード"]
APRIL = datetime.date(2027, 4, 1)
MARCH_31 = APRIL - datetime.timedelta(days=1)


@pytest.fixture
def inline(monkeypatch, settings, tmp_path):
    """Uploads kept under a temporary MEDIA_ROOT, the jobs run inline (as without Redis)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(current_app.conf, "task_always_eager", True)


def person(
    number,
    section,
    *,
    family="大分",
    given="太郎",
    post="主事",
    kind="正規",
    start="",
    end="",
    login="",
    email=None,
):
    return [
        number,
        family,
        given,
        "オオイタ",
        "タロウ",
        email if email is not None else f"{number}@city.example.jp",
        section,
        post,
        kind,
        start,
        end,
        login,
    ]


def unit(code, name, kind, parent="", until="", successor=""):
    return [code, name, kind, parent, until, successor]


def csv_bytes(header, rows, encoding="utf-8-sig"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def staff_file(rows, name="april.csv", encoding="utf-8-sig"):
    return SimpleUploadedFile(name, csv_bytes(STAFF_HEADER, rows, encoding), "text/csv")


def unit_file(rows, name="org.csv"):
    return SimpleUploadedFile(name, csv_bytes(UNIT_HEADER, rows), "text/csv")


def checked(uploaded, kind, *, by, effective_on=None):
    """Upload and let the check job run (inline, as when the upload commits)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        batch = services.upload_batch(uploaded, kind, by=by, effective_on=effective_on)
    return PersonnelBatch.objects.get(pk=batch.pk)


def staff_batch(rows, *, by, on=APRIL):
    """A staff file for `on`, uploaded and checked."""
    return checked(staff_file(rows), "staff", by=by, effective_on=on)


def org_batch(rows, *, by, on=APRIL):
    """An organisation file for `on`, uploaded and checked."""
    return checked(unit_file(rows), "organisation", by=by, effective_on=on)


def applied(batch, *, by, on=APRIL):
    """Schedule the batch for `on` (checked again if it was checked for another day) and run
    the midnight job on that day."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.schedule_batch(batch.pk, on, by=by)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.apply_due_batches(today=on)
    return PersonnelBatch.objects.get(pk=batch.pk)


def fresh(user):
    """The person as the database has them now (no cached section, roles or rights)."""
    return User.objects.select_related("section").get(pk=user.pk)


def audit_mark():
    """The last event of the audit trail so far: role_events(after=...) reads what follows."""
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def role_events(after):
    """(action, user, role, department code) of the role changes in the audit trail since
    `after` (audit_mark())."""
    return sorted(
        (e.action, e.data["user"], e.data["role"], e.data["department"])
        for e in AuditEvent.objects.filter(
            id__gt=after, action__in=["role.assigned", "role.revoked"]
        )
    )
