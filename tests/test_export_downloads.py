"""The one way a table becomes a download (isms.exports.export_response): CSV streamed
with a byte order mark for Excel, xlsx as a workbook, both as attachments whose file name
survives in any language."""

import io

import pytest
from openpyxl import load_workbook

from isms.exports import export_response


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_csv_download_is_streamed_with_a_byte_order_mark_and_its_name_quoted():
    response = export_response("cycle-7", ["a", "b"], iter([[1, "=2"]]), "csv")

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="cycle-7.csv"'
    assert body(response).decode("utf-8") == "\ufeffa,b\r\n1,'=2\r\n"


def test_an_xlsx_download_holds_the_same_rows_in_the_named_sheet():
    response = export_response("cycle-7", ["a", "b"], iter([[1, "=2"]]), "xlsx", sheet="report")

    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == 'attachment; filename="cycle-7.xlsx"'
    workbook = load_workbook(io.BytesIO(body(response)), read_only=True)
    assert workbook.sheetnames == ["report"]
    assert [list(row) for row in workbook.active.iter_rows(values_only=True)] == [
        ["a", "b"],
        [1, "=2"],
    ]


@pytest.mark.parametrize("output", ["csv", "xlsx"])
def test_a_japanese_file_name_is_sent_as_rfc_5987_says(output):
    response = export_response("研修-総務課", ["a"], iter([]), output)

    assert response["Content-Disposition"] == (
        f"attachment; filename*=utf-8''%E7%A0%94%E4%BF%AE-%E7%B7%8F%E5%8B%99%E8%AA%B2.{output}"
    )


def test_a_format_other_than_csv_or_xlsx_is_refused():
    with pytest.raises(ValueError, match="pdf"):
        export_response("cycle-7", ["a"], iter([]), "pdf")
