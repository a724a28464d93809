"""Details of the asset import and export that spreadsheets make matter."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from assets import transfer
from assets.models import Asset

HEADER = "name,kind,section,confidentiality,integrity,availability,tier,last_reviewed_on,custodian"


def upload(text):
    return SimpleUploadedFile("assets.csv", text.encode("utf-8"), content_type="text/csv")


def test_a_date_as_excel_saves_it_is_accepted(catalogue, people):
    count = transfer.import_assets(
        upload(f"{HEADER}\n端末,system,joho,1,1,1,lgwan,2025/4/1,\n"), by=people["chief"]
    )
    assert count == 1
    assert Asset.objects.get().last_reviewed_on.isoformat() == "2025-04-01"


def test_an_inactive_custodian_is_refused(catalogue, people):
    people["staff"].is_active = False
    people["staff"].save()
    try:
        transfer.import_assets(
            upload(f"{HEADER}\n端末,system,joho,1,1,1,lgwan,,staff_joho\n"), by=people["chief"]
        )
    except transfer.ImportRejected as rejected:
        assert [(e.row, e.column) for e in rejected.errors] == [(2, "custodian")]
    else:
        raise AssertionError("an inactive custodian was accepted")
    assert not Asset.objects.exists()


def test_text_that_looks_like_a_formula_is_exported_inert_and_reimports_unchanged(
    make_asset, people
):
    make_asset("joho", name='=HYPERLINK("http://example.invalid")', location="+81 97")
    exported = "".join(transfer.csv_rows(Asset.objects.all())).lstrip("\ufeff")
    row = dict(zip(*list(csv.reader(io.StringIO(exported))), strict=True))
    assert row["name"].startswith("'=")
    assert row["location"] == "'+81 97"

    Asset.objects.all().delete()
    transfer.import_assets(upload(exported), by=people["chief"])
    asset = Asset.objects.get()
    assert asset.name == '=HYPERLINK("http://example.invalid")'
    assert asset.location == "+81 97"
