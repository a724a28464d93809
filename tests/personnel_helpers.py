"""Files of the personnel system and the steps of a batch, for the personnel tests."""

import csv
import datetime
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from isms.models import PersonnelBatch
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


def person(number, section, *, family="大分", given="太郎", post="主事", kind="正規",
           start="", end="", login="", email=None):
    return [number, family, given, "オオイタ", "タロウ",
            email if email is not None else f"{number}@city.example.jp",
            section, post, kind, start, end, login]


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


def applied(batch, *, by, on=APRIL):
    """Schedule the batch for `on` and run the midnight job on that day."""
    services.schedule_batch(batch.pk, on, by=by) if on >= datetime.date.today() else None
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.apply_due_batches(today=on)
    return PersonnelBatch.objects.get(pk=batch.pk)
