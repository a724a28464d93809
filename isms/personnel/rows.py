"""The two files of the personnel system, row by row: their columns (with the Japanese
headers personnel systems write), and each row checked on its own into a typed row or
named problems. What a row means against the portal's state is plan.py's business."""

import datetime
import re
from dataclasses import asdict, dataclass

from django.conf import settings
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from ..imports import RowError
from ..models import DepartmentKind, EmploymentType
from ..tables import parse_date

ORGANISATION_COLUMNS = [
    "code",
    "name",
    "name_en",
    "kind",
    "parent",
    "valid_from",
    "valid_until",
    "successor",
    "sort_order",
]
ORGANISATION_REQUIRED = {"code", "name", "kind"}
ORGANISATION_HEADERS = {
    "組織コード": "code",
    "所属コード": "code",
    "組織名": "name",
    "名称": "name",
    "英語名": "name_en",
    "種別": "kind",
    "上位組織コード": "parent",
    "上位コード": "parent",
    "開始日": "valid_from",
    "終了日": "valid_until",
    "統合先コード": "successor",
    "後継組織コード": "successor",
    "表示順": "sort_order",
}

STAFF_COLUMNS = [
    "staff_number",
    "family_name",
    "given_name",
    "family_name_reading",
    "given_name_reading",
    "email",
    "section",
    "post",
    "employment_type",
    "start_date",
    "end_date",
    "login",
]
STAFF_REQUIRED = {"staff_number", "family_name", "given_name", "section"}
STAFF_HEADERS = {
    "職員番号": "staff_number",
    "姓": "family_name",
    "名": "given_name",
    "姓カナ": "family_name_reading",
    "姓（カナ）": "family_name_reading",
    "セイ": "family_name_reading",
    "名カナ": "given_name_reading",
    "名（カナ）": "given_name_reading",
    "メイ": "given_name_reading",
    "メールアドレス": "email",
    "所属コード": "section",
    "役職": "post",
    "任用区分": "employment_type",
    "雇用区分": "employment_type",
    "開始日": "start_date",
    "発令日": "start_date",
    "終了日": "end_date",
    "退職日": "end_date",
    "ログインID": "login",
    "ログイン名": "login",
}

KIND_WORDS = {
    "body": DepartmentKind.BODY,
    "機関": DepartmentKind.BODY,
    "部局": DepartmentKind.BODY,
    "department": DepartmentKind.DEPARTMENT,
    "部": DepartmentKind.DEPARTMENT,
    "section": DepartmentKind.SECTION,
    "課": DepartmentKind.SECTION,
    "課室": DepartmentKind.SECTION,
}
EMPLOYMENT_WORDS = {
    **{choice.value: choice.value for choice in EmploymentType},
    "正規": EmploymentType.REGULAR,
    "正規職員": EmploymentType.REGULAR,
    "再任用": EmploymentType.REAPPOINTED,
    "再任用職員": EmploymentType.REAPPOINTED,
    "会計年度任用": EmploymentType.FISCAL_YEAR,
    "会計年度任用職員": EmploymentType.FISCAL_YEAR,
    "臨時": EmploymentType.TEMPORARY,
    "臨時的任用": EmploymentType.TEMPORARY,
    "臨時的任用職員": EmploymentType.TEMPORARY,
    "派遣": EmploymentType.SECONDED,
    "出向": EmploymentType.SECONDED,
}
# Unit codes are slugs (Department.code); staff numbers are letters, digits and hyphens.
CODE = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")
STAFF_NUMBER = re.compile(r"^[-A-Za-z0-9]{1,32}$")
EARLIEST_DATE = datetime.date(1900, 1, 1)
# Department.sort_order is an integer column.
MAX_SORT_ORDER = 2_147_483_647
# User.display_name holds "family given".
MAX_DISPLAY_NAME = 100


@dataclass
class UnitRow:
    row: int
    code: str
    name: str
    name_en: str
    kind: str
    parent: str
    valid_from: datetime.date | None
    valid_until: datetime.date | None
    successor: str
    sort_order: int | None


@dataclass
class StaffRow:
    row: int
    staff_number: str
    family_name: str
    given_name: str
    family_name_reading: str
    given_name_reading: str
    email: str
    section: str
    post: str | None  # None: the file has no such column (the person's stays)
    employment_type: str | None
    start_date: datetime.date | None
    end_date: datetime.date | None
    login: str

    @property
    def display_name(self):
        return f"{self.family_name} {self.given_name}"

    @property
    def username(self):
        return self.login or self.staff_number


def as_json(row):
    """A checked row as the batch keeps it (dates in ISO 8601)."""
    return {
        key: value.isoformat() if isinstance(value, datetime.date) else value
        for key, value in asdict(row).items()
    }


def from_json(kind_cls, data):
    values = dict(data)
    for key in ("valid_from", "valid_until", "start_date", "end_date"):
        if values.get(key):
            values[key] = datetime.date.fromisoformat(values[key])
    return kind_cls(**values)


class _Checker:
    def __init__(self, number, row, errors):
        self.number, self.row, self.errors = number, row, errors
        self.ok = True

    def error(self, column, message):
        self.ok = False
        self.errors.append(RowError(self.number, column, message))

    def text(self, column, max_length, *, required=False):
        value = self.row.get(column, "")
        if "\x00" in value:
            self.error(column, _("The text contains a NUL character."))
            return ""
        if required and not value:
            self.error(column, _("This column is required."))
        elif len(value) > max_length:
            self.error(column, _("At most %(count)s characters.") % {"count": max_length})
        return value

    def date(self, column):
        value = self.row.get(column, "")
        if not value:
            return None
        try:
            date = parse_date(value)
        except (ValueError, OverflowError):
            self.error(column, _("Not a date; write it as 2027-04-01."))
            return None
        horizon = datetime.date.today().year + settings.IMPORT_DATE_HORIZON_YEARS
        if date < EARLIEST_DATE or date.year > horizon:
            self.error(column, _("This date is out of range."))
            return None
        return date


def check_unit_row(number, row, errors):
    """A UnitRow, or None when the row has problems (added to `errors`)."""
    check = _Checker(number, row, errors)
    code = check.text("code", 60, required=True)
    if code and not CODE.match(code):
        check.error("code", _("A code is letters, digits, hyphens and underscores."))
    name = check.text("name", 100, required=True)
    name_en = check.text("name_en", 100)
    kind_text = row.get("kind", "")
    kind = KIND_WORDS.get(kind_text.lower() if kind_text.isascii() else kind_text)
    if kind is None:
        check.error("kind", _("Write body, department or section (機関, 部, 課)."))
    parent = check.text("parent", 60)
    successor = check.text("successor", 60)
    valid_from = check.date("valid_from")
    valid_until = check.date("valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        check.error("valid_until", _("The end lies before the start."))
    if successor and not valid_until:
        check.error("successor", _("A unit is merged into its successor on its end date."))
    if successor and successor == code:
        check.error("successor", _("A unit cannot be its own successor."))
    if parent and parent == code:
        check.error("parent", _("A unit cannot be its own parent."))
    sort_text = row.get("sort_order", "")
    sort_order = None
    if sort_text:
        try:
            sort_order = int(sort_text)
            if not 0 <= sort_order <= MAX_SORT_ORDER:
                raise ValueError
        except ValueError:
            check.error("sort_order", _("Write a whole number, 0 or more."))
    if not check.ok:
        return None
    return UnitRow(
        number, code, name, name_en, kind, parent, valid_from, valid_until, successor, sort_order
    )


def check_staff_row(number, row, errors):
    """A StaffRow, or None when the row has problems (added to `errors`)."""
    check = _Checker(number, row, errors)
    staff_number = check.text("staff_number", 32, required=True)
    if staff_number and not STAFF_NUMBER.match(staff_number):
        check.error("staff_number", _("A staff number is letters, digits and hyphens."))
    family_name = check.text("family_name", 75, required=True)
    given_name = check.text("given_name", 75, required=True)
    if len(family_name) + 1 + len(given_name) > MAX_DISPLAY_NAME:
        check.error(
            "given_name",
            _("The family and given names together are at most %(count)s characters.")
            % {"count": MAX_DISPLAY_NAME - 1},
        )
    family_reading = check.text("family_name_reading", 150)
    given_reading = check.text("given_name_reading", 150)
    email = check.text("email", 254)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            check.error("email", _("Not an e-mail address."))
    section = check.text("section", 60, required=True)
    # A file without the column (not a blank cell) leaves the person's post and employment
    # type as they are: None, rather than "" that would take back every role a post gives.
    post = check.text("post", 50) if "post" in row else None
    employment_text = row.get("employment_type", "")
    employment = EMPLOYMENT_WORDS.get(employment_text, None) if employment_text else ""
    if employment is None:
        check.error(
            "employment_type",
            _("Write one of: %(choices)s.")
            % {
                "choices": ", ".join(
                    label for label in ("正規", "再任用", "会計年度任用", "臨時", "出向")
                )
            },
        )
    start = check.date("start_date")
    end = check.date("end_date")
    if start and end and end < start:
        check.error("end_date", _("The last day lies before the first."))
    login = check.text("login", 150)
    if login:
        try:
            UnicodeUsernameValidator()(login)
        except ValidationError:
            check.error("login", _("A login name is letters, digits and @ . + - _ only."))
    if not check.ok:
        return None
    return StaffRow(
        number,
        staff_number,
        family_name,
        given_name,
        family_reading,
        given_reading,
        email,
        section,
        post,
        (employment or "") if "employment_type" in row else None,
        start,
        end,
        login,
    )
