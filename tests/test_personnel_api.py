"""People and organisation in the API: /api/personnel/batches/ (list, detail, upload, then
schedule or cancel) and /api/personnel/postings/ (who was posted where, filtered by person,
unit and day), for the programme admin alone.

Every other persona gets 403 and changes nothing, an anonymous caller 401. Bad input (a
missing file, an unknown kind, a date in the past or that is no date, a batch that cannot
be scheduled, a second cancel, a bad filter) is a 400 that names the reason, never a 500.
"""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone

from isms.models import BatchStatus, PersonnelBatch, User

from .conftest import ROLES
from .personnel_helpers import (
    APRIL,
    MARCH_31,
    applied,
    checked,
    fresh,
    inline,  # noqa: F401 - fixture
    person,
    staff_batch,
    staff_file,
)
from .test_personnel_pages import april_rows

# Uploads under a temporary MEDIA_ROOT; the check and apply jobs run in the process.
pytestmark = pytest.mark.usefixtures("inline")

BATCHES = "/api/personnel/batches/"
POSTINGS = "/api/personnel/postings/"
ONE_DAY = datetime.timedelta(days=1)


def today():
    return timezone.localdate()


@pytest.fixture
def numbered(people):
    """staff_joho (情報政策課) known to the personnel system as 1001."""
    staff = people["staff"]
    staff.staff_number = "1001"
    staff.save(update_fields=["staff_number"])
    return people


@pytest.fixture
def ready_batch(numbered):
    """The April file (test_personnel_pages.april_rows), checked and ready."""
    return staff_batch(april_rows(), by=numbered["admin"])


def upload(client, data, *, run=True):
    """POST a multipart upload; with run=True the check job runs when the request commits."""
    if not run:
        return client.post(BATCHES, data, format="multipart")
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(BATCHES, data, format="multipart")


def april_upload(**extra):
    return {
        "kind": "staff",
        "file": staff_file(april_rows()),
        "effective_on": "2027-04-01",
        **extra,
    }


def refused(response, role):
    """The answer to anyone but the programme admin."""
    return response.status_code == (401 if role == "anonymous" else 403)


# --- only the programme admin -------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_only_the_programme_admin_lists_and_reads_batches(api_as, ready_batch, role):
    client = api_as(role)
    listed = client.get(BATCHES)
    detail = client.get(f"{BATCHES}{ready_batch.pk}/")
    if role == "admin":
        assert listed.status_code == 200
        assert [b["id"] for b in listed.json()["results"]] == [ready_batch.pk]
        assert detail.status_code == 200
        assert detail.json()["status"] == "ready"
    else:
        assert refused(listed, role), listed.status_code
        assert refused(detail, role), detail.status_code
        assert "results" not in listed.json() and "status" not in detail.json()


@pytest.mark.parametrize("role", ROLES)
def test_only_the_programme_admin_uploads_a_file(api_as, numbered, role):
    response = upload(api_as(role), april_upload())
    if role == "admin":
        assert response.status_code == 202, response.content
        assert PersonnelBatch.objects.get().created_by == numbered["admin"]
    else:
        assert refused(response, role), response.status_code
        assert not PersonnelBatch.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_only_the_programme_admin_schedules_and_cancels_a_batch(api_as, ready_batch, role):
    client = api_as(role)
    scheduled = client.post(
        f"{BATCHES}{ready_batch.pk}/schedule/", {"effective_on": "2027-04-01"}, format="json"
    )
    batch = PersonnelBatch.objects.get()
    if role == "admin":
        assert scheduled.status_code == 200
        assert batch.status == BatchStatus.SCHEDULED
    else:
        assert refused(scheduled, role), scheduled.status_code
        assert (batch.status, batch.scheduled_by) == (BatchStatus.READY, None)
    cancelled = client.post(f"{BATCHES}{ready_batch.pk}/cancel/")
    batch = PersonnelBatch.objects.get()
    if role == "admin":
        assert cancelled.status_code == 200
        assert batch.status == BatchStatus.CANCELLED
    else:
        assert refused(cancelled, role), cancelled.status_code
        assert batch.status == BatchStatus.READY


@pytest.mark.parametrize("role", ROLES)
def test_only_the_programme_admin_reads_the_postings(api_as, people, role):
    response = api_as(role).get(POSTINGS)
    if role == "admin":
        assert response.status_code == 200
        assert response.json()["count"] >= len(people)
    else:
        assert refused(response, role), response.status_code
        assert "results" not in response.json()


def test_an_unknown_batch_is_404(api_as):
    client = api_as("admin")
    assert client.get(f"{BATCHES}999999/").status_code == 404
    assert client.get(f"{BATCHES}abc/").status_code == 404
    response = client.post(f"{BATCHES}999999/schedule/", {"effective_on": "2027-04-01"})
    assert response.status_code == 404
    assert client.post(f"{BATCHES}999999/cancel/").status_code == 404


# --- upload ---------------------------------------------------------------------------------


def test_an_upload_is_answered_202_with_the_batch_being_checked_then_its_preview(api_as, numbered):
    client = api_as("admin")
    response = upload(client, april_upload(), run=False)
    assert response.status_code == 202
    batch = response.json()
    assert (batch["status"], batch["kind"], batch["file_name"]) == (
        "checking",
        "staff",
        "april.csv",
    )
    assert batch["effective_on"] == "2027-04-01"
    assert batch["created_by"] == "admin"
    assert len(batch["sha256"]) == 64

    response = upload(client, april_upload())
    batch = client.get(f"{BATCHES}{response.json()['id']}/").json()
    assert batch["status"] == "ready"
    assert batch["errors"] == [] and batch["error_count"] == 0
    counts = batch["preview"]["counts"]
    assert (counts["people_created"], counts["people_moved"], counts["roles_given"]) == (1, 1, 1)
    assert [(m["staff_number"], m["from"], m["to"]) for m in batch["preview"]["people_moved"]] == [
        ("1001", "joho 情報政策課", "gakko 学校教育課")
    ]
    assert batch["preview"]["roles"] == [
        {
            "staff_number": "2001",
            "name": "大分 太郎",
            "given": [["section_chief", "somuka 総務課"]],
            "taken": [],
        }
    ]
    assert fresh(numbered["staff"]).section.code == "joho"


def test_a_file_with_problems_is_rejected_with_each_row_and_column(api_as, numbered):
    rows = [
        person("1001", "nowhere", login="staff_joho"),
        person("2002", "somuka", email="not-an-address"),
    ]
    client = api_as("admin")
    response = upload(client, {"kind": "staff", "file": staff_file(rows)})
    batch = client.get(f"{BATCHES}{response.json()['id']}/").json()
    assert batch["status"] == "rejected"
    assert batch["error_count"] == 2
    assert sorted((e["row"], e["column"]) for e in batch["errors"]) == [
        (2, "section"),
        (3, "email"),
    ]
    assert batch["preview"] == {}


@pytest.mark.parametrize(
    "data, field",
    [
        ({"kind": "staff"}, "file"),
        ({"kind": "people", "file": "staff"}, "kind"),
        ({"file": "staff"}, "kind"),
        ({"kind": "staff", "file": "staff", "effective_on": "notadate"}, "effective_on"),
        ({"kind": "staff", "file": "staff", "effective_on": "yesterday"}, "effective_on"),
        ({"kind": "staff", "file": "not-csv"}, "file"),
    ],
)
def test_a_bad_upload_is_a_400_naming_the_field_and_stores_nothing(api_as, numbered, data, field):
    data = dict(data)
    if data.get("file") == "staff":
        data["file"] = staff_file(april_rows())
    elif data.get("file") == "not-csv":
        data["file"] = SimpleUploadedFile("april.pdf", b"%PDF-1.4", "application/pdf")
    if data.get("effective_on") == "yesterday":
        data["effective_on"] = (today() - ONE_DAY).isoformat()
    response = upload(api_as("admin"), data)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert response.json()[field]
    assert not PersonnelBatch.objects.exists()


def test_a_file_larger_than_the_page_allows_is_refused_by_the_api_too(api_as, monkeypatch):
    from isms.personnel import services

    monkeypatch.setattr(services, "MAX_UPLOAD_BYTES", 100)
    response = upload(api_as("admin"), april_upload())
    assert response.status_code == 400
    assert list(response.json()) == ["file"]
    assert not PersonnelBatch.objects.exists()


# --- schedule and cancel --------------------------------------------------------------------


def schedule(client, batch, value):
    return client.post(f"{BATCHES}{batch.pk}/schedule/", {"effective_on": value}, format="json")


def test_scheduling_a_ready_batch_for_a_later_day_answers_it_scheduled(
    api_as, ready_batch, numbered
):
    response = schedule(api_as("admin"), ready_batch, "2027-04-01")
    assert response.status_code == 200
    batch = response.json()
    assert (batch["status"], batch["effective_on"], batch["scheduled_by"]) == (
        "scheduled",
        "2027-04-01",
        "admin",
    )
    assert batch["scheduled_at"]
    assert fresh(numbered["staff"]).section.code == "joho"
    # Moved to another day while it waits.
    response = schedule(api_as("admin"), ready_batch, "2027-04-02")
    assert response.json()["effective_on"] == "2027-04-02"


def test_scheduling_a_batch_for_today_applies_it_at_once(api_as, ready_batch, numbered):
    client = api_as("admin")
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = schedule(client, ready_batch, today().isoformat())
    assert response.status_code == 200
    assert client.get(f"{BATCHES}{ready_batch.pk}/").json()["status"] == "applied"
    assert fresh(numbered["staff"]).section.code == "gakko"
    assert User.objects.get(staff_number="2001").section.code == "somuka"


@pytest.mark.parametrize("value", ["yesterday", "notadate", "", None, "2027-02-30"])
def test_a_bad_date_to_schedule_is_a_400_and_the_batch_stays_ready(api_as, ready_batch, value):
    if value == "yesterday":
        value = (today() - ONE_DAY).isoformat()
    data = {} if value is None else {"effective_on": value}
    response = api_as("admin").post(f"{BATCHES}{ready_batch.pk}/schedule/", data, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["effective_on"]
    batch = PersonnelBatch.objects.get()
    assert (batch.status, batch.scheduled_by) == (BatchStatus.READY, None)


def test_a_rejected_batch_cannot_be_scheduled(api_as, people):
    batch = checked(staff_file([person("1001", "nowhere")]), "staff", by=people["admin"])
    response = schedule(api_as("admin"), batch, "2027-04-01")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert PersonnelBatch.objects.get().status == BatchStatus.REJECTED


def test_a_batch_is_cancelled_once_and_a_second_cancel_is_a_400(api_as, ready_batch):
    client = api_as("admin")
    response = client.post(f"{BATCHES}{ready_batch.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    response = client.post(f"{BATCHES}{ready_batch.pk}/cancel/")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert PersonnelBatch.objects.get().status == BatchStatus.CANCELLED
    # Nor can it be scheduled any more.
    response = schedule(client, ready_batch, "2027-04-01")
    assert response.status_code == 400
    assert PersonnelBatch.objects.get().status == BatchStatus.CANCELLED


def test_an_applied_batch_cannot_be_cancelled_or_scheduled_again(api_as, ready_batch, numbered):
    applied(ready_batch, by=numbered["admin"])
    client = api_as("admin")
    assert client.post(f"{BATCHES}{ready_batch.pk}/cancel/").status_code == 400
    assert schedule(client, ready_batch, "2027-04-02").status_code == 400
    assert PersonnelBatch.objects.get().status == BatchStatus.APPLIED


# --- postings -------------------------------------------------------------------------------


@pytest.fixture
def moved(ready_batch, numbered):
    """The April batch applied: staff_joho in 情報政策課 until 31 March, 学校教育課 from 1
    April."""
    applied(ready_batch, by=numbered["admin"])
    return numbered


def test_a_persons_postings_are_listed_with_their_units_and_dates(api_as, moved):
    staff = moved["staff"]
    response = api_as("admin").get(POSTINGS, {"user": staff.pk})
    assert response.status_code == 200
    postings = response.json()["results"]
    assert [(p["user"], p["unit"], p["valid_until"]) for p in postings] == [
        ("staff_joho", "gakko", None),
        ("staff_joho", "joho", "2027-03-31"),
    ]
    assert postings[0]["valid_from"] == "2027-04-01"
    assert postings[0]["post"] == "主事" and postings[0]["employment_type"] == "regular"
    assert postings[0]["batch"] == PersonnelBatch.objects.get().pk


def test_postings_are_filtered_by_unit_and_by_day(api_as, moved):
    client = api_as("admin")
    staff = moved["staff"]

    def units_on(day):
        return [
            p["unit"] for p in client.get(POSTINGS, {"user": staff.pk, "on": day}).json()["results"]
        ]

    assert units_on(MARCH_31.isoformat()) == ["joho"]
    assert units_on(APRIL.isoformat()) == ["gakko"]
    in_gakko = {p["user"] for p in client.get(POSTINGS, {"unit": "gakko"}).json()["results"]}
    assert in_gakko == {"staff_joho", "staff_kyoiku"}
    on_march_31 = client.get(POSTINGS, {"unit": "gakko", "on": MARCH_31.isoformat()}).json()
    assert {p["user"] for p in on_march_31["results"]} == {"staff_kyoiku"}
    assert client.get(POSTINGS, {"unit": "no-such-unit"}).json()["results"] == []


@pytest.mark.parametrize(
    "query, field",
    [
        ({"on": "notadate"}, "on"),
        ({"on": "2027-13-01"}, "on"),
        ({"user": "abc"}, "user"),
        ({"user": "0"}, "user"),
        ({"user": "99999999999999999999"}, "user"),
        ({"unit": "not a code!"}, "unit"),
    ],
)
def test_a_bad_postings_filter_is_a_400_naming_it(api_as, people, query, field):
    response = api_as("admin").get(POSTINGS, query)
    assert response.status_code == 400
    assert list(response.json()) == [field]
