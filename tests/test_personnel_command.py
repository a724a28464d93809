"""manage.py import_people FILE: checks a file of the personnel system and prints what it
would change, changing nothing; with --apply, applies it now (no date, or today) or
schedules it for --effective; a file with problems ends in an error that lists each of
them, with its row and column, and changes nothing. It acts as --by, a programme admin."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from isms.models import AuditAction, AuditEvent, BatchStatus, Department, PersonnelBatch, User

from .pages import ja
from .personnel_helpers import (
    APRIL,
    STAFF_HEADER,
    UNIT_HEADER,
    csv_bytes,
    fresh,
    inline,  # noqa: F401 - fixture
    person,
    unit,
)

# Uploads under a temporary MEDIA_ROOT; the jobs the command queues run in the process.
pytestmark = pytest.mark.usefixtures("inline")

ONE_DAY = datetime.timedelta(days=1)


@pytest.fixture
def numbered(people):
    """staff_joho (情報政策課) known to the personnel system as 1001."""
    staff = people["staff"]
    staff.staff_number = "1001"
    staff.save(update_fields=["staff_number"])
    return people


@pytest.fixture
def april_file(tmp_path):
    """staff_joho moves from 情報政策課 to 学校教育課; 2001 joins 総務課 as its 課長."""
    path = tmp_path / "april.csv"
    rows = [person("1001", "gakko", login="staff_joho"), person("2001", "somuka", post="課長")]
    path.write_bytes(csv_bytes(STAFF_HEADER, rows))
    return path


def run(*args):
    """The command's output; raises CommandError as the command line exits with 1."""
    out = StringIO()
    call_command("import_people", *[str(a) for a in args], stdout=out, stderr=StringIO())
    return out.getvalue()


def test_without_apply_it_prints_the_preview_and_changes_nothing(numbered, april_file):
    output = run(april_file, "--by", "admin")
    batch = PersonnelBatch.objects.get()
    assert f"batch #{batch.pk} (staff): ready" in output
    assert "people_moved: 1" in output
    assert "people_created: 1" in output
    assert "roles_given: 1" in output
    assert "Nothing changed" in output
    assert batch.status == BatchStatus.READY
    assert batch.original_name == "april.csv"
    assert batch.created_by == numbered["admin"]
    assert fresh(numbered["staff"]).section.code == "joho"
    assert not User.objects.filter(staff_number="2001").exists()


def test_apply_without_a_date_applies_the_file_now(numbered, april_file):
    output = run(april_file, "--by", "admin", "--apply")
    batch = PersonnelBatch.objects.get()
    assert f"batch #{batch.pk}: applied" in output
    assert batch.status == BatchStatus.APPLIED
    assert batch.effective_on == timezone.localdate()
    assert fresh(numbered["staff"]).section.code == "gakko"
    newcomer = User.objects.get(staff_number="2001")
    assert newcomer.role_assignments.get().role == "section_chief"
    assert AuditEvent.objects.filter(
        action=AuditAction.PERSONNEL_SCHEDULED, actor=numbered["admin"]
    ).exists()


def test_apply_with_a_later_effective_date_schedules_the_file(numbered, april_file):
    output = run(april_file, "--by", "admin", "--effective", "2027-04-01", "--apply")
    assert "Scheduled for 2027-04-01." in output
    batch = PersonnelBatch.objects.get()
    assert (batch.status, batch.effective_on, batch.scheduled_by) == (
        BatchStatus.SCHEDULED,
        APRIL,
        numbered["admin"],
    )
    assert fresh(numbered["staff"]).section.code == "joho"


def test_a_file_with_problems_ends_in_an_error_listing_each_and_changes_nothing(numbered, tmp_path):
    path = tmp_path / "bad.csv"
    rows = [
        person("1001", "nowhere", login="staff_joho"),
        person("2002", "somuka", email="not-an-address"),
    ]
    path.write_bytes(csv_bytes(STAFF_HEADER, rows))
    out = StringIO()
    with pytest.raises(CommandError, match="2 problems; nothing was changed"):
        call_command("import_people", str(path), "--by", "admin", "--apply", stdout=out)
    lines = out.getvalue().splitlines()
    assert any(line.strip().startswith("row 2 section:") for line in lines), lines
    assert any(line.strip().startswith("row 3 email:") for line in lines), lines
    assert PersonnelBatch.objects.get().status == BatchStatus.REJECTED
    assert fresh(numbered["staff"]).section.code == "joho"
    assert not User.objects.filter(staff_number="2002").exists()


def test_an_organisation_file_is_recognised_by_its_header(people, tmp_path):
    path = tmp_path / "org.csv"
    path.write_bytes(csv_bytes(UNIT_HEADER, [unit("dx", "DX推進課", "課", "somu")]))
    output = run(path, "--by", "admin", "--apply")
    batch = PersonnelBatch.objects.get()
    assert batch.kind == "organisation"
    assert f"batch #{batch.pk}: applied" in output
    assert Department.objects.get(code="dx").parent.code == "somu"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--effective", "notadate"], "not a date"),
        (["--effective", "yesterday"], ja("The effective date cannot lie in the past.")),
        (["--by", "staff_joho"], "programme admin"),
        (["--by", "nobody"], "programme admin"),
    ],
)
def test_a_bad_date_or_someone_not_the_programme_admin_is_an_error(
    people, april_file, args, message
):
    args = ["--by", "admin", *args] if "--by" not in args else args
    if "yesterday" in args:
        args[args.index("yesterday")] = (timezone.localdate() - ONE_DAY).isoformat()
    with pytest.raises(CommandError, match=message):
        run(april_file, *args)
    assert not PersonnelBatch.objects.exists()


def test_without_by_it_needs_a_single_superuser(people, april_file):
    with pytest.raises(CommandError, match="--by"):
        run(april_file)
    assert not PersonnelBatch.objects.exists()
    User.objects.filter(pk=people["admin"].pk).update(is_superuser=True)
    assert "ready" in run(april_file)
    assert PersonnelBatch.objects.get().created_by == people["admin"]


def test_a_missing_file_or_an_xlsx_without_its_kind_is_an_error(people, tmp_path):
    with pytest.raises(CommandError):
        run(tmp_path / "missing.csv", "--by", "admin")
    xlsx = tmp_path / "april.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(CommandError, match="--kind"):
        run(xlsx, "--by", "admin")
    assert not PersonnelBatch.objects.exists()
