"""One calendar, and files in the reader's language (issue 12, problem 10).

A fiscal year reads 令和8年度 in the Japanese interface and FY2026 in English, on the
pages, in the CSV and xlsx files and in the certificate. The files people download from
the pages have headers, coded values and dates in the reader's language (the Japanese era
in Japanese); the API's files stay English and ISO. An asset register exported in either
language imports again unchanged, whatever the importer's own language.
"""

import csv
import datetime
import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone
from openpyxl import load_workbook

from acknowledgements.models import Acknowledgement
from assets.models import Asset
from audits import services as audit_services
from isms.celery import app as celery_app
from isms.eras import fiscal_year, to_era
from training.models import Course, Enrolment
from training.services import publish_course

from .audit_helpers import open_cycle
from .pages import page

D = datetime.date

JA_ASSET_HEADERS = [
    "名称",
    "種別",
    "所管課コード",
    "機密性",
    "完全性",
    "可用性",
    "ネットワーク領域（三層）",
    "個人情報",
    "マイナンバー（個人番号）",
    "外部サービス・委託先",
    "契約",
    "管理担当者（ユーザー名）",
    "所在場所",
    "状態",
    "最終見直し日",
    "説明",
]
EN_ASSET_HEADERS = [
    "Name",
    "Kind",
    "Section code",
    "Confidentiality",
    "Integrity",
    "Availability",
    "Network tier",
    "Personal data",
    "My Number data",
    "External service or contractor",
    "Contract",
    "Custodian (user name)",
    "Location",
    "Status",
    "Last reviewed",
    "Description",
]


def body(response):
    assert response.status_code == 200, response
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_table(response):
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def xlsx_table(response):
    sheet = load_workbook(io.BytesIO(body(response)), read_only=True).worksheets[0]
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def table(response, output):
    return csv_table(response) if output == "csv" else xlsx_table(response)


def in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def records(rows):
    header, *rest = rows
    return [dict(zip(header, row, strict=True)) for row in rest]


@pytest.fixture
def reviewed_asset(make_asset, people):
    return make_asset(
        "joho",
        c="2",
        i="2",
        a="1",
        tier="lgwan",
        name="庁内グループウェア",
        custodian=people["staff"],
        has_personal_data=True,
        last_reviewed_on=D(2026, 4, 1),
        location="サーバ室",
    )


# --- the asset register ---------------------------------------------------------------


@pytest.mark.parametrize("output", ["csv", "xlsx"])
def test_a_japanese_reader_gets_the_register_with_japanese_headers_labels_and_era_dates(
    as_role, reviewed_asset, output
):
    rows = table(as_role("chief").get("/assets/export/", {"output": output}), output)

    assert rows[0] == JA_ASSET_HEADERS
    [row] = [r for r in records(rows) if r["名称"] == "庁内グループウェア"]
    assert row["種別"] == "ネットワーク、情報システム、設備及び電磁的記録媒体"
    assert (row["機密性"], row["完全性"], row["可用性"]) == ("機密性2", "完全性2", "可用性1")
    assert row["ネットワーク領域（三層）"] == "LGWAN接続系"
    assert (row["個人情報"], row["マイナンバー（個人番号）"]) == ("はい", "いいえ")
    assert row["状態"] == "使用中"
    assert row["最終見直し日"] == "令和8年4月1日"
    assert row["所管課コード"] == "joho"


@pytest.mark.parametrize("output", ["csv", "xlsx"])
def test_an_english_reader_gets_english_headers_and_labels_and_iso_dates(
    as_role, reviewed_asset, output
):
    client = in_english(as_role("chief"))
    rows = table(client.get("/assets/export/", {"output": output}), output)

    assert rows[0] == EN_ASSET_HEADERS
    [row] = [r for r in records(rows) if r["Name"] == "庁内グループウェア"]
    assert row["Kind"] == "Network, system, facility or media"
    assert (row["Personal data"], row["My Number data"]) == ("Yes", "No")
    assert row["Status"] == "In use"
    assert row["Last reviewed"] == "2026-04-01"


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_api_export_stays_english_codes_and_iso_in_any_language(
    api_as, reviewed_asset, language
):
    client = api_as("chief")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    rows = csv_table(
        client.get("/api/assets/export/", {"output": "csv"}, HTTP_ACCEPT_LANGUAGE=language)
    )

    assert rows[0][:3] == ["name", "kind", "section"]
    [row] = [r for r in records(rows) if r["name"] == "庁内グループウェア"]
    assert (row["kind"], row["confidentiality"], row["tier"]) == ("system", "2", "lgwan")
    assert (row["personal_data"], row["status"]) == ("1", "in_use")
    assert row["last_reviewed_on"] == "2026-04-01"


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_import_template_is_headed_in_the_readers_language(as_role, catalogue, language):
    client = as_role("chief")
    if language == "en":
        in_english(client)
    rows = csv_table(client.get("/assets/template.csv"))
    assert rows == [JA_ASSET_HEADERS if language == "ja" else EN_ASSET_HEADERS]


# --- the round trip -----------------------------------------------------------------------

ROUND_TRIP_FIELDS = (
    "name",
    "kind",
    "section_id",
    "confidentiality_id",
    "integrity_id",
    "availability_id",
    "tier_id",
    "has_personal_data",
    "has_my_number",
    "external_service",
    "contract_reference",
    "custodian_id",
    "location",
    "status",
    "last_reviewed_on",
    "description",
)


def snapshot(assets):
    return sorted(tuple(getattr(a, f) for f in ROUND_TRIP_FIELDS) for a in assets)


@pytest.fixture
def inline_jobs(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    settings.MEDIA_ROOT = tmp_path / "media"


def import_file(client, name, data):
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post("/assets/import/", {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 302, response.content[:2000]
    response = client.get(response["Location"])
    job = page(response).find(testid="import-job")
    assert job.attrs["data-status"] == "succeeded", response.content.decode()[:3000]


@pytest.mark.parametrize("output", ["csv", "xlsx"])
@pytest.mark.parametrize(
    ("exported_in", "imported_in"), [("ja", "ja"), ("en", "en"), ("ja", "en"), ("en", "ja")]
)
def test_an_exported_register_imports_again_unchanged_whatever_the_languages(
    as_role, make_asset, people, reviewed_asset, inline_jobs, output, exported_in, imported_in
):
    make_asset(
        "joho",
        c="1",
        tier="internet",
        name="市ホームページ",
        kind="information",
        status="retired",
        has_my_number=True,
        last_reviewed_on=D(2019, 4, 30),  # 平成31年4月30日
        external_service="委託先, 株式会社",
        description="一行目\n二行目",
    )
    originals = list(Asset.objects.filter(section__code="joho"))
    existing = {a.pk for a in Asset.objects.all()}
    client = as_role("chief")
    if exported_in == "en":
        in_english(client)
    data = body(client.get("/assets/export/", {"department": "joho", "output": output}))

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = imported_in
    import_file(client, f"assets.{output}", data)

    copies = Asset.objects.exclude(pk__in=existing)
    assert snapshot(copies) == snapshot(originals)


def test_a_file_typed_in_japanese_with_era_dates_imports(as_role, catalogue, inline_jobs):
    text = ",".join(JA_ASSET_HEADERS) + "\r\n"
    text += (
        "手書きの台帳,システム関連文書（仕様書、ネットワーク図等）,joho,機密性3,完全性1,可用性2,ネットワーク外,"
        "いいえ,いいえ,,,,,,令和元年5月1日,\r\n"
    )
    import_file(as_role("chief"), "typed.csv", ("\ufeff" + text).encode())

    asset = Asset.objects.get(name="手書きの台帳")
    assert (asset.kind, asset.confidentiality.code, asset.availability.code) == (
        "documentation",
        "3",
        "2",
    )
    assert asset.tier.code == "none"
    assert asset.status == "in_use"
    assert asset.last_reviewed_on == D(2019, 5, 1)


# --- training, acknowledgements, audits -------------------------------------------------


@pytest.fixture
def completed_course(people, settings, tmp_path):
    """A course of FY2026 that staff_joho completed on 2026-05-07 at 09:05:30 Japan time."""
    settings.MEDIA_ROOT = tmp_path / "media"
    course = Course.objects.create(
        title="情報セキュリティ研修",
        content="本文",
        fiscal_year=2026,
        deadline=D(2026, 6, 30),
        created_by=people["admin"],
    )
    publish_course(course, by=people["admin"])
    completed = timezone.make_aware(datetime.datetime(2026, 5, 7, 9, 5, 30))
    Enrolment.objects.filter(course=course, user=people["staff"]).update(
        completed_at=completed, best_score=100, due_on=D(2026, 6, 30)
    )
    return course


def test_the_training_completion_file_is_in_japanese_with_era_dates(as_role, completed_course):
    response = as_role("ciso").get(
        "/training/status/", {"course": completed_course.pk, "output": "csv"}
    )
    rows = csv_table(response)

    assert rows[0] == ["部局", "課", "ユーザー名", "氏名", "受講期限", "修了日時", "最高得点（%）"]
    [row] = [r for r in records(rows) if r["ユーザー名"] == "staff_joho"]
    assert row["受講期限"] == "令和8年6月30日"
    assert row["修了日時"] == "令和8年5月7日 09:05:30"


def test_the_training_completion_file_is_in_english_for_an_english_reader(
    as_role, completed_course
):
    client = in_english(as_role("ciso"))
    rows = xlsx_table(
        client.get("/training/status/", {"course": completed_course.pk, "output": "xlsx"})
    )

    assert rows[0] == [
        "Department",
        "Section",
        "User name",
        "Name",
        "Due",
        "Completed at",
        "Best score (%)",
    ]
    [row] = [r for r in records(rows) if r["User name"] == "staff_joho"]
    assert (row["Due"], row["Completed at"]) == ("2026-06-30", "2026-05-07 09:05:30")


def test_the_completion_page_names_each_course_with_its_fiscal_year_in_the_era(
    as_role, completed_course
):
    client = as_role("ciso")
    option = page(client.get("/training/status/")).find("option")
    assert option.text == "情報セキュリティ研修（令和8年度）"

    option = page(in_english(client).get("/training/status/")).find("option")
    assert option.text == "情報セキュリティ研修（FY2026）"


def test_the_course_page_shows_its_fiscal_year_in_the_era(as_role, completed_course):
    client = as_role("staff")
    meta = page(client.get(f"/training/courses/{completed_course.pk}/")).find("p", cls="meta")
    assert "令和8年度" in meta.text
    assert "2026" not in meta.text

    meta = page(in_english(client).get(f"/training/courses/{completed_course.pk}/")).find(
        "p", cls="meta"
    )
    assert "FY2026" in meta.text


def certificate_lines(client, enrolment, monkeypatch):
    """The lines the certificate draws (its text is encoded in a CID font in the PDF)."""
    from reportlab.pdfgen.canvas import Canvas

    drawn = []
    original = Canvas.drawCentredString

    def record(self, x, y, text, *args, **kwargs):
        drawn.append(text)
        return original(self, x, y, text, *args, **kwargs)

    monkeypatch.setattr(Canvas, "drawCentredString", record)
    response = client.get(f"/training/certificates/{enrolment.pk}/")
    assert body(response).startswith(b"%PDF")
    return drawn


def test_the_certificate_is_all_japanese_with_era_dates_for_a_japanese_reader(
    as_role, people, completed_course, monkeypatch
):
    enrolment = Enrolment.objects.get(course=completed_course, user=people["staff"])
    lines = certificate_lines(as_role("staff"), enrolment, monkeypatch)

    assert "あなたは「情報セキュリティ研修」（令和8年度）を修了しました。" in lines
    assert "修了日 令和8年5月7日" in lines
    assert lines[-1] == f"修了証 · staff_joho · 受講番号 {enrolment.pk} · 令和8年5月7日"
    assert not any("Certificate" in line or "2026" in line for line in lines)


def test_the_certificate_is_all_english_for_an_english_reader(
    as_role, people, completed_course, monkeypatch
):
    enrolment = Enrolment.objects.get(course=completed_course, user=people["staff"])
    lines = certificate_lines(in_english(as_role("staff")), enrolment, monkeypatch)

    assert "has completed “情報セキュリティ研修” (FY2026)." in lines
    assert "Completed on 7 May 2026" in lines
    assert (
        lines[-1]
        == f"Certificate of completion · staff_joho · enrolment {enrolment.pk} · 7 May 2026"
    )
    assert not any("年度" in line or "令和" in line or "様" in line for line in lines)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_acknowledgement_status_file_dates_each_acknowledgement_for_the_reader(
    as_role, standard, language
):
    as_role("staff").post(f"/acknowledgements/revisions/{standard.pk}/")
    client = as_role("head")
    if language == "en":
        in_english(client)
    rows = csv_table(client.get(f"/acknowledgements/status/{standard.pk}/", {"export": "csv"}))

    at = {row[2]: row[4] for row in rows[1:]}["staff_joho"]
    acknowledgement = Acknowledgement.objects.get(user__username="staff_joho")
    local = timezone.localtime(acknowledgement.acknowledged_at)
    if language == "ja":
        assert rows[0][:3] == ["部局", "課", "ユーザー名"]
        assert at == f"{to_era(local.date())} {local:%H:%M:%S}"
    else:
        assert rows[0][:3] == ["Department", "Section", "User name"]
        assert at == f"{local:%Y-%m-%d %H:%M:%S}"


@pytest.fixture
def cycle(people, org):
    cycle = open_cycle(people, [org["somu"]], name="自己点検")
    audit_services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    return cycle


def test_the_cycle_pages_show_the_fiscal_year_in_the_era(as_role, cycle):
    client = as_role("ciso")
    assert "令和7年度" in page(client.get("/audits/")).find("table").text
    meta = page(client.get(f"/audits/cycles/{cycle.pk}/")).find("p", cls="meta")
    assert "令和7年度" in meta.text
    meta = page(client.get(f"/audits/cycles/{cycle.pk}/report/")).find("p", cls="meta")
    assert "令和7年度" in meta.text

    in_english(client)
    assert "FY2025" in page(client.get("/audits/")).find("table").text
    meta = page(client.get(f"/audits/cycles/{cycle.pk}/")).find("p", cls="meta")
    assert "FY2025" in meta.text


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_audit_report_file_is_headed_in_the_readers_language(as_role, cycle, language):
    client = as_role("ciso")
    if language == "en":
        in_english(client)
    rows = table(client.get(f"/audits/cycles/{cycle.pk}/report/", {"output": "xlsx"}), "xlsx")
    expected = (
        ["部局", "状態", "回答済み"] if language == "ja" else ["Department", "Status", "Answered"]
    )
    assert rows[0][:3] == expected
    assert rows[1][1] == ("回答中" if language == "ja" else "Being answered")


def test_this_fiscal_year_is_labelled_like_any_other():
    from isms.eras import fiscal_year_label

    year = fiscal_year(timezone.localdate())
    assert fiscal_year_label(year, "ja").startswith("令和")
    assert fiscal_year_label(year, "en") == f"FY{year}"


def test_the_annual_review_page_names_this_fiscal_year_in_the_era(as_role, register):
    from isms.eras import fiscal_year_label

    year = fiscal_year(timezone.localdate())
    client = as_role("head")
    meta = page(client.get("/assets/reviews/")).find("p", cls="meta")
    assert meta.text.startswith(fiscal_year_label(year, "ja"))

    meta = page(in_english(client).get("/assets/reviews/")).find("p", cls="meta")
    assert meta.text.startswith(f"FY{year}, from ")


def test_the_sheet_of_a_workbook_is_named_in_the_readers_language(as_role, register):
    client = as_role("chief")
    data = body(client.get("/assets/export/", {"output": "xlsx"}))
    assert load_workbook(io.BytesIO(data), read_only=True).sheetnames == ["情報資産台帳"]
    data = body(in_english(client).get("/assets/export/", {"output": "xlsx"}))
    assert load_workbook(io.BytesIO(data), read_only=True).sheetnames == ["Information assets"]
