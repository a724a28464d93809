"""CSV and Excel import and export of the register.

An import is all or nothing: every row is checked first, each problem is reported with its
row, its column and what is wrong, and nothing is written unless every row passes. The
page and the API hand the file to an import job (`start_import`, isms.imports); the job
checks and writes it with `run_import_job`. The export writes the same columns, so an
exported file can be edited and imported again; every cell goes through the core's
formula defusing (isms.exports).

The API's file has the column names and codes of COLUMNS, ISO dates and 1/0. The page's
file is for people: headers, kinds, levels, tiers, statuses and yes/no in the reader's
language and dates in the Japanese era in Japanese. The import reads either, whatever the
importer's language: each header, label and date form maps back to its column and code.
"""

import datetime
import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from isms import audit, imports
from isms.audit import AuditAction
from isms.exports import cell_bool, cell_date, csv_lines, export_response
from isms.imports import ImportRejected, RowError
from isms.models import department_id_of
from isms.pickers import NOT_NAMEABLE
from isms.tables import parse_date, read_table

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
# The headers of the file for people, in the reader's language.
HEADERS = {
    "name": pgettext_lazy("asset export", "Name"),
    "kind": pgettext_lazy("asset export", "Kind"),
    "section": pgettext_lazy("asset export", "Section code"),
    "confidentiality": pgettext_lazy("asset export", "Confidentiality"),
    "integrity": pgettext_lazy("asset export", "Integrity"),
    "availability": pgettext_lazy("asset export", "Availability"),
    "tier": pgettext_lazy("asset export", "Network tier"),
    "personal_data": pgettext_lazy("asset export", "Personal data"),
    "my_number": pgettext_lazy("asset export", "My Number data"),
    "external_service": pgettext_lazy("asset export", "External service or contractor"),
    "contract_reference": pgettext_lazy("asset export", "Contract"),
    "custodian": pgettext_lazy("asset export", "Custodian (user name)"),
    "location": pgettext_lazy("asset export", "Location"),
    "status": pgettext_lazy("asset export", "Status"),
    "last_reviewed_on": pgettext_lazy("asset export", "Last reviewed"),
    "description": pgettext_lazy("asset export", "Description"),
}
# An import reads a file written in either language, whatever the importer's own.
FILE_LANGUAGES = ("ja", "en")
TRUE_WORDS = {"1", "true", "yes", "y", "はい", "有", "あり", "○"}
FALSE_WORDS = {"", "0", "false", "no", "n", "いいえ", "無", "なし", "×"}

IMPORT_KIND = "assets"

__all__ = ["COLUMNS", "ImportRejected", "RowError", "csv_rows", "export", "import_assets"]


def _in_every_language(labels):
    """{label as written in any file language: value} for {value: lazy label}."""
    found = {}
    for language in FILE_LANGUAGES:
        with translation.override(language):
            found.update({str(label): value for value, label in labels.items()})
    return found


def header_aliases():
    """The headers of the file for people, in Japanese and English, to column names."""
    return _in_every_language(HEADERS)


def read_rows(uploaded, name=None):
    """Rows of a CSV (UTF-8, with or without BOM, or Shift_JIS as Excel writes it) or an
    xlsx file, as (spreadsheet row number, {column: text}); the headers may be the column
    names or the headers of the file for people."""
    return read_table(uploaded, COLUMNS, REQUIRED, name=name, aliases=header_aliases())


# A date before this is a typing error, not a review (the city has no older register).
EARLIEST_DATE = datetime.date(1900, 1, 1)


class RowValidator:
    """Looks everything up once, so checking 100,000 rows costs a few queries."""

    def __init__(self, user):
        from isms.models import Department

        levels = ClassificationLevel.objects.filter(scheme__is_active=True)
        self.levels = {(level.axis, level.code): level for level in levels}
        self.tiers = {tier.code: tier for tier in NetworkTier.objects.all()}
        # The names the file for people writes, to the codes (a code wins over a name).
        self.level_codes = {(level.axis, level.name): level.code for level in levels}
        self.tier_codes = {tier.name: tier.code for tier in self.tiers.values()}
        self.choice_codes = {
            "kind": _in_every_language(dict(AssetKind.choices)),
            "status": _in_every_language(dict(AssetStatus.choices)),
        }
        self.sections = {d.code: d for d in Department.objects.all()}
        self.allowed_sections = set(assignable_sections(user).values_list("pk", flat=True))
        self.users = {}  # custodians by user name, each looked up once
        today = timezone.localdate()
        self.earliest_date = EARLIEST_DATE
        self.latest_date = today.replace(year=today.year + settings.IMPORT_DATE_HORIZON_YEARS)
        self.custodians = {}  # (user id, department id): may keep its assets

    def codes(self, row):
        """The row with the labels of the file for people read as the codes they stand for."""
        row = dict(row)
        # Only the columns the file has: a missing one stays missing (a "Required." error
        # or the column's default), never None.
        for column, codes in self.choice_codes.items():
            if column in row and row[column] not in codes.values():
                row[column] = codes.get(row[column], row[column])
        for axis in (Axis.CONFIDENTIALITY, Axis.INTEGRITY, Axis.AVAILABILITY):
            if axis in row and (axis, row[axis]) not in self.levels:
                row[axis] = self.level_codes.get((axis, row[axis]), row[axis])
        if "tier" in row and row["tier"] not in self.tiers:
            row["tier"] = self.tier_codes.get(row["tier"], row["tier"])
        return row

    def validate(self, number, row):
        errors, fields = [], {}
        row = self.codes(row)

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
                error("last_reviewed_on", _("Write the date as YYYY-MM-DD or as 令和7年4月1日."))
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


def _readable_row(asset):
    """The row of the file for people: what the register's pages show, in the reader's
    language; the section and the custodian by the code and user name the import reads."""
    return [
        asset.name,
        asset.get_kind_display(),
        asset.section.code,
        asset.confidentiality.name,
        asset.integrity.name,
        asset.availability.name,
        asset.tier.name,
        cell_bool(asset.has_personal_data),
        cell_bool(asset.has_my_number),
        asset.external_service,
        asset.contract_reference,
        asset.custodian.username if asset.custodian_id else "",
        asset.location,
        asset.get_status_display(),
        cell_date(asset.last_reviewed_on),
        asset.description,
    ]


def _export_queryset(assets):
    return assets.select_related(
        "section", "confidentiality", "integrity", "availability", "tier", "custodian"
    ).order_by("pk")


def export_rows(assets, *, readable=False):
    """The export's rows of `assets`, one at a time (None: no rows, as in the import
    template); `readable`: the rows of the file for people."""
    if assets is None:
        return iter(())
    return map(
        _readable_row if readable else _row, _export_queryset(assets).iterator(chunk_size=2000)
    )


def csv_rows(assets):
    """The CSV the export writes, line by line; constant memory."""
    return csv_lines(COLUMNS, export_rows(assets))


def export(assets, output, *, filename="assets", readable=False):
    """The download of `assets` as CSV or xlsx (see isms.exports.export_response):
    `readable` for the pages' file in the reader's language, else the API's."""
    header = [HEADERS[column] for column in COLUMNS] if readable else COLUMNS
    rows = export_rows(assets, readable=readable)
    sheet = pgettext("sheet", "Information assets") if readable else "assets"
    return export_response(filename, header, rows, output, sheet=sheet)
