"""CSV and Excel as the city's staff open them, written the one way every export of the
portal uses: streamed line by line with a byte order mark (Excel on Japanese Windows then
reads UTF-8), and with formula-like text defused.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return runs as a
formula when a spreadsheet opens the file (CSV injection): a display name written as
`=HYPERLINK(...)` would become a live link. In CSV such text gets a leading apostrophe,
which Excel hides and the portal's importers remove again (`undefuse`); in xlsx it is
written as a string cell, never as a formula.

A view hands its table to export_response(), which answers with the download.

A file for people is in the reader's language (the API's stays English and ISO): headers
and coded values as their labels, dates in the Japanese era in Japanese (`cell_date`,
`cell_datetime`, `cell_bool`). The rows are read in the language active when the view
called export_response(), even when the CSV is streamed after the view has returned.
"""

import csv
import datetime
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from .eras import to_era

BOM = "\ufeff"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")

# What a spreadsheet takes for the start of a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: object) -> object:
    """Text as a spreadsheet must show it, never run it; other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def undefuse(text: str) -> str:
    """An exported cell read back by an importer: the apostrophe defuse() added goes."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def _japanese() -> bool:
    return (translation.get_language() or "ja").startswith("ja")


def cell_date(value: datetime.date | None) -> str:
    """A date for a reader: 令和8年4月1日 in Japanese, 2026-04-01 in English (sortable
    and unambiguous in an English spreadsheet); empty for none."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date()
    return to_era(value) if _japanese() else value.isoformat()


def cell_datetime(value: datetime.datetime | None) -> str:
    """A moment in Japan time to the second (an acknowledgement's time is evidence):
    令和8年4月1日 09:05:30 in Japanese, 2026-04-01 09:05:30 in English; empty for none."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    if _japanese():
        return f"{to_era(local.date())} {local:%H:%M:%S}"
    return f"{local:%Y-%m-%d %H:%M:%S}"


def cell_bool(value: bool) -> str:
    """はい / いいえ (Yes / No): words an importer of the portal reads back as well."""
    return gettext("Yes") if value else gettext("No")


def _text(value: object) -> object:
    """A lazy translation as the text of the active language; other values as they are."""
    return str(value) if isinstance(value, Promise) else value


def in_language(rows: Iterable[Iterable[object]], language: str | None) -> Iterator[list]:
    """The rows, each read with `language` active: a streamed CSV is written after the
    view has returned, when another request may have switched the thread's language."""
    iterator = iter(rows)
    while True:
        with translation.override(language):
            try:
                row = next(iterator)
            except StopIteration:
                return
            row = [_text(value) for value in row]
        yield row


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[object], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The BOM and header, then one CSV line per row, every cell defused; holds one row at
    a time, for a StreamingHttpResponse."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([defuse(value) for value in header])
    for row in rows:
        yield writer.writerow([defuse(value) for value in row])


def xlsx_file(title: str, header: Iterable[object], rows: Iterable[Iterable[object]]) -> IO[bytes]:
    """An xlsx file on disk written in openpyxl's write-only mode (rows are not kept in
    memory), positioned at its start for a FileResponse; it disappears when closed."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append([_xlsx_cell(sheet, value) for value in header])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return handle


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: object) -> object:
    if not isinstance(value, str):
        return value
    # Control characters that a CSV import or a form let through cannot go in a sheet.
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not value.startswith(FORMULA_STARTS):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl would store text starting with "=" as a formula
    return cell


def export_response(
    filename: str,
    header: Iterable[object],
    rows: Iterable[Iterable[object]],
    output: str = "csv",
    *,
    sheet: str | None = None,
) -> FileResponse | StreamingHttpResponse:
    """The download of a table as `output` ("csv" or "xlsx"): `filename` without its
    extension, `header` the first row, `rows` an iterable of rows read once (a generator
    over a queryset's iterator() keeps the memory constant). CSV is streamed; xlsx is
    written to a temporary file first (a workbook cannot be streamed), in a sheet named
    `sheet` (at most 31 characters; the file name's by default).

    The file name is sent as RFC 6266 says: quoted when it is plain ASCII, else as
    filename*=utf-8''... (RFC 5987), so a Japanese name arrives intact.

    Lazy translations in the header and rows are written in the language active now."""
    language = translation.get_language()
    header = [_text(value) for value in header]
    rows = in_language(rows, language)
    if output == "xlsx":
        return FileResponse(
            xlsx_file(sheet or filename[:31], header, rows),
            as_attachment=True,
            filename=f"{filename}.xlsx",
            content_type=XLSX_CONTENT_TYPE,
        )
    if output != "csv":
        raise ValueError(f"an export is csv or xlsx, not {output!r}")
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CSV_CONTENT_TYPE)
    # content_disposition_header() returns None only for an inline answer without a name.
    disposition = content_disposition_header(True, f"{filename}.csv") or "attachment"
    response["Content-Disposition"] = disposition
    return response
