"""Reading the tables people upload: CSV in UTF-8 (with or without BOM) or Shift_JIS as
Excel on Japanese Windows saves it, or an xlsx workbook's first sheet. Every import (the
register's, the personnel system's) reads its rows here, so every one names the same
problems the same way: the file's encoding, an unreadable row, an unknown or missing
column, each as an isms.imports.RowError."""

import codecs
import csv
import datetime
import io
import unicodedata
from collections.abc import Iterator, Mapping

from django.utils.translation import gettext as _
from openpyxl import load_workbook

from .eras import ERA_DATE_RE, parse_era
from .exports import undefuse
from .imports import ImportRejected, RowError


def read_table(
    uploaded,
    columns,
    required,
    *,
    name=None,
    aliases: Mapping[str, str] | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows as (spreadsheet row number, {column: text}), blank rows left out. `aliases`
    maps other headers (the Japanese ones a personnel system writes) to column names."""
    aliases = aliases or {}
    name = (name or uploaded.name or "").lower()
    data = uploaded.read()
    if name.endswith(".xlsx"):
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - any unreadable workbook is the same error to a user
            raise ImportRejected(
                [RowError(0, "", _("The file is not a readable Excel workbook."))]
            ) from None
        sheet = workbook.worksheets[0]
        rows = ([_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True))
        rows = _reported_if_unreadable(rows, _("The file is not a readable Excel workbook."))
    else:
        text = _decoded(data)
        rows = _reported_if_unreadable(
            csv.reader(io.StringIO(text)), _("This row cannot be read as CSV.")
        )
    header = next(rows, None)
    if not header:
        raise ImportRejected([RowError(1, "", _("The file is empty."))])
    header = [(h or "").strip() for h in header]
    header = [aliases.get(h, h) for h in header]
    unknown = [h for h in header if h and h not in columns]
    missing = [c for c in sorted(required) if c not in header]
    if unknown or missing:
        errors = [RowError(1, h, _("Unknown column.")) for h in unknown]
        errors += [RowError(1, c, _("Required column is missing.")) for c in missing]
        raise ImportRejected(errors)
    for number, values in enumerate(rows, start=2):
        if not any((v or "").strip() for v in values):
            continue
        yield (
            number,
            {
                h: undefuse((values[i] or "").strip()) if i < len(values) else ""
                for i, h in enumerate(header)
                if h
            },
        )


# Byte order marks of the encodings a spreadsheet program may save that are not accepted;
# UTF-32 first, as its little-endian mark begins with UTF-16's.
OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _decoded(data):
    """The text of a CSV in UTF-8 (with or without BOM) or Shift_JIS (cp932, as Excel on
    Japanese Windows saves it); any other encoding is named as such. UTF-16 without a BOM
    decodes as UTF-8 full of NUL bytes, so a head of text that is a quarter NUL is UTF-16
    (a NUL in a cell of a real UTF-8 file stays a problem of that cell)."""
    encoding = next((name for bom, name in OTHER_BOMS if data.startswith(bom)), None)
    head = data[:4096]
    if encoding is None and head and head.count(0) * 4 >= len(head):
        encoding = "UTF-16"
    if encoding is None:
        for candidate in ("utf-8-sig", "cp932"):
            try:
                return data.decode(candidate)
            except UnicodeDecodeError:
                continue
    message = (
        _("The file is encoded in %(encoding)s. Save it as CSV in UTF-8 or Shift_JIS.")
        % {"encoding": encoding}
        if encoding
        else _("The file is neither UTF-8 nor Shift_JIS text.")
    )
    raise ImportRejected([RowError(0, "", message)])


def _reported_if_unreadable(rows, message):
    """The rows of a reader; a row the reader fails on (a damaged sheet, a CSV field over
    the csv module's size limit) is reported as a problem of that row, not a server error."""
    rows = iter(rows)
    number = 0
    while True:
        number += 1
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception:  # noqa: BLE001 - whatever the reader's error, the row is unreadable
            raise ImportRejected([RowError(number, "", message)]) from None
        yield values


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def parse_date(text):
    """ISO dates, the 2025/4/1 form Excel writes when it saves a CSV, and the Japanese era
    dates the portal's files for people write (令和7年4月1日)."""
    if ERA_DATE_RE.fullmatch(unicodedata.normalize("NFKC", text).strip()):
        return parse_era(text)
    if "/" in text:
        year, month, day = (int(part) for part in text.split("/"))
        return datetime.date(year, month, day)
    return datetime.date.fromisoformat(text)
