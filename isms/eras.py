"""Japanese era dates (和暦): 令和7年11月27日 and back again."""

import datetime
import re
import unicodedata

from django.utils.formats import date_format
from django.utils.translation import get_language

# (name, first day). Only the eras a policy still in force can mention.
ERAS = [
    ("令和", datetime.date(2019, 5, 1)),
    ("平成", datetime.date(1989, 1, 8)),
    ("昭和", datetime.date(1926, 12, 25)),
]

ERA_DATE_RE = re.compile(r"(令和|平成|昭和)\s*(元|\d{1,2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


def to_era(date: datetime.date) -> str:
    """令和7年11月27日 for 2025-11-27; the first year of an era is written 元年."""
    for name, start in ERAS:
        if date >= start:
            year = date.year - start.year + 1
            year_text = "元" if year == 1 else str(year)
            return f"{name}{year_text}年{date.month}月{date.day}日"
    return f"{date.year}年{date.month}月{date.day}日"


def parse_era(text: str) -> datetime.date:
    """The date written in `text` (full-width digits allowed); ValueError if there is none
    or it does not exist in that era."""
    normalised = unicodedata.normalize("NFKC", text)
    match = ERA_DATE_RE.search(normalised)
    if not match:
        raise ValueError(f"no Japanese era date in {text!r}")
    era, year_text, month, day = match.groups()
    start = dict(ERAS)[era]
    year = 1 if year_text == "元" else int(year_text)
    date = datetime.date(start.year + year - 1, int(month), int(day))
    following = [s for _, s in ERAS if s > start]
    if date < start or (following and date >= min(following)):
        raise ValueError(f"{match.group(0)} does not exist")
    return date


def fiscal_year(date: datetime.date) -> int:
    """Japanese fiscal years (年度) run from April to March: 2026-03-31 is in FY2025."""
    return date.year if date.month >= 4 else date.year - 1


def fiscal_year_label(year: int, language: str | None = None) -> str:
    """令和8年度 for 2026 in Japanese, FY2026 in English (the active language unless given).

    A fiscal year is named by the era its April falls in: FY2019 began on 2019-04-01, still
    平成31年, but the city (like the national government) calls it 令和元年度 because 令和
    began within it; FY2018 is 平成30年度.
    """
    if language is None:
        language = get_language() or "ja"
    if not language.startswith("ja"):
        return f"FY{year}"
    if year >= 2019:
        era, start = "令和", 2019
    elif year >= 1989:
        era, start = "平成", 1989
    elif year >= 1926:
        era, start = "昭和", 1926
    else:
        return f"{year}年度"
    number = year - start + 1
    return f"{era}{'元' if number == 1 else number}年度"


def date_label(date: datetime.date) -> str:
    """A date for a reader outside a template (a PDF): 令和8年4月1日 in Japanese,
    1 April 2026 in English, as the `era` template filter writes it."""
    if (get_language() or "ja").startswith("ja"):
        return to_era(date)
    return date_format(date, "j F Y")


def month_label(month: datetime.date) -> str:
    """A month for a chart or a table: 令和8年4月 in Japanese, April 2026 in English. The
    era is that of the month's last day, so May 2019 is 令和元年5月."""
    if (get_language() or "ja").startswith("ja"):
        last = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - (
            datetime.timedelta(days=1)
        )
        return to_era(last).rsplit("月", 1)[0] + "月"
    return date_format(month, "F Y")
