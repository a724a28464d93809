"""The April transfer in the browser: the programme admin uploads the personnel system's
file, reads the preview, fixes a row the check refused, schedules it for 1 April; on that
day the job applies it, and a member of staff who moved finds the new department's
procedure waiting for them, due a month after the move."""

import datetime

import pytest
from celery import current_app
from playwright.sync_api import expect

from isms.eras import to_era
from isms.models import BatchStatus, PersonnelBatch
from isms.personnel import services

from .browser import PHONE, assert_fits_the_screen
from .personnel_helpers import APRIL, STAFF_HEADER, csv_bytes, person


@pytest.fixture
def jobs_inline(monkeypatch, settings, tmp_path):
    """The check job runs in the live server's thread when the upload commits."""
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(current_app.conf, "task_always_eager", True)


def upload(page, rows, name):
    page.goto("/people/imports/")
    page.get_by_label("職員").check()
    page.set_input_files(
        "#id_file",
        files=[{"name": name, "mimeType": "text/csv", "buffer": csv_bytes(STAFF_HEADER, rows)}],
    )
    page.fill("#id_effective_on", APRIL.isoformat())
    page.get_by_role("button", name="ファイルを確認").click()


def test_the_admin_previews_fixes_and_schedules_an_april_file_that_then_reaches_the_mover(
    people_live, documents_live, procedure, log_in, jobs_inline, live_server
):
    admin = log_in("admin")
    moved = person("300001", "somuka", family="明野", given="四郎", login="staff_kyoiku")
    newcomer = person("300002", "nowhere", family="賀来", given="誠")

    upload(admin, [moved, newcomer], "april.csv")
    problems = admin.get_by_test_id("batch-errors")
    expect(problems).to_contain_text("section")
    expect(problems.locator("tbody tr")).to_have_count(1)
    expect(problems.locator("tbody tr td").first).to_have_text("3")
    assert PersonnelBatch.objects.get().status == BatchStatus.REJECTED

    newcomer[6] = "gakko"
    upload(admin, [moved, newcomer], "april-fixed.csv")
    expect(admin.get_by_test_id("batch")).to_have_attribute("data-status", "ready")
    moves = admin.get_by_test_id("preview-people_moved")
    expect(moves).to_contain_text("学校教育課")
    expect(moves).to_contain_text("総務課")
    expect(admin.locator('[data-count="people_created"]')).to_have_text("1")

    admin.fill("#id_effective_on", APRIL.isoformat())
    admin.get_by_role("button", name="予定する").click()
    expect(admin.get_by_test_id("batch")).to_have_attribute("data-status", "scheduled")
    expect(admin.get_by_test_id("effective-on")).to_have_text(to_era(APRIL))

    phone = log_in("admin", **PHONE)
    phone.goto(admin.url.removeprefix(live_server.url))
    assert_fits_the_screen(phone)

    # The clock moves to 1 April: the midnight job applies the batch.
    assert services.apply_due_batches(today=APRIL - datetime.timedelta(days=1)) == {}
    assert set(services.apply_due_batches(today=APRIL).values()) == {BatchStatus.APPLIED}

    staff = log_in("staff_kyoiku")
    pending = staff.get_by_test_id("pending-panel")
    expect(pending).to_contain_text(procedure.title)
    due = APRIL + datetime.timedelta(days=30)
    expect(pending.locator("li", has_text=procedure.title)).to_contain_text(to_era(due))
