"""People and organisation on the programme admin's pages: a file of the personnel system
uploaded and checked into a preview (or every problem with its row and column), then
scheduled for its date, applied at once (today) or cancelled; the organisation tree with
each unit's members, a unit's members and history, a person's postings.

Only the programme admin opens them: an anonymous visitor is sent to log in, every other
persona gets 403 and changes nothing. The pages run a fixed number of queries however
large the city, and render in Japanese, the default language.
"""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone

from isms.eras import to_era
from isms.models import BatchStatus, Department, PersonnelBatch, Posting, UnitChange, User

from .conftest import ROLES
from .pages import is_login_redirect, ja, main_text, messages, page
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
    unit,
    unit_file,
)

# Uploads under a temporary MEDIA_ROOT; the check and apply jobs run in the process.
pytestmark = pytest.mark.usefixtures("inline")

BATCHES = "/people/imports/"
ORGANISATION = "/organisation/"
ONE_DAY = datetime.timedelta(days=1)

# The most queries each page may run: the figures measured (7, 7 and 9), the same with the
# shared city as with 30 more people, 5 more units and 25 more batches, and one to spare. A
# query per unit, person or batch would overshoot them by five at least.
ORGANISATION_QUERIES = 8
BATCH_LIST_QUERIES = 8
UNIT_PAGE_QUERIES = 10


def today():
    return timezone.localdate()


@pytest.fixture
def numbered(people):
    """staff_joho (情報政策課) known to the personnel system as 1001."""
    staff = people["staff"]
    staff.staff_number = "1001"
    staff.save(update_fields=["staff_number"])
    return people


def april_rows():
    """staff_joho moves from 情報政策課 to 学校教育課; 2001 joins 総務課 as its 課長."""
    return [person("1001", "gakko", login="staff_joho"), person("2001", "somuka", post="課長")]


@pytest.fixture
def ready_batch(numbered):
    return staff_batch(april_rows(), by=numbered["admin"])


def batch_url(batch, action=""):
    return f"{BATCHES}{batch.pk}/{action + '/' if action else ''}"


def upload(client, uploaded, *, kind="staff", effective_on="2027-04-01", run=True):
    """POST the upload form; with run=True the check job runs when the request commits."""
    data = {"kind": kind, "effective_on": effective_on}
    if uploaded is not None:
        data["file"] = uploaded
    if not run:
        return client.post(BATCHES, data)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(BATCHES, data)


def status_of(response):
    return page(response).find(testid="batch").attrs["data-status"]


def count_of(response, key):
    return page(response).find("td", data_count=key).text


def preview_rows(response, key):
    section = page(response).find(testid=f"preview-{key}")
    assert section is not None, f"the preview lists no {key}"
    return [[td.text for td in tr.find_all("td")] for tr in section.find("tbody").find_all("tr")]


def problems(response):
    """(row, column, message) of the problems listed on a batch page."""
    section = page(response).find(testid="batch-errors")
    assert section is not None, "the page lists no problem"
    return [
        tuple(td.text for td in tr.find_all("td")) for tr in section.find("tbody").find_all("tr")
    ]


def table_rows(response, testid):
    table = page(response).find("table", testid=testid)
    assert table is not None, f"the page shows no {testid} table"
    return table.find("tbody").find_all("tr")


def field(response, name):
    """The form field's wrapper (label, input, help and errors) on the upload form."""
    form = page(response).find(testid="upload-form")
    for wrapper in form.find_all("div", cls="field"):
        if wrapper.find("input", name=name):
            return wrapper
    raise AssertionError(f"the form has no field {name}")


def field_errors(response, name):
    return [p.text for p in field(response, name).find_all("p", cls="error")]


def chosen_kind(response):
    checked_inputs = [
        i.attrs["value"]
        for i in page(response).find_all("input", name="kind")
        if "checked" in i.attrs
    ]
    assert len(checked_inputs) == 1, checked_inputs
    return checked_inputs[0]


def date_value(response):
    return (
        page(response)
        .find(testid="upload-form")
        .find("input", name="effective_on")
        .attrs.get("value", "")
    )


# --- only the programme admin -------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_page_opens_for_the_programme_admin_alone(as_role, ready_batch, people, role):
    urls = [
        BATCHES,
        batch_url(ready_batch),
        ORGANISATION,
        f"{ORGANISATION}joho/",
        f"/people/{people['staff'].pk}/postings/",
    ]
    client = as_role(role)
    for url in urls:
        response = client.get(url)
        if role == "admin":
            assert response.status_code == 200, url
        elif role == "anonymous":
            assert is_login_redirect(response, url), url
        else:
            assert response.status_code == 403, url


@pytest.mark.parametrize("role", ROLES)
def test_only_the_programme_admin_uploads_a_file(as_role, numbered, role):
    response = upload(as_role(role), staff_file(april_rows()))
    if role == "admin":
        batch = PersonnelBatch.objects.get()
        assert response.status_code == 302
        assert response["Location"] == batch_url(batch)
        assert batch.status == BatchStatus.READY
    else:
        if role == "anonymous":
            assert is_login_redirect(response, BATCHES)
        else:
            assert response.status_code == 403
        assert not PersonnelBatch.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_only_the_programme_admin_schedules_a_batch(as_role, ready_batch, role):
    url = batch_url(ready_batch, "schedule")
    response = as_role(role).post(url, {"effective_on": APRIL.isoformat()})
    batch = PersonnelBatch.objects.get()
    if role == "admin":
        assert response.status_code == 302
        assert batch.status == BatchStatus.SCHEDULED
    else:
        if role == "anonymous":
            assert is_login_redirect(response, url)
        else:
            assert response.status_code == 403
        assert (batch.status, batch.scheduled_by) == (BatchStatus.READY, None)


@pytest.mark.parametrize("role", ROLES)
def test_only_the_programme_admin_cancels_a_batch(as_role, ready_batch, role):
    url = batch_url(ready_batch, "cancel")
    response = as_role(role).post(url)
    batch = PersonnelBatch.objects.get()
    if role == "admin":
        assert response.status_code == 302
        assert batch.status == BatchStatus.CANCELLED
    else:
        if role == "anonymous":
            assert is_login_redirect(response, url)
        else:
            assert response.status_code == 403
        assert batch.status == BatchStatus.READY


def test_scheduling_and_cancelling_take_a_post_only(as_role, ready_batch):
    client = as_role("admin")
    assert client.get(batch_url(ready_batch, "schedule")).status_code == 405
    assert client.get(batch_url(ready_batch, "cancel")).status_code == 405
    assert PersonnelBatch.objects.get().status == BatchStatus.READY


def test_an_unknown_batch_unit_or_person_is_404(as_role):
    client = as_role("admin")
    assert client.get(f"{BATCHES}999999/").status_code == 404
    assert (
        client.post(f"{BATCHES}999999/schedule/", {"effective_on": "2027-04-01"}).status_code == 404
    )
    assert client.post(f"{BATCHES}999999/cancel/").status_code == 404
    assert client.get(f"{ORGANISATION}no-such-unit/").status_code == 404
    assert client.get("/people/999999/postings/").status_code == 404


# --- upload: the preview, or every problem -------------------------------------------------


def test_an_upload_shows_while_it_is_checked_a_page_that_reloads_itself(as_role, numbered):
    client = as_role("admin")
    response = upload(client, staff_file(april_rows()), run=False)
    assert response["Location"] == batch_url(PersonnelBatch.objects.get())
    response = client.get(response["Location"])
    assert status_of(response) == "checking"
    assert response["Refresh"] == "2"
    assert page(response).find(testid="cancel-form") is None
    assert page(response).find(testid="schedule-form") is None


def test_an_upload_shows_the_preview_counts_the_moved_persons_units_and_the_new_roles(
    as_role, numbered
):
    client = as_role("admin")
    response = upload(client, staff_file(april_rows()))
    response = client.get(response["Location"])
    assert response.status_code == 200
    assert status_of(response) == "ready"
    assert not response.has_header("Refresh")
    assert page(response).find(testid="effective-on").text == to_era(APRIL)
    assert count_of(response, "people_created") == "1"
    assert count_of(response, "people_moved") == "1"
    assert count_of(response, "roles_given") == "1"
    assert count_of(response, "roles_taken") == "0"
    assert count_of(response, "people_leaving") == "0"
    assert preview_rows(response, "people_moved") == [
        ["1001", "大分 太郎", "joho 情報政策課", "gakko 学校教育課", "主事"]
    ]
    assert preview_rows(response, "people_created") == [
        ["2001", "大分 太郎", "somuka 総務課", "課長"]
    ]
    assert preview_rows(response, "roles") == [
        ["2001", "大分 太郎", f"{ja('Section chief (情報セキュリティ管理者)')} somuka 総務課", ""]
    ]
    assert page(response).find(testid="schedule-form") is not None
    assert page(response).find(testid="cancel-form") is not None
    # Nothing is written before the batch applies.
    assert fresh(numbered["staff"]).section.code == "joho"
    assert not User.objects.filter(staff_number="2001").exists()


def test_the_preview_shows_a_leaver_s_last_day_and_the_role_a_moving_chief_gives_back(
    as_role, numbered
):
    for key, number in (("chief", "1003"), ("staff_somuka", "1002")):
        numbered[key].staff_number = number
        numbered[key].save(update_fields=["staff_number"])
    rows = [
        person("1003", "gakko", login="chief_joho"),
        person("1002", "somuka", login="staff_somuka", end=MARCH_31.isoformat()),
    ]
    client = as_role("admin")
    response = client.get(upload(client, staff_file(rows))["Location"])
    assert status_of(response) == "ready"
    assert count_of(response, "people_leaving") == "1"
    assert count_of(response, "roles_taken") == "1"
    assert preview_rows(response, "people_leaving") == [["1002", "大分 太郎", "令和9年3月31日"]]
    assert preview_rows(response, "roles") == [
        ["1003", "大分 太郎", "", f"{ja('Section chief (情報セキュリティ管理者)')} joho 情報政策課"]
    ]
    assert preview_rows(response, "people_moved")[0][2:4] == ["joho 情報政策課", "gakko 学校教育課"]


def test_an_organisation_file_previews_the_units_created_renamed_merged_and_ended(as_role, org):
    Department.objects.create(code="spare", name="予備課", kind="section", parent=org["somu"])
    rows = [
        unit("dx", "DX推進課", "課", "somu"),
        unit("gakko", "学校教育総務課", "課", "kyoiku"),
        unit("somuka", "総務課", "課", "somu", until=MARCH_31.isoformat(), successor="joho"),
        unit("spare", "予備課", "課", "somu", until=MARCH_31.isoformat()),
    ]
    client = as_role("admin")
    response = client.get(upload(client, unit_file(rows), kind="organisation")["Location"])
    assert status_of(response) == "ready"
    assert [count_of(response, key) for key in ("units_created", "units_renamed")] == ["1", "1"]
    assert [count_of(response, key) for key in ("units_merged", "units_ended")] == ["1", "1"]
    assert preview_rows(response, "units_created") == [["dx", "DX推進課", "somu"]]
    assert preview_rows(response, "units_changed") == [
        ["gakko", "学校教育課", "名称: 学校教育課 → 学校教育総務課"]
    ]
    assert preview_rows(response, "units_merged") == [
        ["somuka", "総務課", "令和9年3月31日", "joho 情報政策課", "1"]
    ]
    assert preview_rows(response, "units_ended") == [["spare", "予備課", "令和9年3月31日"]]
    assert not Department.objects.filter(code="dx").exists()


def test_an_applied_batch_shows_what_it_changed(as_role, ready_batch, numbered):
    applied(ready_batch, by=numbered["admin"])
    response = as_role("admin").get(batch_url(ready_batch))
    assert status_of(response) == "applied"
    assert page(response).find(testid="preview").find("h2").text == ja("What it changed")
    assert preview_rows(response, "people_moved")[0][2:4] == ["joho 情報政策課", "gakko 学校教育課"]
    assert page(response).find(testid="cancel-form") is None


def test_the_uploaded_batch_is_listed_with_its_file_and_status(as_role, ready_batch):
    response = as_role("admin").get(BATCHES)
    rows = table_rows(response, "batches")
    assert len(rows) == 1
    cells = [td.text for td in rows[0].find_all("td")]
    assert cells[0] == str(ready_batch.pk)
    assert cells[2] == "april.csv"
    assert cells[4] == to_era(APRIL)
    assert cells[5] == ja("Ready to apply")


def test_a_file_with_problems_shows_each_with_its_row_and_column_and_changes_nothing(
    as_role, numbered
):
    rows = [
        person("1001", "nowhere", login="staff_joho"),
        person("20 01", "somuka", email="2001@city.example.jp"),
        person("2002", "somuka", email="not-an-address"),
        person("2003", "gakko", start="2027-13-01"),
    ]
    client = as_role("admin")
    response = client.get(upload(client, staff_file(rows))["Location"])
    assert status_of(response) == "rejected"
    found = problems(response)
    assert [(row, column) for row, column, _message in found] == [
        ("3", "staff_number"),
        ("4", "email"),
        ("5", "start_date"),
        ("2", "section"),
    ]
    messages_by_place = {(row, column): message for row, column, message in found}
    assert messages_by_place[("2", "section")] == ja("No unit has this code.")
    assert messages_by_place[("4", "email")] == ja("Not an e-mail address.")
    assert page(response).find(testid="batch-result").text == ja(
        "Nothing was changed: fix the rows below and upload the corrected file."
    )
    assert page(response).find(testid="preview") is None
    assert page(response).find(testid="schedule-form") is None
    assert fresh(numbered["staff"]).section.code == "joho"
    assert not User.objects.filter(staff_number__in=["2002", "2003"]).exists()


def test_an_upload_without_a_file_is_refused_keeping_what_was_chosen(as_role):
    response = upload(as_role("admin"), None, kind="organisation", effective_on="2027-04-01")
    assert response.status_code == 400
    assert field_errors(response, "file") == [ja("This field is required.")]
    assert chosen_kind(response) == "organisation"
    assert date_value(response) == "2027-04-01"
    assert not PersonnelBatch.objects.exists()


def test_an_effective_date_in_the_past_is_refused_at_its_field_and_nothing_is_stored(
    as_role, numbered, settings
):
    yesterday = (today() - ONE_DAY).isoformat()
    response = upload(
        as_role("admin"),
        unit_file([unit("dx", "DX推進課", "課", "somu")]),
        kind="organisation",
        effective_on=yesterday,
    )
    assert response.status_code == 400
    assert field_errors(response, "effective_on") == [
        ja("The effective date cannot lie in the past.")
    ]
    assert "has-error" in field(response, "effective_on").classes
    assert chosen_kind(response) == "organisation"
    assert date_value(response) == yesterday
    assert not PersonnelBatch.objects.exists()
    stored = settings.MEDIA_ROOT / "personnel"
    assert not stored.exists() or not any(stored.rglob("*.csv"))


def test_a_file_that_is_not_csv_or_xlsx_is_refused_at_its_field(as_role):
    response = upload(
        as_role("admin"), SimpleUploadedFile("april.pdf", b"%PDF-1.4", "application/pdf")
    )
    assert response.status_code == 400
    assert field_errors(response, "file") == [ja("Upload a CSV or xlsx file.")]
    assert chosen_kind(response) == "staff"
    assert not PersonnelBatch.objects.exists()


def test_an_empty_post_is_refused_with_the_errors_rather_than_shown_as_the_empty_form(as_role):
    response = as_role("admin").post(BATCHES, {})
    assert response.status_code == 400
    assert field_errors(response, "file") == [ja("This field is required.")]
    assert not PersonnelBatch.objects.exists()


# --- schedule, apply, cancel ---------------------------------------------------------------


def test_scheduling_a_ready_batch_for_a_later_day_shows_it_scheduled_and_changes_nothing_yet(
    as_role, ready_batch, numbered
):
    client = as_role("admin")
    response = client.post(
        batch_url(ready_batch, "schedule"), {"effective_on": "2027-04-01"}, follow=True
    )
    assert response.redirect_chain == [(batch_url(ready_batch), 302)]
    assert status_of(response) == "scheduled"
    assert page(response).find(testid="effective-on").text == to_era(APRIL)
    assert to_era(APRIL) in page(response).find(testid="batch-result").text
    assert messages(response) == [("success", ja("The batch is scheduled."))]
    # It can still be moved to another day or cancelled.
    assert page(response).find(testid="schedule-form") is not None
    assert page(response).find(testid="cancel-form") is not None
    batch = PersonnelBatch.objects.get()
    assert (batch.scheduled_by, batch.effective_on) == (numbered["admin"], APRIL)
    assert fresh(numbered["staff"]).section.code == "joho"


def test_scheduling_a_batch_for_today_applies_it_at_once(as_role, ready_batch, numbered):
    client = as_role("admin")
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            batch_url(ready_batch, "schedule"), {"effective_on": today().isoformat()}
        )
    response = client.get(response["Location"])
    assert status_of(response) == "applied"
    assert messages(response) == [("success", ja("The batch is being applied now."))]
    assert page(response).find(testid="cancel-form") is None
    assert page(response).find(testid="schedule-form") is None
    assert fresh(numbered["staff"]).section.code == "gakko"
    newcomer = User.objects.get(staff_number="2001")
    assert newcomer.section.code == "somuka"
    assert newcomer.role_assignments.get().role == "section_chief"


@pytest.mark.parametrize(
    "value, message",
    [
        ("yesterday", "The effective date cannot lie in the past."),
        ("notadate", "Enter a valid date."),
        ("", "This field is required."),
    ],
)
def test_a_bad_date_to_schedule_is_shown_and_the_batch_stays_ready(
    as_role, ready_batch, value, message
):
    if value == "yesterday":
        value = (today() - ONE_DAY).isoformat()
    response = as_role("admin").post(
        batch_url(ready_batch, "schedule"), {"effective_on": value}, follow=True
    )
    assert response.status_code == 200
    assert messages(response) == [("error", ja(message))]
    assert status_of(response) == "ready"
    assert PersonnelBatch.objects.get().scheduled_by is None


def test_a_rejected_batch_cannot_be_scheduled(as_role, people):
    batch = checked(staff_file([person("1001", "nowhere")]), "staff", by=people["admin"])
    assert batch.status == BatchStatus.REJECTED
    response = as_role("admin").post(
        batch_url(batch, "schedule"), {"effective_on": "2027-04-01"}, follow=True
    )
    assert messages(response) == [
        ("error", ja("Only a checked batch without problems can be scheduled."))
    ]
    assert status_of(response) == "rejected"


def test_a_batch_is_cancelled_once_and_a_second_cancel_says_so(as_role, ready_batch):
    client = as_role("admin")
    response = client.post(batch_url(ready_batch, "cancel"), follow=True)
    assert status_of(response) == "cancelled"
    assert messages(response) == [
        ("success", ja("The batch is cancelled; it will not be applied."))
    ]
    assert page(response).find(testid="cancel-form") is None
    assert page(response).find(testid="schedule-form") is None
    batch = PersonnelBatch.objects.get()
    assert batch.rows == []

    response = client.post(batch_url(ready_batch, "cancel"), follow=True)
    assert response.status_code == 200
    assert messages(response) == [
        ("error", ja("This batch has been applied or cancelled already."))
    ]
    assert status_of(response) == "cancelled"
    assert PersonnelBatch.objects.get().finished_at == batch.finished_at


def test_a_cancelled_batch_cannot_be_scheduled(as_role, ready_batch):
    client = as_role("admin")
    client.post(batch_url(ready_batch, "cancel"), follow=True)
    response = client.post(
        batch_url(ready_batch, "schedule"), {"effective_on": "2027-04-01"}, follow=True
    )
    assert messages(response) == [
        ("error", ja("Only a checked batch without problems can be scheduled."))
    ]
    assert status_of(response) == "cancelled"


# --- the organisation, a unit, a person ----------------------------------------------------


@pytest.fixture
def merged(people):
    """Applied today: 総務課 merged into 情報政策課 as of yesterday (its one member moves
    there), and a new DX推進課 under 総務部."""
    batch = checked(
        unit_file(
            [
                unit(
                    "somuka",
                    "総務課",
                    "課",
                    "somu",
                    until=(today() - ONE_DAY).isoformat(),
                    successor="joho",
                ),
                unit("dx", "DX推進課", "課", "somu"),
            ]
        ),
        "organisation",
        by=people["admin"],
    )
    assert batch.status == BatchStatus.READY, batch.errors
    batch = applied(batch, by=people["admin"], on=today())
    assert batch.status == BatchStatus.APPLIED, batch.errors
    return batch


def organisation_rows(response):
    """code -> (name, member count, valid, ended?) of the organisation table."""
    found = {}
    for tr in table_rows(response, "organisation"):
        name, code, _kind, members, valid = (td.text for td in tr.find_all("td"))
        found[code] = (name, int(members), valid, "ended" in tr.classes)
    return found


def test_the_organisation_lists_every_unit_with_its_member_count(as_role, people):
    response = as_role("admin").get(ORGANISATION)
    rows = organisation_rows(response)
    assert {code: members for code, (_n, members, _v, _e) in rows.items()} == {
        "mayor": 1,  # ciso
        "somu": 1,  # head_somu
        "joho": 3,  # staff_joho, chief_joho, admin
        "somuka": 1,
        "board": 0,
        "kyoiku": 1,
        "gakko": 1,
        "kansa": 0,
        "kansa-ka": 1,
    }
    # The tree's order: each unit after its parent.
    codes = list(rows)
    assert codes.index("mayor") < codes.index("somu") < codes.index("joho")
    assert codes.index("board") < codes.index("kyoiku") < codes.index("gakko")
    assert not any(ended for *_rest, ended in rows.values())
    assert rows["joho"][2] == ja("current")


def test_the_organisation_marks_an_ended_unit_and_names_its_successor(as_role, merged):
    rows = organisation_rows(as_role("admin").get(ORGANISATION))
    name, members, valid, ended = rows["somuka"]
    assert ended and members == 0
    assert to_era(today() - ONE_DAY) in valid and "情報政策課" in valid
    assert rows["joho"][1:] == (4, ja("current"), False)
    assert rows["dx"] == ("DX推進課", 0, ja("current"), False)


def test_a_units_page_lists_its_members_and_links_their_postings(as_role, people):
    response = as_role("admin").get(f"{ORGANISATION}joho/")
    assert response.status_code == 200
    members = {
        tr.find_all("td")[1].text: tr.find("a").attrs["href"]
        for tr in table_rows(response, "members")
    }
    assert members == {
        str(people[key]): f"/people/{people[key].pk}/postings/"
        for key in ("staff", "chief", "admin")
    }
    assert "総務部" in main_text(response)  # its parent


def test_a_units_members_are_searched_by_name_login_or_staff_number(as_role, numbered):
    client = as_role("admin")
    names = [
        tr.find_all("td")[1].text
        for tr in table_rows(client.get(f"{ORGANISATION}joho/?q=chief"), "members")
    ]
    assert names == [str(numbered["chief"])]
    names = [
        tr.find_all("td")[1].text
        for tr in table_rows(client.get(f"{ORGANISATION}joho/?q=1001"), "members")
    ]
    assert names == [str(numbered["staff"])]
    rows = table_rows(client.get(f"{ORGANISATION}joho/?q=nobody-at-all"), "members")
    assert [tr.text for tr in rows] == [ja("Nobody.")]


def test_a_search_with_a_nul_character_is_answered_not_a_server_error(as_role, people):
    response = as_role("admin").get(f"{ORGANISATION}joho/", {"q": "chief\x00"})
    assert response.status_code == 200
    names = [tr.find_all("td")[1].text for tr in table_rows(response, "members")]
    assert names == [str(people["chief"])]


def test_a_units_members_are_paginated_and_the_search_is_kept_across_pages(as_role, org):
    User.objects.bulk_create(
        User(username=f"member{n:03d}", display_name=f"課員{n:03d}", section=org["gakko"])
        for n in range(60)
    )
    client = as_role("admin")
    first = client.get(f"{ORGANISATION}gakko/", {"q": "課員"})
    assert len(table_rows(first, "members")) == 50
    pages = page(first).find("nav", cls="pagination")
    assert pages is not None
    next_link = pages.find("a").attrs["href"]
    assert next_link == "?q=%E8%AA%B2%E5%93%A1&page=2"
    second = client.get(f"{ORGANISATION}gakko/{next_link}")
    assert len(table_rows(second, "members")) == 10
    assert client.get(f"{ORGANISATION}gakko/?page=abc").status_code == 200


def test_a_units_page_shows_its_history(as_role, merged):
    client = as_role("admin")
    joho = client.get(f"{ORGANISATION}joho/")
    history = [[td.text for td in tr.find_all("td")] for tr in table_rows(joho, "unit-history")]
    assert len(history) == 1
    effective, change, _details, batch = history[0]
    assert effective == to_era(today())
    assert "総務課" in change
    assert batch == f"#{merged.pk}"

    somuka = client.get(f"{ORGANISATION}somuka/")
    history = [[td.text for td in tr.find_all("td")] for tr in table_rows(somuka, "unit-history")]
    assert [row[1] for row in history] == [f"{ja('Merged into its successor')} (情報政策課)"]
    assert [tr.text for tr in table_rows(somuka, "members")] == [ja("Nobody.")]
    assert "情報政策課" in page(somuka).find("dl").text  # its successor

    dx = client.get(f"{ORGANISATION}dx/")
    history = [[td.text for td in tr.find_all("td")] for tr in table_rows(dx, "unit-history")]
    assert [row[1] for row in history] == [ja("Created")]
    assert UnitChange.objects.filter(unit__code__in=["joho", "somuka", "dx"]).count() == 3


def test_a_unit_without_history_says_so(as_role, people):
    rows = table_rows(as_role("admin").get(f"{ORGANISATION}gakko/"), "unit-history")
    assert [tr.text for tr in rows] == [ja("No change recorded.")]


def test_a_persons_postings_page_lists_their_postings_newest_first(as_role, ready_batch, numbered):
    applied(ready_batch, by=numbered["admin"])
    staff = numbered["staff"]
    response = as_role("admin").get(f"/people/{staff.pk}/postings/")
    assert response.status_code == 200
    rows = [[td.text for td in tr.find_all("td")] for tr in table_rows(response, "postings")]
    postings = list(Posting.objects.filter(user=staff))
    assert len(rows) == len(postings) == 2
    (frm, until, unit_name, post, _kind, batch), older = rows
    assert (frm, until, unit_name, post, batch) == (
        to_era(APRIL),
        "—",
        "学校教育課",
        "主事",
        f"#{ready_batch.pk}",
    )
    assert older[1] == to_era(MARCH_31) and older[2] == "情報政策課"
    assert f"/people/imports/{ready_batch.pk}/" in [
        a.attrs["href"] for a in page(response).find("table", testid="postings").find_all("a")
    ]
    assert "1001" in page(response).find("dl").text


def test_a_person_without_a_posting_says_so(as_role, db, people):
    loner = User.objects.create(username="loner", display_name="所属なし")
    response = as_role("admin").get(f"/people/{loner.pk}/postings/")
    assert [tr.text for tr in table_rows(response, "postings")] == [ja("No posting recorded.")]


# --- in Japanese ---------------------------------------------------------------------------


def test_every_page_renders_in_japanese_the_default_language(as_role, merged, numbered):
    batch = staff_batch(april_rows(), by=numbered["admin"])
    rejected = checked(staff_file([person("1001", "nowhere")]), "staff", by=numbered["admin"])
    client = as_role("admin")
    for url in (
        BATCHES,
        batch_url(batch),
        batch_url(rejected),
        batch_url(merged),
        ORGANISATION,
        f"{ORGANISATION}joho/",
        f"{ORGANISATION}somuka/",
        f"/people/{numbered['staff'].pk}/postings/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert page(response).find("html").attrs["lang"] == "ja", url
    assert to_era(APRIL) == "令和9年4月1日"
    assert to_era(APRIL) in main_text(client.get(batch_url(batch)))
    assert to_era(APRIL) in main_text(client.get(BATCHES))


# --- a fixed number of queries --------------------------------------------------------------


def more_of_the_city(org, admin, *, people=30, units=5, batches=25):
    """30 more people (some in new units), 5 more units, 25 more batches by several
    uploaders, some scheduled."""
    new_units = [
        Department.objects.create(
            code=f"extra-{n}", name=f"臨時課{n}", kind="section", parent=org["somu"]
        )
        for n in range(units)
    ]
    sections = [org["joho"], org["gakko"], *new_units]
    uploaders = User.objects.bulk_create(
        User(
            username=f"extra{n:03d}",
            display_name=f"職員{n:03d}",
            staff_number=f"9{n:03d}",
            section=sections[n % len(sections)],
        )
        for n in range(people)
    )
    PersonnelBatch.objects.bulk_create(
        PersonnelBatch(
            kind="staff",
            status=BatchStatus.SCHEDULED if n % 2 else BatchStatus.READY,
            original_name=f"file{n}.csv",
            sha256="0" * 64,
            effective_on=APRIL,
            created_by=uploaders[n % len(uploaders)],
            scheduled_by=admin if n % 2 else None,
        )
        for n in range(batches)
    )


def test_the_organisation_page_runs_a_fixed_number_of_queries_however_large_the_city(
    as_role, org, people, django_assert_max_num_queries
):
    client = as_role("admin")
    with django_assert_max_num_queries(ORGANISATION_QUERIES):
        assert client.get(ORGANISATION).status_code == 200
    more_of_the_city(org, people["admin"])
    with django_assert_max_num_queries(ORGANISATION_QUERIES):
        response = client.get(ORGANISATION)
    assert len(table_rows(response, "organisation")) == 9 + 5


def test_the_batch_list_runs_a_fixed_number_of_queries_however_many_batches(
    as_role, org, ready_batch, people, django_assert_max_num_queries
):
    client = as_role("admin")
    with django_assert_max_num_queries(BATCH_LIST_QUERIES):
        assert client.get(BATCHES).status_code == 200
    more_of_the_city(org, people["admin"])
    with django_assert_max_num_queries(BATCH_LIST_QUERIES):
        response = client.get(BATCHES)
    assert len(table_rows(response, "batches")) == 20


def test_a_units_page_runs_a_fixed_number_of_queries_however_many_members(
    as_role, org, merged, people, django_assert_max_num_queries
):
    client = as_role("admin")
    with django_assert_max_num_queries(UNIT_PAGE_QUERIES):
        assert client.get(f"{ORGANISATION}joho/").status_code == 200
    more_of_the_city(org, people["admin"])
    with django_assert_max_num_queries(UNIT_PAGE_QUERIES):
        response = client.get(f"{ORGANISATION}joho/")
    assert len(table_rows(response, "members")) == 4 + 5
