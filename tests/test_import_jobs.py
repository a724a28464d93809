"""Imports as jobs: the upload is answered at once with its job, which a Celery job checks
and writes; the job's page and GET /api/imports/<id>/ show its progress and then its result.

One file is imported once, and one unit has one import running at a time (PostgreSQL
decides races); only the uploader and those who manage the unit see a job. A file that
repeats a row, carries a date beyond the horizon, or is neither UTF-8 nor Shift_JIS is
refused with a named problem.
"""

import codecs
import hashlib
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import TestCase, override_settings
from django.utils import timezone

from assets.models import Asset
from isms import imports
from isms.celery import app as celery_app
from isms.models import ImportJob, ImportStatus

from .pages import is_login_redirect, ja, page
from .test_asset_import_export import csv_file, csv_text, good_row, page_errors
from .test_broker_down import redis_down  # noqa: F401 - fixture

IMPORT_PAGE = "/assets/import/"
IMPORT_API = "/api/assets/import/"


@pytest.fixture
def ready(catalogue, people, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return people


@pytest.fixture
def inline(monkeypatch):
    """The job runs in the process (as without Redis) when the request commits."""
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)


def upload(client, data, *, run=False):
    """POST to the import page; with run=True the job runs when the request commits."""
    if not run:
        return client.post(IMPORT_PAGE, {"file": data})
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(IMPORT_PAGE, {"file": data})


def the_job():
    return ImportJob.objects.get()


def job_page_status(response):
    return page(response).find(testid="import-job").attrs["data-status"]


# --- answered at once, then progress, then the result -----------------------------------


def test_the_page_answers_at_once_with_the_queued_job_whose_page_reloads_until_it_has_run(
    as_role, ready, inline
):
    client = as_role("chief")
    data = csv_file([good_row(1), good_row(2)])
    response = upload(client, data)  # the job is queued on commit, which a test never reaches
    job = the_job()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{job.pk}/"
    assert job.status == ImportStatus.QUEUED
    assert job.scope.code == "joho"
    assert job.sha256 == hashlib.sha256(csv_text([good_row(1), good_row(2)]).encode()).hexdigest()
    stored = settings.MEDIA_ROOT / job.file.name
    assert stored.exists()
    assert not Asset.objects.exists()

    response = client.get(response["Location"])
    assert job_page_status(response) == "queued"
    assert response["Refresh"] == "2", "the page reloads itself while the job runs"
    assert page(response).find(testid="rows-checked").text == "0"

    assert imports.run(job.pk) == ImportStatus.SUCCEEDED
    response = client.get(f"/imports/{job.pk}/")
    assert job_page_status(response) == "succeeded"
    assert not response.has_header("Refresh")
    assert page(response).find(testid="rows-checked").text == "2"
    assert page(response).find(testid="rows-written").text == "2"
    assert Asset.objects.count() == 2
    # Once the job is over, only the SHA-256 of the upload is kept.
    assert not stored.exists()
    assert the_job().file.name == ""


def test_the_api_answers_202_with_the_job_and_its_location(api_as, ready):
    client = api_as("chief")
    response = client.post(IMPORT_API, {"file": csv_file([good_row(1)])}, format="multipart")
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "queued"
    assert response["Location"] == f"/api/imports/{job['id']}/"
    imports.run(job["id"])
    job = client.get(response["Location"]).json()
    assert (job["status"], job["rows_checked"], job["rows_written"]) == ("succeeded", 1, 1)
    assert job["errors"] == []


def test_a_failed_job_shows_every_problem_on_its_page_and_in_the_api(
    as_role, api_as, ready, inline
):
    rows = [good_row(1), good_row(2, tier="dmz"), good_row(3, confidentiality="9")]
    response = upload(as_role("chief"), csv_file(rows), run=True)
    response = as_role("chief").get(response["Location"])
    assert job_page_status(response) == "failed"
    assert [(r, c) for r, c, _ in page_errors(response)] == [
        ("3", "tier"),
        ("4", "confidentiality"),
    ]
    job = api_as("chief").get(f"/api/imports/{the_job().pk}/").json()
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "tier"), (4, "confidentiality")]
    assert job["error_count"] == 2
    assert not Asset.objects.exists()


def rows_csv(count):
    header = "name,kind,section,confidentiality,integrity,availability,tier\n"
    return (header + "".join(f"資産{n},system,joho,2,1,1,lgwan\n" for n in range(count))).encode()


def test_a_120000_row_file_is_accepted_at_once_and_left_to_the_job(as_role, ready):
    data = rows_csv(120_000)
    assert len(data) > 3_000_000
    client = as_role("chief")
    started = time.monotonic()
    response = upload(client, SimpleUploadedFile("big.csv", data, content_type="text/csv"))
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    # Far below gunicorn's worker timeout: the request only stores the file.
    assert elapsed < 10, elapsed
    job = the_job()
    assert (job.status, job.size) == (ImportStatus.QUEUED, len(data))
    assert job.sha256 == hashlib.sha256(data).hexdigest()


# --- who sees a job ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, sees",
    [
        ("chief", True),  # the uploader
        ("head", True),  # manages 情報政策課
        ("staff", False),
        ("staff_somuka", False),
        ("other_head", False),
        ("auditor", False),
        ("ciso", False),
        ("admin", False),
    ],
)
def test_only_the_uploader_and_those_who_manage_the_unit_see_a_job(
    as_role, api_as, ready, inline, role, sees
):
    upload(as_role("chief"), csv_file([good_row(1), good_row(2, tier="dmz")]), run=True)
    job = the_job()
    response = as_role(role).get(f"/imports/{job.pk}/")
    assert response.status_code == (200 if sees else 404)
    if sees:
        assert [(r, c) for r, c, _ in page_errors(response)] == [("3", "tier")]
    response = api_as(role).get(f"/api/imports/{job.pk}/")
    assert response.status_code == (200 if sees else 404)
    listed = [j["id"] for j in api_as(role).get("/api/imports/").json()["results"]]
    assert listed == ([job.pk] if sees else [])


def test_an_unknown_job_answers_like_one_the_caller_may_not_see(as_role, api_as, ready):
    assert as_role("chief").get("/imports/999999/").status_code == 404
    assert api_as("chief").get("/api/imports/999999/").status_code == 404
    assert api_as("chief").get("/api/imports/abc/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in_and_the_api_refuses_them(as_role, api_as, ready):
    upload(as_role("chief"), csv_file([good_row(1)]))
    job = the_job()
    url = f"/imports/{job.pk}/"
    assert is_login_redirect(as_role("anonymous").get(url), url)
    assert api_as("anonymous").get(f"/api/imports/{job.pk}/").status_code in (401, 403)


# --- one file once, one import per unit at a time ---------------------------------------


def field_errors(response):
    return [p.text for p in page(response).find_all("p", cls="error")]


def test_the_same_file_uploaded_again_while_its_job_is_queued_is_refused(as_role, api_as, ready):
    rows = [good_row(1), good_row(2)]
    upload(as_role("chief"), csv_file(rows))
    response = upload(as_role("head"), csv_file(rows))
    assert response.status_code == 200
    assert field_errors(response) == [
        ja("This file is being imported already; wait until it has finished.")
    ]
    response = api_as("head").post(IMPORT_API, {"file": csv_file(rows)}, format="multipart")
    assert response.status_code == 409
    assert response.json()["detail"] == ja(
        "This file is being imported already; wait until it has finished."
    )
    assert ImportJob.objects.count() == 1


def test_a_file_already_imported_is_not_imported_again(as_role, ready, inline):
    rows = [good_row(1), good_row(2)]
    upload(as_role("chief"), csv_file(rows), run=True)
    assert Asset.objects.count() == 2
    response = upload(as_role("chief"), csv_file(rows), run=True)
    assert response.status_code == 200
    [message] = field_errors(response)
    assert message == ja(
        "This file was already imported on %(date)s; nothing was imported again."
    ) % {"date": timezone.localdate().isoformat()}
    assert Asset.objects.count() == 2


def test_a_file_whose_job_failed_can_be_uploaded_again(as_role, ready, inline):
    rows = [good_row(1), good_row(2, custodian="later_joiner")]
    upload(as_role("chief"), csv_file(rows), run=True)
    assert the_job().status == ImportStatus.FAILED
    from .factories import UserFactory

    UserFactory(username="later_joiner", section=ready["chief"].section)
    response = upload(as_role("chief"), csv_file(rows), run=True)
    assert response.status_code == 302
    assert Asset.objects.count() == 2


def test_a_second_file_for_a_unit_whose_import_is_running_is_refused(as_role, api_as, ready):
    upload(as_role("chief"), csv_file([good_row(1)]))
    response = upload(as_role("chief"), csv_file([good_row(2)]))
    assert field_errors(response) == [
        ja("An import for %(unit)s is still running; wait until it has finished.")
        % {"unit": "情報政策課"}
    ]
    response = api_as("chief").post(
        IMPORT_API, {"file": csv_file([good_row(3)])}, format="multipart"
    )
    assert response.status_code == 409
    # The head's imports count against 総務部, not against the chief's section.
    assert upload(as_role("head"), csv_file([good_row(4)])).status_code == 302
    assert ImportJob.objects.count() == 2


def job_for(people, org, *, sha256, status=ImportStatus.QUEUED, scope="joho"):
    return ImportJob.objects.create(
        kind="assets",
        created_by=people["chief"],
        scope=org[scope],
        original_name="a.csv",
        sha256=sha256,
        status=status,
    )


def test_postgresql_refuses_two_active_jobs_for_one_unit(ready, org):
    job_for(ready, org, sha256="a" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        job_for(ready, org, sha256="b" * 64, status=ImportStatus.RUNNING)
    # Finished jobs do not count.
    job_for(ready, org, sha256="c" * 64, status=ImportStatus.FAILED)
    job_for(ready, org, sha256="d" * 64, status=ImportStatus.SUCCEEDED)


def test_postgresql_refuses_a_second_job_for_a_file_imported_or_being_imported(ready, org):
    job_for(ready, org, sha256="a" * 64, status=ImportStatus.SUCCEEDED)
    with pytest.raises(IntegrityError), transaction.atomic():
        job_for(ready, org, sha256="a" * 64, scope="somu")
    job_for(ready, org, sha256="b" * 64, status=ImportStatus.FAILED)
    job_for(ready, org, sha256="b" * 64, scope="somu")  # a failed job frees its file


def test_a_job_delivered_twice_writes_its_rows_once(as_role, ready):
    upload(as_role("chief"), csv_file([good_row(n) for n in range(1, 6)]))
    job = the_job()
    assert imports.run(job.pk) == ImportStatus.SUCCEEDED
    assert imports.run(job.pk) == "finished already"
    assert Asset.objects.count() == 5


def test_a_job_abandoned_by_its_worker_no_longer_blocks_its_unit(as_role, ready):
    upload(as_role("chief"), csv_file([good_row(1)]))
    stale = timezone.now() - imports.ABANDONED_AFTER - timezone.timedelta(minutes=1)
    ImportJob.objects.update(status=ImportStatus.RUNNING, heartbeat_at=stale)
    response = upload(as_role("chief"), csv_file([good_row(1)]))
    assert response.status_code == 302
    abandoned, new = ImportJob.objects.order_by("pk")
    assert abandoned.status == ImportStatus.FAILED
    assert abandoned.errors[0]["message"] == ja(
        "The import stopped before it finished; nothing was imported."
    )
    assert new.status == ImportStatus.QUEUED
    # The abandoned job, should its worker come back, writes nothing.
    assert imports.run(abandoned.pk) == "finished already"


@pytest.mark.django_db(transaction=True)
def test_a_job_that_is_writing_is_not_given_up_however_old_its_heartbeat(
    catalogue, people, settings, tmp_path, as_role
):
    """Writing holds the job's row; the next upload skips it at once rather than waiting
    for the write or failing a job that is about to succeed."""
    import threading

    from django.db import connections

    settings.MEDIA_ROOT = tmp_path / "media"
    upload(as_role("chief"), csv_file([good_row(1)]))
    stale = timezone.now() - imports.ABANDONED_AFTER - timezone.timedelta(minutes=1)
    ImportJob.objects.update(status=ImportStatus.RUNNING, heartbeat_at=stale)
    writing, done = threading.Event(), threading.Event()

    def write():
        try:
            with transaction.atomic():
                ImportJob.objects.select_for_update().get()
                writing.set()
                done.wait(30)
        finally:
            connections.close_all()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert writing.wait(10)
        started = time.monotonic()
        response = upload(as_role("chief"), csv_file([good_row(2)]))
        assert time.monotonic() - started < 5
        assert field_errors(response) == [
            ja("An import for %(unit)s is still running; wait until it has finished.")
            % {"unit": "情報政策課"}
        ]
    finally:
        done.set()
        writer.join()
    assert the_job().status == ImportStatus.RUNNING


# --- row problems -----------------------------------------------------------------------


def import_errors(client, rows=None, *, data=None):
    response = upload(client, data if data is not None else csv_file(rows), run=True)
    assert response.status_code == 302, field_errors(response)
    response = client.get(response["Location"])
    return [] if job_page_status(response) == "succeeded" else page_errors(response)


def test_a_row_that_repeats_an_earlier_row_is_a_problem_of_that_row(as_role, ready, inline):
    rows = [good_row(1), good_row(2), good_row(1), good_row(3), good_row(1)]
    assert import_errors(as_role("chief"), rows) == [
        ("4", "", ja("This row repeats row %(row)s.") % {"row": 2}),
        ("6", "", ja("This row repeats row %(row)s.") % {"row": 2}),
    ]
    assert not Asset.objects.exists()


def horizon_message(latest):
    return ja("Write a date between %(earliest)s and %(latest)s.") % {
        "earliest": "1900-01-01",
        "latest": latest.isoformat(),
    }


@pytest.mark.parametrize("date", ["9999-12-31", "2200-01-01", "1066-10-14"])
def test_a_date_beyond_the_horizon_is_refused(as_role, ready, inline, date):
    today = timezone.localdate()
    errors = import_errors(as_role("chief"), [good_row(1, last_reviewed_on=date)])
    assert errors == [
        ("2", "last_reviewed_on", horizon_message(today.replace(year=today.year + 1)))
    ]
    assert not Asset.objects.exists()


@override_settings(IMPORT_DATE_HORIZON_YEARS=5)
def test_the_horizon_is_configurable(as_role, ready, inline):
    today = timezone.localdate()
    in_three_years = today.replace(year=today.year + 3).isoformat()
    assert import_errors(as_role("chief"), [good_row(1, last_reviewed_on=in_three_years)]) == []
    in_six_years = today.replace(year=today.year + 6).isoformat()
    errors = import_errors(as_role("chief"), [good_row(2, last_reviewed_on=in_six_years)])
    assert errors == [
        ("2", "last_reviewed_on", horizon_message(today.replace(year=today.year + 5)))
    ]


ENCODINGS = {
    "UTF-16 with BOM": ("UTF-16", lambda text: text.encode("utf-16")),
    "UTF-16 LE without BOM": ("UTF-16", lambda text: text.encode("utf-16-le")),
    "UTF-16 BE without BOM": ("UTF-16", lambda text: text.encode("utf-16-be")),
    "UTF-16 BE with BOM": ("UTF-16", lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be")),
    "UTF-32 with BOM": ("UTF-32", lambda text: text.encode("utf-32")),
}


@pytest.mark.parametrize("case", list(ENCODINGS))
def test_a_file_in_another_encoding_is_named_as_an_encoding_problem(as_role, ready, inline, case):
    encoding, encode = ENCODINGS[case]
    data = encode(csv_text([good_row(1, name="庁内グループウェア")]))
    errors = import_errors(as_role("chief"), data=SimpleUploadedFile("assets.csv", data))
    assert errors == [
        (
            "0",
            "",
            ja("The file is encoded in %(encoding)s. Save it as CSV in UTF-8 or Shift_JIS.")
            % {"encoding": encoding},
        )
    ]


# --- Redis down, and on a real worker --------------------------------------------------


def test_with_the_broker_down_the_upload_still_imports_in_the_request(
    as_role, ready, caplog, request
):
    attempts = request.getfixturevalue("redis_down")
    response = upload(as_role("chief"), csv_file([good_row(1), good_row(2)]), run=True)
    assert response.status_code == 302
    job = the_job()
    assert (job.status, job.rows_written) == (ImportStatus.SUCCEEDED, 2)
    assert Asset.objects.count() == 2
    assert attempts, "the broker was tried first"
    assert f"could not queue import job {job.pk}" in caplog.text
    response = as_role("chief").get(f"/imports/{job.pk}/")
    assert job_page_status(response) == "succeeded"


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs the real Redis (bin/test sets it)")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_job_while_the_page_shows_its_progress(
    catalogue, people, settings, tmp_path, monkeypatch, as_role, request
):
    # The worker reads the upload from the same MEDIA_ROOT as the web process.
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))
    worker = request.getfixturevalue("worker")
    client = as_role("chief")
    data = rows_csv(3000)
    started = time.monotonic()
    response = upload(client, SimpleUploadedFile("assets.csv", data, content_type="text/csv"))
    assert response.status_code == 302
    assert time.monotonic() - started < 10
    job_url = response["Location"]
    seen = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = job_page_status(client.get(job_url))
        seen.add(status)
        if status in ("succeeded", "failed"):
            break
        time.sleep(0.3)
    assert status == "succeeded", worker.output
    job = the_job()
    assert (job.rows_checked, job.rows_written) == (3000, 3000)
    assert Asset.objects.count() == 3000
    assert job.file.name == ""
