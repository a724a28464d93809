"""Japanese era dates (和暦) and fiscal years, as the policy texts and the UI write them."""

import datetime

import pytest
from django.template import Context, Template
from django.utils import translation

from isms.eras import fiscal_year, fiscal_year_label, parse_era, to_era

D = datetime.date


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (D(2025, 11, 27), "令和7年11月27日"),
        (D(2025, 4, 1), "令和7年4月1日"),
        (D(2019, 5, 1), "令和元年5月1日"),
        (D(2020, 1, 1), "令和2年1月1日"),
        (D(2019, 4, 30), "平成31年4月30日"),
        (D(1989, 1, 8), "平成元年1月8日"),
        (D(2003, 4, 1), "平成15年4月1日"),
        (D(1989, 1, 7), "昭和64年1月7日"),
    ],
)
def test_to_era(date, expected):
    assert to_era(date) == expected


@pytest.mark.parametrize(
    "date",
    [
        D(2025, 11, 27),
        D(2019, 5, 1),
        D(2019, 4, 30),
        D(1989, 1, 8),
        D(1989, 1, 7),
        D(2003, 4, 1),
        D(2024, 2, 29),
        D(2030, 12, 31),
    ],
)
def test_parse_era_round_trips(date):
    assert parse_era(to_era(date)) == date


def test_parse_era_reads_the_first_year_written_gannen():
    assert parse_era("令和元年5月1日") == D(2019, 5, 1)
    assert parse_era("平成元年1月8日") == D(1989, 1, 8)


def test_parse_era_accepts_full_width_digits():
    assert parse_era("令和７年１１月２７日") == D(2025, 11, 27)
    assert parse_era("平成１５年４月１日") == D(2003, 4, 1)


def test_parse_era_finds_the_date_within_a_sentence():
    assert parse_era("この方針は、令和7年4月1日から施行する。") == D(2025, 4, 1)


@pytest.mark.parametrize(
    "text",
    [
        "平成32年1月1日",  # 平成 ended on 2019-04-30
        "令和元年4月1日",  # 令和 began on 2019-05-01
        "平成元年1月7日",  # still 昭和64年
        "令和7年2月30日",  # no such day in any era
        "2025年4月1日",  # no era at all
        "",
    ],
)
def test_parse_era_rejects_dates_that_do_not_exist(text):
    with pytest.raises(ValueError):
        parse_era(text)


@pytest.mark.parametrize(
    ("date", "year"),
    [
        (D(2026, 3, 31), 2025),
        (D(2026, 4, 1), 2026),
        (D(2025, 4, 1), 2025),
        (D(2026, 1, 1), 2025),
        (D(2025, 12, 31), 2025),
    ],
)
def test_fiscal_year_runs_from_april_to_march(date, year):
    assert fiscal_year(date) == year


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2026, "令和8年度"),
        (2020, "令和2年度"),
        (2019, "令和元年度"),  # 令和 began within FY2019 (2019-05-01)
        (2018, "平成30年度"),
        (1989, "平成元年度"),
    ],
)
def test_fiscal_year_label_names_the_era_in_japanese(year, expected):
    assert fiscal_year_label(year, "ja") == expected


def test_fiscal_year_label_is_fy_and_the_year_in_english():
    assert fiscal_year_label(2026, "en") == "FY2026"


def test_fiscal_year_label_follows_the_active_language():
    with translation.override("ja"):
        assert fiscal_year_label(2026) == "令和8年度"
    with translation.override("en"):
        assert fiscal_year_label(2026) == "FY2026"


def test_the_template_filter_labels_a_fiscal_year_in_the_readers_language():
    template = Template("{% load isms %}{{ year|fiscal_year_label }}")
    with translation.override("ja"):
        assert template.render(Context({"year": 2026})) == "令和8年度"
    with translation.override("en"):
        assert template.render(Context({"year": 2026})) == "FY2026"
    assert template.render(Context({"year": None})) == ""
