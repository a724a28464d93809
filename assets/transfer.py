"""CSV and Excel import and export of the register.

An import is all or nothing: every row is checked first, each problem is reported with its
row, its column and what is wrong, and nothing is written unless every row passes. The
page and the API hand the file to an import job (`start_import`, isms.imports); the job
checks and writes it with `run_import_job`. The export writes the same columns, so an
exported file can be edited and imported again; every cell goes through the core's
formula defusing (isms.exports).
"""

import codecs
import csv
import datetime
import hashlib
import io

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from isms import audit, imports
from isms.audit import AuditAction
from isms.exports import csv_lines, export_response, undefuse
from isms.imports import ImportRejected, RowError
from isms.models import department_id_of
from isms.pickers import NOT_NAMEABLE

from .access import assignable_sections, can_manage_any
from .custodians import may_keep
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

IMPORT_KIND = "assets"

__all__ = ["COLUMNS", "ImportRejected", "RowError", "csv_rows", "export", "import_assets"]


def read_rows(uploaded, name=None):
    """Rows of a CSV (UTF-8, with or without BOM, or Shift_JIS as Excel writes it) or an
    xlsx file, as (spreadsheet row number, {column: text})."""
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


# A date before this is a typing error, not a review (the city has no older register).
EARLIEST_DATE = datetime.date(1900, 1, 1)


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
        today = timezone.localdate()
        self.earliest_date = EARLIEST_DATE
        self.latest_date = today.replace(year=today.year + settings.IMPORT_DATE_HORIZON_YEARS)
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
            else:
                if not self.earliest_date <= fields["last_reviewed_on"] <= self.latest_date:
                    error(
                        "last_reviewed_on",
                        _("Write a date between %(earliest)s and %(latest)s.")
                        % {
                            "earliest": self.earliest_date.isoformat(),
                            "latest": self.latest_date.isoformat(),
                        },
                    )
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
        key = (user.pk, department_id_of(section))
        if key not in self.custodians:
            self.custodians[key] = may_keep(user, section)
        return user if self.custodians[key] else None


def checked_rows(uploaded, *, by, name=None, progress=None):
    """The fields of every row, or ImportRejected with every problem of the file: the
    rows' own problems, and a row that repeats an earlier one (it would create the same
    asset twice)."""
    validator = RowValidator(by)
    valid, errors, seen = [], [], {}
    count = 0
    for number, row in read_rows(uploaded, name):
        fields, row_errors = validator.validate(number, row)
        key = hashlib.sha256(repr(sorted(row.items())).encode()).digest()
        if key in seen:
            row_errors.append(
                RowError(number, "", _("This row repeats row %(row)s.") % {"row": seen[key]})
            )
        else:
            seen[key] = number
        errors += row_errors
        if not row_errors:
            valid.append(fields)
        count += 1
        if progress is not None:
            progress.checked(count)
    if progress is not None:
        progress.checked(count, final=True)
    if errors:
        raise ImportRejected(errors)
    if not valid:
        raise ImportRejected([RowError(2, "", _("The file has no rows."))])
    return valid


WRITE_BATCH = 2000


def _write(valid, *, by, file_name, request=None, job=None, progress=None):
    """Insert the assets and their history in batches; the caller holds the transaction."""
    _lock_sections({f["section"].pk for f in valid})
    written = 0
    for start in range(0, len(valid), WRITE_BATCH):
        batch = [
            Asset(confidentiality_rank=f["confidentiality"].rank, **f)
            for f in valid[start : start + WRITE_BATCH]
        ]
        Asset.objects.bulk_create(batch)
        AssetChange.objects.bulk_create(
            AssetChange(
                asset=asset,
                kind=ChangeKind.IMPORTED,
                changed_by=by,
                changes={"file": [None, file_name]},
            )
            for asset in batch
        )
        written += len(batch)
        if progress is not None:
            progress.written(written)
    data = {"file": file_name, "rows": written}
    if job is not None:
        data["job"] = job.pk
    audit.record(AuditAction.ASSET_IMPORTED, actor=by, request=request, data=data)
    return written


def _lock_sections(section_ids):
    """Imports into the same sections write one after the other (a head's and a chief's
    job have different scopes but may hold rows of the same section). Locks are taken in
    one order, so two imports cannot wait for each other."""
    if connection.vendor == "postgresql" and section_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, s) FROM (SELECT unnest(%s::int[]) AS s "
                "ORDER BY s) AS sections",
                [ADVISORY_LOCK_SPACE, sorted(section_ids)],
            )


# The first key of the two-key advisory locks this module takes (any constant of its own).
ADVISORY_LOCK_SPACE = 7001


def import_assets(uploaded, *, by, request=None):
    """Create every asset of the file, or none, in this process. Returns the number
    created; raises ImportRejected with every problem found. The page and the API use
    start_import() instead, which does the same in a job."""
    valid = checked_rows(uploaded, by=by)
    with transaction.atomic():
        return _write(valid, by=by, file_name=uploaded.name, request=request)


def import_scope(user):
    """The unit an importer's jobs are counted against (one running job per unit): the
    highest unit whose assets they manage, i.e. the department of a head, the section of
    a chief."""
    from guardian.shortcuts import get_objects_for_user

    from isms.models import Department

    granted = list(
        get_objects_for_user(
            user,
            "isms.manage_assets",
            klass=Department,
            accept_global_perms=False,
            with_superuser=False,
        ).order_by("sort_order", "code")
    )
    ids = {d.pk for d in granted}
    return next((d for d in granted if d.parent_id not in ids), None)


def check_may_import(by):
    """Refuse people who manage no section: start_import() asks, and the API asks before it
    reads the file."""
    if not can_manage_any(by):
        raise PermissionDenied(_("Only section chiefs and department heads import assets."))


def start_import(uploaded, *, by, request=None):
    """Queue the import of an uploaded file as a job (see isms.imports); returns the job.
    Raises ImportRefused when the same file is already imported or the unit is busy."""
    check_may_import(by)
    return imports.start_import(
        IMPORT_KIND, uploaded, by=by, scope=import_scope(by), request=request
    )


def run_import_job(job, progress):
    """The import job's work: check every row of the stored file, then write them all in
    one transaction together with the job's success."""
    with job.file.open("rb") as handle:
        valid = checked_rows(handle, by=job.created_by, name=job.original_name, progress=progress)
    return imports.write_once(
        job,
        lambda: _write(
            valid, by=job.created_by, file_name=job.original_name, job=job, progress=progress
        ),
    )


def parse_date(text):
    """ISO dates, and the 2025/4/1 form Excel writes when it saves a CSV."""
    if "/" in text:
        year, month, day = (int(part) for part in text.split("/"))
        return datetime.date(year, month, day)
    return datetime.date.fromisoformat(text)


def _row(asset):
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


def export_rows(assets):
    """The export's rows of `assets`, one at a time (None: no rows, as in the import
    template)."""
    if assets is None:
        return iter(())
    return map(_row, _export_queryset(assets).iterator(chunk_size=2000))


def csv_rows(assets):
    """The CSV the export writes, line by line; constant memory."""
    return csv_lines(COLUMNS, export_rows(assets))


def export(assets, output, *, filename="assets"):
    """The download of `assets` as CSV or xlsx (see isms.exports.export_response)."""
    return export_response(filename, COLUMNS, export_rows(assets), output, sheet="assets")
