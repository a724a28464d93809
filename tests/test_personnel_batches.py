"""Batches of the personnel system (people and organisation): a file is checked into a
preview, or rejected with every problem named by row and column, and nothing is written
until the batch is applied on its date, whole or not at all, and only once in effect. Only
the programme admin handles batches.

Service-level tests: isms.personnel.services as the pages, the API and the jobs call it.
What follows a move, a merge or a leaver: test_personnel_people.py and
test_personnel_follow_up.py."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from acknowledgements.models import PersonalDeadline
from isms import signals
from isms.exceptions import WorkflowError
from isms.models import (
    AuditEvent,
    BatchStatus,
    Department,
    PersonnelBatch,
    Posting,
    RoleAssignment,
    UnitChange,
    User,
)
from isms.personnel import apply, services

from .factories import DepartmentFactory
from .personnel_helpers import (
    APRIL,
    MARCH_31,
    STAFF_HEADER,
    applied,
    audit_mark,
    checked,
    fresh,
    inline,  # noqa: F401 - fixture
    org_batch,
    person,
    role_events,
    staff_batch,
    staff_file,
    unit,
    unit_file,
)

pytestmark = pytest.mark.usefixtures("inline")


def april_rows():
    """The April transfer: staff_joho moves to 学校教育課, chief_joho (課長) to 総務課,
    staff_somuka leaves on 31 March, and a new 課長 joins 情報政策課."""
    return [
        person("1001", "gakko", family="大分", given="一郎", login="staff_joho"),
        person("1002", "somuka", family="別府", given="花子", post="課長", login="chief_joho"),
        person(
            "1003", "somuka", family="臼杵", given="次郎", end="2027-03-31", login="staff_somuka"
        ),
        person("2001", "joho", family="佐伯", given="三郎", post="課長"),
    ]


def state():
    """What a batch may change: people, units, roles and the two histories."""
    return {
        "people": list(
            User.objects.order_by("pk").values_list(
                "pk",
                "username",
                "staff_number",
                "display_name",
                "email",
                "section_id",
                "post",
                "is_active",
                "left_on",
            )
        ),
        "units": list(
            Department.objects.order_by("pk").values_list(
                "pk", "code", "name", "parent_id", "valid_until", "successor_id"
            )
        ),
        "roles": sorted(RoleAssignment.objects.values_list("user_id", "role", "department_id")),
        "postings": list(Posting.objects.order_by("pk").values_list("pk", "valid_until")),
        "unit history": UnitChange.objects.count(),
        "deadlines": PersonalDeadline.objects.count(),
    }


# The preview ---------------------------------------------------------------------------


def test_the_preview_counts_what_a_staff_file_would_change(people):
    batch = staff_batch(april_rows(), by=people["admin"])

    assert batch.status == BatchStatus.READY
    assert batch.preview["on"] == "2027-04-01"
    assert batch.preview["counts"] == {
        "units_created": 0,
        "units_renamed": 0,
        "units_moved": 0,
        "units_updated": 0,
        "units_ended": 0,
        "units_merged": 0,
        "people_created": 1,
        "people_moved": 2,
        "people_updated": 3,
        "people_leaving": 1,
        "people_returning": 0,
        "roles_given": 2,
        "roles_taken": 1,
    }


def test_the_preview_names_who_joins_moves_and_leaves(people):
    preview = staff_batch(april_rows(), by=people["admin"]).preview

    assert preview["people_created"] == [
        {"staff_number": "2001", "name": "佐伯 三郎", "section": "joho 情報政策課", "post": "課長"}
    ]
    assert preview["people_moved"] == [
        {
            "staff_number": "1001",
            "name": "大分 一郎",
            "from": "joho 情報政策課",
            "to": "gakko 学校教育課",
            "post": "主事",
        },
        {
            "staff_number": "1002",
            "name": "別府 花子",
            "from": "joho 情報政策課",
            "to": "somuka 総務課",
            "post": "課長",
        },
    ]
    assert preview["people_leaving"] == [
        {"staff_number": "1003", "name": "臼杵 次郎", "last_day": "2027-03-31"}
    ]


def test_the_preview_names_the_roles_given_and_taken(people):
    preview = staff_batch(april_rows(), by=people["admin"]).preview

    assert preview["roles"] == [
        {
            "staff_number": "1002",
            "name": "別府 花子",
            "given": [["section_chief", "somuka 総務課"]],
            "taken": [["section_chief", "joho 情報政策課"]],
        },
        {
            "staff_number": "2001",
            "name": "佐伯 三郎",
            "given": [["section_chief", "joho 情報政策課"]],
            "taken": [],
        },
    ]


def test_the_preview_of_an_organisation_file_names_units_created_renamed_merged_and_ended(
    org, people
):
    DepartmentFactory(code="kikaku", name="企画課", kind="section", parent=org["somu"])
    batch = org_batch(
        [
            unit("dx", "デジタル推進課", "課", "somu"),
            unit("gakko", "学校教育推進課", "課", "kyoiku"),
            unit("somuka", "総務課", "課", "somu", until="2027-03-31", successor="joho"),
            unit("kikaku", "企画課", "課", "somu", until="2027-03-31"),
        ],
        by=people["admin"],
    )

    assert batch.status == BatchStatus.READY, batch.errors
    counts = batch.preview["counts"]
    changed = ("units_created", "units_renamed", "units_merged", "units_ended")
    assert {kind: counts[kind] for kind in changed} == dict.fromkeys(changed, 1)
    assert batch.preview["units_created"] == [
        {"code": "dx", "name": "デジタル推進課", "parent": "somu"}
    ]
    assert batch.preview["units_changed"] == [
        {
            "code": "gakko",
            "name": "学校教育課",
            "changes": {"name": ["学校教育課", "学校教育推進課"]},
        }
    ]
    assert batch.preview["units_merged"] == [
        {
            "code": "somuka",
            "name": "総務課",
            "until": "2027-03-31",
            "into": "joho 情報政策課",
            "members": 1,
        }
    ]
    assert batch.preview["units_ended"] == [
        {"code": "kikaku", "name": "企画課", "until": "2027-03-31"}
    ]


@pytest.mark.parametrize("kind", ["staff", "organisation"])
def test_nothing_changes_until_a_checked_batch_is_applied(org, people, kind):
    before = state()

    if kind == "staff":
        batch = staff_batch(april_rows(), by=people["admin"])
    else:
        batch = org_batch(
            [
                unit("dx", "デジタル推進課", "課", "somu"),
                unit("gakko", "学校教育推進課", "課", "kyoiku"),
                unit("somuka", "総務課", "課", "somu", until="2027-03-31", successor="joho"),
            ],
            by=people["admin"],
        )
    services.schedule_batch(batch.pk, APRIL, by=people["admin"])

    assert PersonnelBatch.objects.get(pk=batch.pk).status == BatchStatus.SCHEDULED
    assert state() == before


# Problems, row by row ------------------------------------------------------------------


@pytest.fixture
def numbered(people):
    """staff_joho and chief_joho known to the portal by their staff numbers."""
    User.objects.filter(pk=people["staff"].pk).update(staff_number="1001")
    User.objects.filter(pk=people["chief"].pk).update(staff_number="1002")


PROBLEMS = {
    "an unknown section code": ("staff", [person("3001", "nosuch")], (2, "section")),
    "a staff number twice": (
        "staff",
        [person("3001", "joho"), person("3001", "somuka", login="sato3001")],
        (3, "staff_number"),
    ),
    "a staff number twice, without login names": (
        "staff",
        [person("3001", "joho"), person("3001", "somuka")],
        (3, "staff_number"),
    ),
    "a date that does not exist": (
        "staff",
        [person("3001", "joho", start="2027-02-30")],
        (2, "start_date"),
    ),
    "an unknown employment type": (
        "staff",
        [person("3001", "joho", kind="アルバイト")],
        (2, "employment_type"),
    ),
    "the login name of another person": (
        "staff",
        [person("1001", "joho", login="chief_joho")],
        (2, "login"),
    ),
    "the login name of a person with another staff number": (
        "staff",
        [person("3001", "joho", login="chief_joho")],
        (2, "login"),
    ),
    "a unit that ends with members and no successor": (
        "organisation",
        [
            unit("joho", "情報政策課", "課", "somu"),
            unit("somuka", "総務課", "課", "somu", "2027-03-31"),
        ],
        (3, "successor"),
    ),
    "a department without its parent": (
        "organisation",
        [unit("seisaku", "政策部", "部")],
        (2, "parent"),
    ),
}


@pytest.mark.parametrize("problem", PROBLEMS)
def test_a_file_with_a_problem_is_rejected_naming_its_row_and_column(
    org, people, numbered, problem
):
    kind, rows, where = PROBLEMS[problem]
    before = state()

    batch = checked(
        staff_file(rows) if kind == "staff" else unit_file(rows),
        kind,
        by=people["admin"],
        effective_on=APRIL,
    )

    assert batch.status == BatchStatus.REJECTED
    assert [(e["row"], e["column"]) for e in batch.errors] == [where]
    assert batch.error_count == 1
    assert (batch.rows, batch.preview) == ([], {})
    assert state() == before


def test_a_rejected_file_writes_not_even_its_good_rows_and_cannot_be_scheduled(people):
    before = state()
    batch = staff_batch([person("3001", "joho"), person("3002", "nosuch")], by=people["admin"])

    with pytest.raises(WorkflowError):
        services.schedule_batch(batch.pk, APRIL, by=people["admin"])

    assert PersonnelBatch.objects.get(pk=batch.pk).status == BatchStatus.REJECTED
    assert services.apply_due_batches(today=APRIL) == {}
    assert state() == before


def test_a_shift_jis_file_as_excel_saves_it_is_read(people):
    rows = [person("3001", "joho", family="髙橋", given="﨑子", post="主任")]

    batch = checked(
        staff_file(rows, encoding="cp932"), "staff", by=people["admin"], effective_on=APRIL
    )

    assert batch.status == BatchStatus.READY, batch.errors
    assert batch.preview["people_created"] == [
        {"staff_number": "3001", "name": "髙橋 﨑子", "section": "joho 情報政策課", "post": "主任"}
    ]


def test_an_excel_workbook_is_read_with_its_numbers_and_dates(people):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(STAFF_HEADER)
    row = person("3001", "gakko", family="竹田", given="結衣", kind="会計年度任用")
    row[0], row[9] = 3001, datetime.date(2027, 4, 1)  # a number and a date cell
    sheet.append(row)
    content = io.BytesIO()
    workbook.save(content)
    uploaded = SimpleUploadedFile("april.xlsx", content.getvalue())

    batch = applied(
        checked(uploaded, "staff", by=people["admin"], effective_on=APRIL), by=people["admin"]
    )

    assert batch.status == BatchStatus.APPLIED
    joined = User.objects.get(staff_number="3001")
    assert (joined.display_name, joined.section.code, joined.employment_type) == (
        "竹田 結衣",
        "gakko",
        "fiscal_year",
    )
    assert joined.joined_on == APRIL


# Applied whole, and once in effect ---------------------------------------------------------


def test_applying_the_same_staff_file_again_changes_nothing(people):
    admin = people["admin"]
    applied(staff_batch(april_rows(), by=admin), by=admin)
    before, mark = state(), audit_mark()

    again = staff_batch(april_rows(), by=admin)
    assert set(again.preview["counts"].values()) == {0}
    again = applied(again, by=admin)

    assert again.status == BatchStatus.APPLIED
    assert state() == before
    assert not Posting.objects.filter(batch=again).exists()
    assert role_events(after=mark) == []


def test_applying_the_same_organisation_file_again_changes_nothing(people):
    admin = people["admin"]
    rows = [
        unit("dx", "デジタル推進課", "課", "somu"),
        unit("gakko", "学校教育推進課", "課", "kyoiku"),
        unit("somuka", "総務課", "課", "somu", until="2027-03-31", successor="joho"),
    ]
    applied(org_batch(rows, by=admin), by=admin)
    before, mark = state(), audit_mark()

    again = org_batch(rows, by=admin)
    assert set(again.preview["counts"].values()) == {0}
    again = applied(again, by=admin)

    assert again.status == BatchStatus.APPLIED
    assert state() == before
    assert role_events(after=mark) == []


class WorkerKilled(BaseException):
    """A kill: no handler of the portal's runs (apply_due_batches catches Exception only),
    the transaction is rolled back with the connection."""


def die(*args, **kwargs):
    raise WorkerKilled


@pytest.mark.parametrize("dies_in", ["deactivating the leaver", "what follows the moves"])
def test_an_apply_that_dies_half_way_leaves_nothing_and_the_next_run_applies_it_whole(
    people, monkeypatch, dies_in
):
    admin = people["admin"]
    batch = staff_batch(april_rows(), by=admin)
    services.schedule_batch(batch.pk, APRIL, by=admin)
    before, mark = state(), audit_mark()

    with monkeypatch.context() as patch:
        if dies_in == "deactivating the leaver":
            patch.setattr(apply, "deactivate", die)
        else:
            signals.people_moved.connect(die, dispatch_uid="test-dies")
        try:
            with pytest.raises(WorkerKilled):
                services.apply_due_batches(today=APRIL)
        finally:
            signals.people_moved.disconnect(dispatch_uid="test-dies")

    assert PersonnelBatch.objects.get(pk=batch.pk).status == BatchStatus.SCHEDULED
    assert state() == before
    assert not AuditEvent.objects.filter(id__gt=mark).exists()

    assert services.apply_due_batches(today=APRIL) == {batch.pk: BatchStatus.APPLIED}
    assert fresh(people["staff"]).section.code == "gakko"
    assert fresh(people["chief"]).section.code == "somuka"
    assert not fresh(people["staff_somuka"]).is_active
    assert User.objects.get(staff_number="2001").section.code == "joho"


def test_a_batch_that_fails_unexpectedly_is_marked_failed_and_the_next_one_still_applies(
    people, monkeypatch
):
    admin = people["admin"]
    broken = staff_batch(
        [person("1003", "somuka", end="2027-03-31", login="staff_somuka")], by=admin
    )
    fine = staff_batch([person("1001", "gakko", login="staff_joho")], by=admin)
    for batch in (broken, fine):
        services.schedule_batch(batch.pk, APRIL, by=admin)

    def fails(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(apply, "deactivate", fails)
    done = services.apply_due_batches(today=APRIL)

    assert done == {broken.pk: BatchStatus.FAILED, fine.pk: BatchStatus.APPLIED}
    failed = PersonnelBatch.objects.get(pk=broken.pk)
    assert failed.errors and failed.rows == []
    assert fresh(people["staff_somuka"]).is_active  # nothing of it was written
    assert fresh(people["staff"]).section.code == "gakko"
    assert services.apply_due_batches(today=APRIL) == {}  # not tried again every hour


def test_a_database_that_goes_away_leaves_the_batch_scheduled_for_the_next_run(people, monkeypatch):
    from django.db import OperationalError

    admin = people["admin"]
    batch = staff_batch([person("1001", "gakko", login="staff_joho")], by=admin)
    services.schedule_batch(batch.pk, APRIL, by=admin)

    def gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(apply, "apply_plan", gone)
        assert services.apply_due_batches(today=APRIL) == {batch.pk: BatchStatus.SCHEDULED}
    assert PersonnelBatch.objects.get(pk=batch.pk).status == BatchStatus.SCHEDULED

    assert services.apply_due_batches(today=APRIL) == {batch.pk: BatchStatus.APPLIED}


# Dated batches ------------------------------------------------------------------------


def test_a_dated_batch_waits_for_its_day_and_is_listed_meanwhile(people):
    admin = people["admin"]
    batch = staff_batch(april_rows(), by=admin)
    services.schedule_batch(batch.pk, APRIL, by=admin)
    before = state()

    assert services.apply_due_batches(today=MARCH_31) == {}

    assert state() == before
    waiting = services.visible_batches(admin).get(pk=batch.pk)
    assert (waiting.status, waiting.effective_on, waiting.scheduled_by) == (
        BatchStatus.SCHEDULED,
        APRIL,
        admin,
    )


def test_a_cancelled_batch_never_applies(people):
    admin = people["admin"]
    batch = staff_batch(april_rows(), by=admin)
    services.schedule_batch(batch.pk, APRIL, by=admin)
    before = state()

    services.cancel_batch(batch.pk, by=admin)

    assert services.apply_due_batches(today=APRIL) == {}
    batch.refresh_from_db()
    assert (batch.status, batch.rows, batch.cancelled_by) == (BatchStatus.CANCELLED, [], admin)
    assert state() == before


def test_an_effective_date_in_the_past_is_refused(people):
    admin = people["admin"]
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    with pytest.raises(WorkflowError):
        services.upload_batch(staff_file(april_rows()), "staff", by=admin, effective_on=yesterday)
    batch = staff_batch(april_rows(), by=admin)

    with pytest.raises(WorkflowError):
        services.schedule_batch(batch.pk, yesterday, by=admin)

    assert list(PersonnelBatch.objects.values_list("status", flat=True)) == [BatchStatus.READY]


# Who may ------------------------------------------------------------------------------

NOT_THE_ADMIN = [
    "staff",
    "staff_somuka",
    "chief",
    "head",
    "other_head",
    "other_staff",
    "auditor",
    "ciso",
]


@pytest.mark.parametrize("persona", NOT_THE_ADMIN)
def test_only_the_programme_admin_may_upload_a_file(people, persona):
    with pytest.raises(PermissionDenied):
        services.upload_batch(
            staff_file(april_rows()), "staff", by=people[persona], effective_on=APRIL
        )
    assert not PersonnelBatch.objects.exists()
    assert not services.visible_batches(people[persona]).exists()


@pytest.mark.parametrize("persona", NOT_THE_ADMIN)
@pytest.mark.parametrize("action", ["schedule", "cancel"])
def test_only_the_programme_admin_may_schedule_or_cancel_a_batch(people, persona, action):
    batch = staff_batch(april_rows(), by=people["admin"])

    with pytest.raises(PermissionDenied):
        if action == "schedule":
            services.schedule_batch(batch.pk, APRIL, by=people[persona])
        else:
            services.cancel_batch(batch.pk, by=people[persona])

    assert PersonnelBatch.objects.get(pk=batch.pk).status == BatchStatus.READY
