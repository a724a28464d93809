"""CSV and Excel import and export of the register.

An import is all or nothing: every row is checked first, each problem is reported with its
row, its column and what is wrong, and nothing is written unless every row passes. The
export writes the same columns, so an exported file can be edited and imported again.
"""

import csv
import datetime
import io
import tempfile
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from isms import audit
from isms.exports import csv_lines
from isms.pickers import NOT_NAMEABLE, department_of

from .access import assignable_sections, may_keep
from .models import (
    Asset,
    AssetChange,
    AssetKind,
    AssetStatus,
    Axis,
    ChangeKind,
    ClassificationLevel,
    NetworkTier,
)

COLUMNS = [
    "name",
    "kind",
    "section",
    "confidentiality",
    "integrity",
    "availability",
    "tier",
    "personal_data",
    "my_number",
    "external_service",
    "contract_reference",
    "custodian",
    "location",
    "status",
    "last_reviewed_on",
    "description",
]
REQUIRED = {"name", "kind", "section", "confidentiality", "integrity", "availability", "tier"}
TRUE_WORDS = {"1", "true", "yes", "y", "はい", "有", "あり", "○"}
FALSE_WORDS = {"", "0", "false", "no", "n", "いいえ", "無", "なし", "×"}


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self):
        return {"row": self.row, "column": self.column, "message": self.message}


class ImportRejected(Exception):
    def __init__(self, errors):
        super().__init__(f"{len(errors)} problems")
        self.errors = errors


def read_rows(uploaded):
    """Rows of a CSV (UTF-8, with or without BOM, or Shift_JIS as Excel writes it) or an
    xlsx file, as (spreadsheet row number, {column: text})."""
    name = (uploaded.name or "").lower()
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
        for encoding in ("utf-8-sig", "cp932"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ImportRejected(
                [RowError(0, "", _("The file is neither UTF-8 nor Shift_JIS text."))]
            )
        rows = _reported_if_unreadable(
            csv.reader(io.StringIO(text)), _("This row cannot be read as CSV.")
        )
    header = next(rows, None)
    if not header:
        raise ImportRejected([RowError(1, "", _("The file is empty."))])
    header = [h.strip() for h in header]
    unknown = [h for h in header if h and h not in COLUMNS]
    missing = [c for c in sorted(REQUIRED) if c not in header]
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
                h: _undefused((values[i] or "").strip()) if i < len(values) else ""
                for i, h in enumerate(header)
                if h
            },
        )


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


class RowValidator:
    """Looks everything up once, so checking 100,000 rows costs a few queries."""

    def __init__(self, user):
        from isms.models import Department

        levels = ClassificationLevel.objects.filter(scheme__is_active=True)
        self.levels = {(level.axis, level.code): level for level in levels}
        self.tiers = {tier.code: tier for tier in NetworkTier.objects.all()}
        self.sections = {d.code: d for d in Department.objects.all()}
        self.allowed_sections = set(assignable_sections(user).values_list("pk", flat=True))
        self.users = {}  # custodians by user name, each looked up once
        self.custodians = {}  # (user id, department id): may keep its assets

    def validate(self, number, row):
        errors, fields = [], {}

        def error(column, message):
            errors.append(RowError(number, column, message))

        for column, value in row.items():
            # PostgreSQL cannot store NUL; without this check the insert fails with a 500.
            if "\x00" in value:
                error(column, _("The text contains a NUL character."))
        for column in REQUIRED:
            if not row.get(column):
                error(column, _("Required."))
        name = row.get("name", "")
        if len(name) > 200:
            error("name", _("At most 200 characters."))
        fields["name"] = name
        if row.get("kind") and row["kind"] not in AssetKind.values:
            error("kind", _("Use one of: %(values)s.") % {"values": ", ".join(AssetKind.values)})
        fields["kind"] = row.get("kind")
        section = self.sections.get(row.get("section", ""))
        if row.get("section") and section is None:
            error("section", _("No unit with the code %(code)s.") % {"code": row["section"]})
        elif section is not None and section.pk not in self.allowed_sections:
            error("section", _("You do not manage %(name)s.") % {"name": section.name})
        fields["section"] = section
        for axis in (Axis.CONFIDENTIALITY, Axis.INTEGRITY, Axis.AVAILABILITY):
            code = row.get(axis, "")
            level = self.levels.get((axis, code))
            if code and level is None:
                codes = [c for (a, c) in self.levels if a == axis]
                error(axis, _("Use one of: %(values)s.") % {"values": ", ".join(codes)})
            fields[axis] = level
        tier = self.tiers.get(row.get("tier", ""))
        if row.get("tier") and tier is None:
            error("tier", _("Use one of: %(values)s.") % {"values": ", ".join(self.tiers)})
        fields["tier"] = tier
        for column, field in (
            ("personal_data", "has_personal_data"),
            ("my_number", "has_my_number"),
        ):
            value = row.get(column, "").lower()
            if value in TRUE_WORDS:
                fields[field] = True
            elif value in FALSE_WORDS:
                fields[field] = False
            else:
                error(column, _("Write 1 (yes) or 0 (no)."))
        for column, limit in (
            ("external_service", 200),
            ("contract_reference", 200),
            ("location", 200),
        ):
            if len(row.get(column, "")) > limit:
                error(column, _("At most %(limit)s characters.") % {"limit": limit})
            fields[column] = row.get(column, "")
        fields["description"] = row.get("description", "")
        status = row.get("status") or AssetStatus.IN_USE
        if status not in AssetStatus.values:
            error(
                "status", _("Use one of: %(values)s.") % {"values": ", ".join(AssetStatus.values)}
            )
        fields["status"] = status
        reviewed = row.get("last_reviewed_on", "")
        fields["last_reviewed_on"] = None
        if reviewed:
            try:
                fields["last_reviewed_on"] = parse_date(reviewed)
            except ValueError:
                error("last_reviewed_on", _("Write the date as YYYY-MM-DD."))
        custodian = row.get("custodian", "")
        fields["custodian"] = None
        if custodian:
            user = self.custodian(custodian, section)
            if user is None:
                # The same answer for an unknown name and one of another department.
                error("custodian", NOT_NAMEABLE % {"name": custodian})
            fields["custodian"] = user
        return fields, errors

    def custodian(self, username, section):
        """The person, if they may keep an asset of the section (the rule of the forms and
        the API: someone of its department), each name and department looked up once."""
        if username not in self.users:
            self.users[username] = (
                get_user_model().objects.filter(username=username, is_active=True).first()
            )
        user = self.users[username]
        if user is None or section is None:
            return user
        key = (user.pk, department_of(section))
        if key not in self.custodians:
            self.custodians[key] = may_keep(user, section)
        return user if self.custodians[key] else None


def import_assets(uploaded, *, by, request=None):
    """Create every asset of the file, or none. Returns the number created; raises
    ImportRejected with every problem found."""
    validator = RowValidator(by)
    valid, errors = [], []
    for number, row in read_rows(uploaded):
        fields, row_errors = validator.validate(number, row)
        errors += row_errors
        if not row_errors:
            valid.append(fields)
    if errors:
        raise ImportRejected(errors)
    if not valid:
        raise ImportRejected([RowError(2, "", _("The file has no rows."))])
    with transaction.atomic():
        assets = [Asset(confidentiality_rank=f["confidentiality"].rank, **f) for f in valid]
        Asset.objects.bulk_create(assets, batch_size=2000)
        AssetChange.objects.bulk_create(
            (
                AssetChange(
                    asset=asset,
                    kind=ChangeKind.IMPORTED,
                    changed_by=by,
                    changes={"file": [None, uploaded.name]},
                )
                for asset in assets
            ),
            batch_size=2000,
        )
        audit.record(
            "asset.imported",
            actor=by,
            request=request,
            data={"file": uploaded.name, "rows": len(assets)},
        )
    return len(assets)


def parse_date(text):
    """ISO dates, and the 2025/4/1 form Excel writes when it saves a CSV."""
    if "/" in text:
        year, month, day = (int(part) for part in text.split("/"))
        return datetime.date(year, month, day)
    return datetime.date.fromisoformat(text)


# A cell starting with one of these runs as a formula when the CSV is opened in Excel.
FORMULA_STARTS = ("=", "+", "-", "@")


def _defused(value):
    """Text as a spreadsheet must show it, never run it: a leading quote, which Excel hides
    and the importer removes again."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _undefused(value):
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _row(asset):
    return [_defused(value) for value in _raw_row(asset)]


def _raw_row(asset):
    return [
        asset.name,
        asset.kind,
        asset.section.code,
        asset.confidentiality.code,
        asset.integrity.code,
        asset.availability.code,
        asset.tier.code,
        "1" if asset.has_personal_data else "0",
        "1" if asset.has_my_number else "0",
        asset.external_service,
        asset.contract_reference,
        asset.custodian.username if asset.custodian_id else "",
        asset.location,
        asset.status,
        asset.last_reviewed_on.isoformat() if asset.last_reviewed_on else "",
        asset.description,
    ]


def _export_queryset(assets):
    return assets.select_related(
        "section", "confidentiality", "integrity", "availability", "tier", "custodian"
    ).order_by("pk")


def csv_rows(assets):
    """CSV text, line by line; constant memory."""
    return csv_lines(
        COLUMNS, (_row(asset) for asset in _export_queryset(assets).iterator(chunk_size=2000))
    )


def xlsx_file(assets):
    """An xlsx file on disk written in openpyxl's write-only mode (rows are not kept in
    memory); the caller streams it and the file disappears when closed."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("assets")
    sheet.append(COLUMNS)
    if assets is not None:
        for asset in _export_queryset(assets).iterator(chunk_size=2000):
            # Control characters a CSV import or a form let through cannot go in a sheet.
            sheet.append(
                [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in _row(asset)]
            )
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return handle
