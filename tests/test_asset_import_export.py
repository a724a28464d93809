"""Importing the register from CSV and Excel, and exporting it again.

An import is all or nothing: each problem is reported with its spreadsheet row (the header
is row 1), its column and what is wrong, and nothing is written unless every row passes.
The page and the API hand the file to an import job and answer at once with it; here the
job runs inline when the request commits, as without Redis (tests/test_import_jobs.py
runs it on a real worker). An export holds only what the person may see, honours the
register's filters, and can be edited and imported again.
"""

import csv
import datetime
import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl import Workbook, load_workbook

from assets import transfer
from assets.access import visible_assets
from assets.models import Asset, AssetChange, AssetStatus, ChangeKind
from isms.celery import app as celery_app
from isms.models import AuditEvent

from .pages import is_login_redirect, ja, page

COLUMNS = transfer.COLUMNS
IMPORT_PAGE = "/assets/import/"
IMPORT_API = "/api/assets/import/"


# --- building files ---------------------------------------------------------------------


def good_row(number=1, **overrides):
    """A valid row for 情報政策課 (which chief_joho manages)."""
    row = {
        "name": f"資産{number}",
        "kind": "system",
        "section": "joho",
        "confidentiality": "2",
        "integrity": "1",
        "availability": "1",
        "tier": "lgwan",
        "personal_data": "0",
        "my_number": "0",
    }
    row.update(overrides)
    return row


def csv_text(rows, header=None, *, line_terminator="\r\n"):
    header = header or COLUMNS
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_terminator)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue()


def csv_file(rows, header=None, *, name="assets.csv", encoding="utf-8"):
    return SimpleUploadedFile(
        name, csv_text(rows, header).encode(encoding), content_type="text/csv"
    )


def xlsx_bytes(rows, header=None):
    header = header or COLUMNS
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(column) for column in header])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_file(rows, header=None, *, name="assets.xlsx"):
    return SimpleUploadedFile(
        name,
        xlsx_bytes(rows, header),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def three_rows_with_bad_second(**bad):
    """Rows 2 and 4 (spreadsheet numbering) are valid; row 3 carries the problem."""
    return [good_row(1), good_row(2, **bad), good_row(3)]


# --- importing, with the job run inline ------------------------------------------------


@pytest.fixture(autouse=True)
def jobs_run_inline(monkeypatch, settings, tmp_path):
    """As without Redis (bin/demo): the import job runs in the process once the upload is
    committed. Uploaded files go to a temporary MEDIA_ROOT."""
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    settings.MEDIA_ROOT = tmp_path / "media"


def import_page(client, data):
    """Post to the import page; when it answers with its job, run the job (as the commit
    of the request does) and open the job's page."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(IMPORT_PAGE, data)
    if response.status_code == 302 and response["Location"].startswith("/imports/"):
        return client.get(response["Location"])
    return response


def import_api(client, data):
    """Post to the import API; when it answers with its job (202), run the job and GET it."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(IMPORT_API, data, format="multipart")
    if response.status_code == 202:
        assert response["Location"] == response.json()["url"]
        return client.get(response["Location"])
    return response


# --- reading the answers ----------------------------------------------------------------


def ja_plural(singular, plural, count):
    with translation.override("ja"):
        return translation.ngettext(singular, plural, count) % {"counter": count}


def job_status(response):
    assert response.status_code == 200, response.content[:2000]
    return page(response).find(testid="import-job").attrs["data-status"]


def page_result(response):
    assert response.status_code == 200, response.content[:2000]
    return page(response).find(testid="import-result").text.strip()


def imported_count(response):
    """The number of rows the job (read through the API) wrote; it must have succeeded."""
    assert response.status_code == 200, response.content[:2000]
    job = response.json()
    assert job["status"] == "succeeded", job["errors"]
    assert job["rows_checked"] == job["rows_written"]
    return job["rows_written"]


def page_errors(response):
    """(row, column, message) of the problems table of the import page."""
    table = page(response).find(testid="import-errors")
    assert table is not None, "the page shows no problems table"
    return [tuple(td.text for td in tr.find_all("td")) for tr in table.find("tbody").find_all("tr")]


def api_errors(response):
    assert response.status_code == 200, response.content
    job = response.json()
    assert job["status"] == "failed"
    assert job["rows_written"] == 0
    assert job["error_count"] == len(job["errors"])
    return [(e["row"], e["column"], e["message"]) for e in job["errors"]]


def nothing_written():
    return (
        Asset.objects.count() == 0
        and AssetChange.objects.count() == 0
        and not AuditEvent.objects.filter(action="asset.imported").exists()
    )


def body(response):
    return response.getvalue()


def columns_of(header):
    """The column names of a file's header: the API's are the names themselves, the pages'
    the headers in the reader's language (tests/test_exports_in_the_readers_language.py)."""
    aliases = transfer.header_aliases()
    return [aliases.get(h, h) for h in header]


def csv_records(response):
    data = body(response)
    assert data.startswith(b"\xef\xbb\xbf"), "the CSV starts with a UTF-8 BOM for Excel"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert columns_of(rows[0]) == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]


def xlsx_records(response):
    workbook = load_workbook(io.BytesIO(body(response)), read_only=True)
    rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    assert columns_of(rows[0]) == COLUMNS
    return [
        {c: ("" if v is None else str(v)) for c, v in zip(COLUMNS, row, strict=True)}
        for row in rows[1:]
    ]


def exported(response, output):
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return csv_records(response) if output == "csv" else xlsx_records(response)


@pytest.fixture
def ready(catalogue, people):
    return people


# --- a good file ------------------------------------------------------------------------


def test_a_good_csv_creates_every_row_each_with_an_imported_history_entry_and_one_audit_event(
    as_role, ready
):
    rows = [
        good_row(
            1,
            name="庁内グループウェア",
            confidentiality="3",
            integrity="2",
            availability="2",
            personal_data="はい",
            custodian="staff_joho",
            location="本庁舎サーバ室",
            last_reviewed_on="2025-06-30",
            external_service="保守業者",
            contract_reference="契約第12号",
            description="説明, カンマと\n改行を含む",
        ),
        good_row(2, name="市ホームページ", tier="internet", confidentiality="1"),
        good_row(3, name="旧システム", status="retired", my_number="1", tier="mynumber"),
    ]
    response = import_page(as_role("chief"), {"file": csv_file(rows)})

    assert page_result(response) == ja_plural(
        "%(counter)s row imported.", "%(counter)s rows imported.", 3
    )
    assets = {a.name: a for a in Asset.objects.all()}
    assert set(assets) == {"庁内グループウェア", "市ホームページ", "旧システム"}

    groupware = assets["庁内グループウェア"]
    assert groupware.section.code == "joho"
    assert (groupware.confidentiality.code, groupware.integrity.code) == ("3", "2")
    assert groupware.availability.code == "2"
    assert groupware.confidentiality_rank == 3
    assert groupware.tier.code == "lgwan"
    assert groupware.has_personal_data and not groupware.has_my_number
    assert groupware.custodian == ready["staff"]
    assert groupware.location == "本庁舎サーバ室"
    assert groupware.last_reviewed_on == datetime.date(2025, 6, 30)
    assert groupware.external_service == "保守業者"
    assert groupware.contract_reference == "契約第12号"
    assert groupware.description == "説明, カンマと\n改行を含む"
    assert groupware.status == AssetStatus.IN_USE
    assert assets["旧システム"].status == AssetStatus.RETIRED
    assert assets["旧システム"].has_my_number
    assert assets["市ホームページ"].confidentiality_rank == 1

    for asset in assets.values():
        history = list(asset.history.all())
        assert [(h.kind, h.changed_by) for h in history] == [(ChangeKind.IMPORTED, ready["chief"])]
    events = AuditEvent.objects.filter(action="asset.imported")
    assert events.count() == 1
    assert events.get().actor == ready["chief"]
    assert events.get().data["rows"] == 3


def test_the_api_imports_a_good_file_and_answers_with_the_number_created(api_as, ready):
    response = import_api(
        api_as("head"), {"file": csv_file([good_row(1), good_row(2, section="somuka")])}
    )
    assert imported_count(response) == 2
    assert sorted(Asset.objects.values_list("section__code", flat=True)) == ["joho", "somuka"]
    assert AssetChange.objects.filter(kind=ChangeKind.IMPORTED).count() == 2
    assert AuditEvent.objects.filter(action="asset.imported", actor=ready["head"]).count() == 1


def test_blank_lines_are_skipped_but_still_count_in_the_row_numbers(as_role, ready):
    good, bad = csv_text([good_row(1), good_row(2, tier="dmz")]).splitlines()[1:]
    text = "\r\n".join([",".join(COLUMNS), good, "", bad, ""])
    upload = SimpleUploadedFile("assets.csv", text.encode(), content_type="text/csv")
    response = import_page(as_role("chief"), {"file": upload})
    # Header 1, good row 2, blank line 3: the bad row is row 4.
    assert [(row, column) for row, column, _ in page_errors(response)] == [("4", "tier")]
    assert nothing_written()


# --- a file with one bad row writes nothing ---------------------------------------------

TIER_CODES = "mynumber, lgwan, internet, none"

BAD_ROWS = {
    "unknown level code": (
        {"confidentiality": "9"},
        None,
        (3, "confidentiality", "Use one of: %(values)s.", {"values": "3, 2, 1"}),
    ),
    "unknown tier": (
        {"tier": "dmz"},
        None,
        (3, "tier", "Use one of: %(values)s.", {"values": TIER_CODES}),
    ),
    "missing required column": (
        {},
        [c for c in COLUMNS if c != "tier"],
        (1, "tier", "Required column is missing.", {}),
    ),
    "unknown column": (
        {"owner": "誰か"},
        [*COLUMNS, "owner"],
        (1, "owner", "Unknown column.", {}),
    ),
    "empty required cell": ({"name": ""}, None, (3, "name", "Required.", {})),
    "section the importer does not manage": (
        {"section": "somuka"},
        None,
        (3, "section", "You do not manage %(name)s.", {"name": "総務課"}),
    ),
    "unknown section": (
        {"section": "nowhere"},
        None,
        (3, "section", "No unit with the code %(code)s.", {"code": "nowhere"}),
    ),
    "bad boolean": (
        {"personal_data": "maybe"},
        None,
        (3, "personal_data", "Write 1 (yes) or 0 (no).", {}),
    ),
    "bad date": (
        {"last_reviewed_on": "2025-13-01"},
        None,
        (3, "last_reviewed_on", "Write the date as YYYY-MM-DD or as 令和7年4月1日.", {}),
    ),
    "unknown custodian": (
        {"custodian": "nobody"},
        None,
        (
            3,
            "custodian",
            "Nobody with the user name %(name)s can be chosen here.",
            {"name": "nobody"},
        ),
    ),
}


def expected_ja(row, column, msgid, params):
    message = ja(msgid) % params if params else ja(msgid)
    return (str(row), column, message)


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_file_with_one_bad_row_writes_nothing_and_the_page_names_row_column_and_problem(
    as_role, ready, case
):
    bad, header, (row, column, msgid, params) = BAD_ROWS[case]
    upload = csv_file(three_rows_with_bad_second(**bad), header)
    response = import_page(as_role("chief"), {"file": upload})

    assert response.status_code == 200
    assert nothing_written()
    errors = page_errors(response)
    assert errors == [expected_ja(row, column, msgid, params)]
    assert errors[0][2].strip(), "the problem is described"
    # Japanese is the default language of the page.
    assert page(response).find("html").attrs["lang"] == "ja"
    assert page_result(response) == ja("Nothing was imported: fix the rows below and try again.")


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_the_api_rejects_a_file_with_one_bad_row_and_writes_nothing(api_as, ready, case):
    bad, header, (row, column, msgid, params) = BAD_ROWS[case]
    upload = csv_file(three_rows_with_bad_second(**bad), header)
    response = import_api(api_as("chief"), {"file": upload})

    errors = api_errors(response)
    assert [(r, c) for r, c, _ in errors] == [(row, column)]
    assert errors[0][2] == expected_ja(row, column, msgid, params)[2]
    assert errors[0][2].strip()
    assert nothing_written()


def test_every_problem_of_the_file_is_reported_not_only_the_first(as_role, ready):
    rows = [
        good_row(1, tier="dmz"),
        good_row(2),
        good_row(3, personal_data="maybe", custodian="nobody"),
    ]
    response = import_page(as_role("chief"), {"file": csv_file(rows)})
    assert {(row, column) for row, column, _ in page_errors(response)} == {
        ("2", "tier"),
        ("4", "personal_data"),
        ("4", "custodian"),
    }
    assert nothing_written()


@pytest.mark.parametrize(
    "bad, column, message",
    [
        ({"section": "somuka"}, "section", "You do not manage 総務課."),
        ({"confidentiality": "9"}, "confidentiality", "Use one of: 3, 2, 1."),
        (
            {"last_reviewed_on": "yesterday"},
            "last_reviewed_on",
            "Write the date as YYYY-MM-DD or as 令和7年4月1日.",
        ),
    ],
)
def test_with_the_english_language_cookie_the_problems_are_in_english(
    as_role, ready, bad, column, message
):
    client = as_role("chief")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = import_page(client, {"file": csv_file(three_rows_with_bad_second(**bad))})
    assert page(response).find("html").attrs["lang"] == "en"
    assert page_errors(response) == [("3", column, message)]
    assert nothing_written()


# --- encodings and formats --------------------------------------------------------------


def test_a_shift_jis_csv_as_excel_writes_it_imports(as_role, ready):
    # Excel on a Japanese PC saves "CSV (comma delimited)" as cp932 with CRLF line ends;
    # ① and 髙 exist in cp932 but not in plain Shift_JIS.
    rows = [
        good_row(1, name="①住民票データ（髙橋）", personal_data="有", location="本庁舎　３階"),
        good_row(2, name="市報原稿", personal_data="無", confidentiality="1"),
    ]
    data = csv_text(rows).encode("cp932")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    upload = SimpleUploadedFile("資産台帳.csv", data, content_type="text/csv")
    response = import_page(as_role("chief"), {"file": upload})

    assert job_status(response) == "succeeded", page_errors(response)
    imported = {a.name: a for a in Asset.objects.all()}
    assert set(imported) == {"①住民票データ（髙橋）", "市報原稿"}
    assert imported["①住民票データ（髙橋）"].has_personal_data
    assert imported["①住民票データ（髙橋）"].location == "本庁舎　３階"
    assert not imported["市報原稿"].has_personal_data


def test_a_utf8_csv_with_a_bom_imports(api_as, ready):
    data = ("\ufeff" + csv_text([good_row(1, name="グループウェア")])).encode("utf-8")
    upload = SimpleUploadedFile("assets.csv", data, content_type="text/csv")
    response = import_api(api_as("chief"), {"file": upload})
    assert imported_count(response) == 1
    assert list(Asset.objects.values_list("name", flat=True)) == ["グループウェア"]


def test_an_xlsx_workbook_made_with_openpyxl_imports_with_numbers_booleans_and_dates(
    as_role, ready
):
    # Typed cells, as Excel keeps them: levels as numbers, flags as booleans, a real date.
    rows = [
        good_row(
            1,
            name="庁内ネットワーク構成図",
            kind="documentation",
            confidentiality=3,
            integrity=1,
            availability=1,
            tier="none",
            personal_data=True,
            my_number=False,
            last_reviewed_on=datetime.date(2025, 5, 20),
            custodian="staff_joho",
        ),
        good_row(2, name="市ホームページ", confidentiality=1, tier="internet"),
    ]
    response = import_page(as_role("chief"), {"file": xlsx_file(rows)})

    assert job_status(response) == "succeeded", page_errors(response)
    imported = {a.name: a for a in Asset.objects.select_related("confidentiality", "tier")}
    assert set(imported) == {"庁内ネットワーク構成図", "市ホームページ"}
    diagram = imported["庁内ネットワーク構成図"]
    assert diagram.kind == "documentation"
    assert diagram.confidentiality.code == "3"
    assert diagram.tier.code == "none"
    assert diagram.has_personal_data and not diagram.has_my_number
    assert diagram.last_reviewed_on == datetime.date(2025, 5, 20)
    assert diagram.custodian == ready["staff"]
    assert imported["市ホームページ"].confidentiality_rank == 1
    assert AssetChange.objects.filter(kind=ChangeKind.IMPORTED).count() == 2
    assert AuditEvent.objects.filter(action="asset.imported").count() == 1


def test_an_xlsx_workbook_with_a_bad_row_names_its_spreadsheet_row(api_as, ready):
    rows = [good_row(1), good_row(2), good_row(3, integrity=7)]
    response = import_api(api_as("chief"), {"file": xlsx_file(rows)})
    assert [(r, c) for r, c, _ in api_errors(response)] == [(4, "integrity")]
    assert nothing_written()


def test_a_file_named_xlsx_that_is_not_a_workbook_is_a_clear_error(as_role, ready):
    upload = SimpleUploadedFile("assets.xlsx", csv_text([good_row(1)]).encode())
    response = import_page(as_role("chief"), {"file": upload})
    assert response.status_code == 200
    [(_row, _column, message)] = page_errors(response)
    assert message == ja("The file is not a readable Excel workbook.")
    assert nothing_written()


def test_the_untouched_template_is_a_file_with_no_rows(as_role, ready):
    response = as_role("chief").get("/assets/template.csv")
    upload = SimpleUploadedFile("assets-template.csv", body(response), content_type="text/csv")
    response = import_page(as_role("chief"), {"file": upload})
    assert page_errors(response) == [("2", "", ja("The file has no rows."))]
    assert nothing_written()


# --- 10,000 rows, one transaction -------------------------------------------------------

MANY = 10_000


def many_rows(bad_last=False):
    rows = [good_row(n, custodian="staff_joho" if n % 2 else "") for n in range(1, MANY + 1)]
    if bad_last:
        rows[-1] = good_row(MANY, tier="dmz")
    return rows


def test_a_ten_thousand_row_csv_imports_with_a_bounded_number_of_queries(api_as, ready):
    client = api_as("chief")
    upload = csv_file(many_rows())
    with CaptureQueriesContext(connection) as queries:
        response = import_api(client, {"file": upload})
    assert imported_count(response) == MANY
    assert Asset.objects.filter(section__code="joho").count() == MANY
    assert Asset.objects.filter(custodian=ready["staff"]).count() == MANY // 2
    assert AssetChange.objects.filter(kind=ChangeKind.IMPORTED).count() == MANY
    assert AuditEvent.objects.filter(action="asset.imported").count() == 1
    # Lookups once, inserts in batches: nothing per row.
    assert len(queries) < 60, len(queries)


def test_a_failure_in_the_last_of_ten_thousand_rows_leaves_zero_assets(api_as, ready):
    response = import_api(api_as("chief"), {"file": csv_file(many_rows(bad_last=True))})
    assert [(r, c) for r, c, _ in api_errors(response)] == [(MANY + 1, "tier")]
    assert nothing_written()


def test_ten_thousand_rows_are_written_in_one_transaction(ready, monkeypatch):
    """A failure after the rows are inserted (here: the audit trail) takes them all back."""

    def broken_audit(*args, **kwargs):
        assert Asset.objects.count() == MANY  # the rows were written before the failure
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(transfer.audit, "record", broken_audit)
    with pytest.raises(RuntimeError):
        transfer.import_assets(csv_file(many_rows()), by=ready["chief"])
    assert Asset.objects.count() == 0
    assert AssetChange.objects.count() == 0


# --- who may import, and what may be uploaded -------------------------------------------


@pytest.mark.parametrize(
    "role", ["staff", "staff_somuka", "other_staff", "auditor", "ciso", "admin"]
)
def test_people_who_manage_no_section_get_403_on_the_import_page_and_api(
    as_role, api_as, ready, role
):
    client = as_role(role)
    assert client.get(IMPORT_PAGE).status_code == 403
    assert import_page(client, {"file": csv_file([good_row(1)])}).status_code == 403
    response = import_api(api_as(role), {"file": csv_file([good_row(1)])})
    assert response.status_code == 403
    assert nothing_written()


@pytest.mark.parametrize("role", ["chief", "head", "other_head"])
def test_chiefs_and_heads_get_the_import_page(as_role, ready, role):
    response = as_role(role).get(IMPORT_PAGE)
    assert response.status_code == 200
    assert page(response).find("input", type="file", name="file") is not None


def test_anonymous_visitors_are_sent_to_log_in_and_the_api_refuses_them(as_role, api_as, ready):
    assert is_login_redirect(as_role("anonymous").get(IMPORT_PAGE), IMPORT_PAGE)
    response = import_api(api_as("anonymous"), {"file": csv_file([good_row(1)])})
    assert response.status_code in (401, 403)
    assert nothing_written()


def field_errors(response):
    return [p.text for p in page(response).find_all("p", cls="error")]


@pytest.mark.parametrize("name", ["assets.txt", "assets.xls", "assets.csv.exe", "assets"])
def test_an_upload_that_is_neither_csv_nor_xlsx_is_a_clear_error(as_role, api_as, ready, name):
    content = csv_text([good_row(1)]).encode()
    response = import_page(as_role("chief"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 200
    assert field_errors(response) == [ja("Upload a .csv or .xlsx file.")]

    response = import_api(api_as("chief"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert response.json()["file"] == [ja("Upload a .csv or .xlsx file.")]
    assert nothing_written()


@override_settings(ASSET_IMPORT_MAX_BYTES=1000)
def test_an_oversized_file_is_a_clear_error(as_role, api_as, ready):
    upload = csv_file([good_row(n) for n in range(1, 30)])
    assert upload.size > 1000
    response = import_page(as_role("chief"), {"file": upload})
    assert response.status_code == 200
    assert field_errors(response) == [ja("The file is too large.")]

    upload = csv_file([good_row(n) for n in range(1, 30)])
    response = import_api(api_as("chief"), {"file": upload})
    assert response.status_code == 400
    assert response.json()["file"] == [ja("The file is too large.")]
    assert nothing_written()


def test_the_api_asks_for_the_file_when_none_is_sent(api_as, ready):
    response = import_api(api_as("chief"), {})
    assert response.status_code == 400
    assert "file" in response.json()


# --- templates --------------------------------------------------------------------------


def test_the_csv_template_is_the_header_alone_with_a_bom(as_role, ready):
    response = as_role("staff").get("/assets/template.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="assets-template.csv"' in response["Content-Disposition"]
    assert csv_records(response) == []


def test_the_xlsx_template_is_a_workbook_with_the_header_alone(as_role, ready):
    response = as_role("staff").get("/assets/template.xlsx")
    assert response.status_code == 200
    assert "assets-template.xlsx" in response["Content-Disposition"]
    assert xlsx_records(response) == []


def test_a_template_in_another_format_is_not_found(as_role, ready):
    assert as_role("staff").get("/assets/template.pdf").status_code == 404


def test_the_import_page_links_both_templates(as_role, ready):
    response = as_role("chief").get(IMPORT_PAGE)
    hrefs = [a.attrs.get("href") for a in page(response).find_all("a")]
    assert "/assets/template.csv" in hrefs
    assert "/assets/template.xlsx" in hrefs


# --- export -----------------------------------------------------------------------------


@pytest.fixture
def register_plus(register, make_asset):
    """The shared register, plus a public asset of 学校教育課 and a retired one of 情報政策課."""
    register["gakko_public"] = make_asset("gakko", c="1", tier="internet", name="学校ホームページ")
    register["joho_retired"] = make_asset(
        "joho", c="2", name="旧文書管理システム", status=AssetStatus.RETIRED
    )
    return register


EXPORT_URLS = {"page": "/assets/export/", "api": "/api/assets/export/"}


def get_export(as_role, api_as, role, where, query):
    client = as_role(role) if where == "page" else api_as(role)
    return client.get(EXPORT_URLS[where], query)


@pytest.mark.parametrize("where", ["page", "api"])
@pytest.mark.parametrize("output", ["csv", "xlsx"])
@pytest.mark.parametrize("role", ["staff", "staff_somuka", "head", "other_head", "auditor"])
def test_an_export_holds_exactly_the_assets_the_person_may_see(
    as_role, api_as, people, register_plus, where, output, role
):
    records = exported(get_export(as_role, api_as, role, where, {"output": output}), output)
    expected = set(visible_assets(people[role]).values_list("name", flat=True))
    assert {r["name"] for r in records} == expected
    assert len(records) == len(expected)


@pytest.mark.parametrize("where", ["page", "api"])
def test_the_csv_export_is_streamed_with_a_utf8_bom(as_role, api_as, register_plus, where):
    response = get_export(as_role, api_as, "head", where, {"output": "csv"})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert not isinstance(response, FileResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="assets.csv"' in response["Content-Disposition"]
    chunks = list(response.streaming_content)
    # Written row by row, not assembled in memory first.
    assert len(chunks) > 1
    assert chunks[0].startswith("\ufeff".encode())


@pytest.mark.parametrize("where", ["page", "api"])
def test_the_export_is_csv_when_no_output_is_asked_for(as_role, api_as, register_plus, where):
    client = as_role("head") if where == "page" else api_as("head")
    records = csv_records(client.get(EXPORT_URLS[where]))
    assert "庁内グループウェア" in {r["name"] for r in records}


@pytest.mark.parametrize("where", ["page", "api"])
@pytest.mark.parametrize("output", ["csv", "xlsx"])
@pytest.mark.parametrize(
    "role, query, expected",
    [
        ("head", {"confidentiality": "2"}, {"庁内グループウェア", "旧文書管理システム"}),
        ("head", {"status": "retired"}, {"旧文書管理システム"}),
        ("head", {"tier": "internet"}, {"市ホームページ", "学校ホームページ"}),
        ("head", {"q": "ホームページ"}, {"市ホームページ", "学校ホームページ"}),
        ("head", {"department": "somuka"}, {"人事評価記録"}),
        # The filter narrows what the person may see; it never widens it.
        ("head", {"department": "kyoiku"}, {"学校ホームページ"}),
        ("other_head", {"department": "somu"}, {"市ホームページ"}),
        ("auditor", {"department": "kyoiku"}, {"学校ホームページ", "成績処理システム"}),
    ],
)
def test_an_export_honours_the_current_filters(
    as_role, api_as, register_plus, where, output, role, query, expected
):
    response = get_export(as_role, api_as, role, where, {**query, "output": output})
    assert {r["name"] for r in exported(response, output)} == expected


def test_the_register_page_links_the_exports_with_its_current_filters(as_role, register_plus):
    response = as_role("head").get("/assets/", {"confidentiality": "2"})
    hrefs = [h for h in (a.attrs.get("href", "") for a in page(response).find_all("a"))]
    assert "/assets/export/?confidentiality=2&output=csv" in hrefs
    assert "/assets/export/?confidentiality=2&output=xlsx" in hrefs


def test_anonymous_visitors_cannot_export(as_role, api_as, register_plus):
    assert is_login_redirect(as_role("anonymous").get("/assets/export/"), "/assets/export/")
    assert api_as("anonymous").get("/api/assets/export/").status_code in (401, 403)


def test_an_exported_row_carries_every_column(as_role, api_as, register_plus, people):
    asset = register_plus["joho_confidential"]
    Asset.objects.filter(pk=asset.pk).update(
        custodian=people["staff"],
        has_personal_data=True,
        last_reviewed_on=datetime.date(2025, 7, 1),
        external_service="保守業者",
        contract_reference="契約第3号",
        location="サーバ室",
        description="説明",
    )
    records = csv_records(api_as("chief").get("/api/assets/export/", {"output": "csv"}))
    [row] = [r for r in records if r["name"] == "庁内グループウェア"]
    assert row == {
        "name": "庁内グループウェア",
        "kind": "system",
        "section": "joho",
        "confidentiality": "2",
        "integrity": "1",
        "availability": "1",
        "tier": "lgwan",
        "personal_data": "1",
        "my_number": "0",
        "external_service": "保守業者",
        "contract_reference": "契約第3号",
        "custodian": "staff_joho",
        "location": "サーバ室",
        "status": "in_use",
        "last_reviewed_on": "2025-07-01",
        "description": "説明",
    }
    # The page's file says the same in the reader's language.
    records = csv_records(as_role("chief").get("/assets/export/", {"output": "csv"}))
    [row] = [r for r in records if r["name"] == "庁内グループウェア"]
    assert row == {
        "name": "庁内グループウェア",
        "kind": "ネットワーク、情報システム、設備及び電磁的記録媒体",
        "section": "joho",
        "confidentiality": "機密性2",
        "integrity": "完全性1",
        "availability": "可用性1",
        "tier": "LGWAN接続系",
        "personal_data": "はい",
        "my_number": "いいえ",
        "external_service": "保守業者",
        "contract_reference": "契約第3号",
        "custodian": "staff_joho",
        "location": "サーバ室",
        "status": "使用中",
        "last_reviewed_on": "令和7年7月1日",
        "description": "説明",
    }


# --- round trip -------------------------------------------------------------------------

ROUND_TRIP_FIELDS = (
    "name",
    "kind",
    "description",
    "custodian_id",
    "location",
    "tier_id",
    "has_personal_data",
    "has_my_number",
    "external_service",
    "contract_reference",
    "confidentiality_id",
    "integrity_id",
    "availability_id",
    "confidentiality_rank",
    "status",
    "last_reviewed_on",
)


def snapshot(assets):
    return sorted(tuple(getattr(a, f) for f in ROUND_TRIP_FIELDS) for a in assets)


def rewrite_section_csv(data, section):
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(rows[0])
    index = columns_of(rows[0]).index("section")
    for row in rows[1:]:
        row[index] = section
        writer.writerow(row)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def rewrite_section_xlsx(data, section):
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    index = columns_of([c.value for c in sheet[1]]).index("section") + 1
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row=row, column=index).value = section
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("output", ["csv", "xlsx"])
def test_an_exported_file_imports_again_after_moving_it_to_a_section_the_importer_manages(
    as_role, register_plus, make_asset, people, output
):
    make_asset(
        "somuka",
        c="3",
        i="2",
        a="2",
        tier="mynumber",
        name='給与システム, "本番"',
        kind="information",
        description="一行目\n二行目, カンマ",
        custodian=people["staff_somuka"],
        location="別館",
        has_personal_data=True,
        has_my_number=True,
        external_service="給与計算受託者",
        contract_reference="R7-契約-001",
        last_reviewed_on=datetime.date(2025, 4, 15),
    )
    # The head of 総務部 exports what they see (総務部's assets and every public one)...
    response = as_role("head").get("/assets/export/", {"output": output})
    assert response.status_code == 200
    data = body(response)
    originals = list(visible_assets(people["head"]))
    assert len(originals) == 6
    existing = set(Asset.objects.values_list("pk", flat=True))

    # ...and the chief of 情報政策課 imports the file into their own section.
    rewritten = (rewrite_section_csv if output == "csv" else rewrite_section_xlsx)(data, "joho")
    upload = SimpleUploadedFile(f"assets.{output}", rewritten)
    response = import_page(as_role("chief"), {"file": upload})
    assert job_status(response) == "succeeded", page_errors(response)

    copies = Asset.objects.exclude(pk__in=existing)
    assert copies.count() == len(originals)
    assert set(copies.values_list("section__code", flat=True)) == {"joho"}
    assert snapshot(copies) == snapshot(originals)
    assert copies.filter(history__kind=ChangeKind.IMPORTED).count() == len(originals)


def damaged_workbook():
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([good_row(1)])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    return out.getvalue()


def test_a_damaged_workbook_is_a_clear_error_not_a_server_error(as_role, api_as, ready):
    response = import_page(
        as_role("chief"), {"file": SimpleUploadedFile("assets.xlsx", damaged_workbook())}
    )
    assert response.status_code == 200
    [(_row, _column, message)] = page_errors(response)
    assert message == ja("The file is not a readable Excel workbook.")
    assert nothing_written()


def test_a_csv_cell_beyond_the_csv_field_limit_is_a_clear_error_not_a_server_error(as_role, ready):
    rows = [good_row(1), good_row(2, description="長" * 200_000)]
    response = import_page(as_role("chief"), {"file": csv_file(rows)})
    assert response.status_code == 200
    errors = page_errors(response)
    assert [row for row, _column, _message in errors] == ["3"]
    assert [message for _row, _column, message in errors] == [ja("This row cannot be read as CSV.")]
    assert nothing_written()


def test_a_nul_character_in_a_cell_is_a_clear_error_not_a_server_error(as_role, api_as, ready):
    rows = [good_row(1), good_row(2, name="壊れた\x00名前")]
    response = import_page(as_role("chief"), {"file": csv_file(rows)})
    assert response.status_code == 200
    assert page_errors(response) == [("3", "name", ja("The text contains a NUL character."))]
    response = import_api(api_as("chief"), {"file": csv_file(rows)})
    assert [(r, c) for r, c, _ in api_errors(response)] == [(3, "name")]
    assert nothing_written()


@pytest.mark.parametrize("where", ["page", "api"])
def test_control_characters_that_a_sheet_cannot_hold_do_not_break_the_excel_export(
    as_role, api_as, make_asset, where
):
    # A CSV import or a form keeps a vertical tab pasted from another program; a worksheet
    # cannot hold it.
    make_asset("joho", c="1", name="縦タブ\x0bあり", description="一\x01二")
    response = get_export(as_role, api_as, "chief", where, {"output": "xlsx"})
    [record] = exported(response, "xlsx")
    assert record["name"] == "縦タブあり"
    assert record["description"] == "一二"
    # The CSV keeps the text as it is.
    [record] = exported(get_export(as_role, api_as, "chief", where, {"output": "csv"}), "csv")
    assert record["name"] == "縦タブ\x0bあり"
