"""The heat map reads without colour (issue 12): a legend states each band and its
thresholds, every rate cell shows its number with a symbol and a band word besides its
colour, and the table scrolls in its own keyboard-focusable box. The finding list and the
cycle pages fold into cards on a phone instead of widening the page.

Assertions rest on classes, data attributes, ids and numbers, not translated text."""

import pytest
from django.utils import translation

from audits import heatmap, reports, services
from audits.models import Result

from .audit_helpers import inspection, open_cycle, record_finding
from .pages import page


@pytest.fixture
def cycle(org, people):
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    somu = inspection(cycle, org["somu"])
    items = list(cycle.checklist.items.order_by("pk"))
    # organisation: all compliant (100); assets: three partly compliant, the rest compliant
    # (75 to 85 for six to ten items); physical: not compliant (0); nothing else answered.
    by_area = {}
    for item in items:
        by_area.setdefault(item.area, []).append(item)
    answers = {item.pk: (Result.COMPLIANT, "") for item in by_area["organisation"]}
    assets = by_area["assets"]
    answers |= {item.pk: (Result.COMPLIANT, "") for item in assets}
    answers |= {item.pk: (Result.PARTLY, "") for item in assets[:3]}
    answers |= {item.pk: (Result.NOT_COMPLIANT, "") for item in by_area["physical"]}
    services.save_answers(somu, answers, by=people["head"])
    record_finding(cycle, org["somu"], by=people["admin"])
    return cycle


@pytest.mark.parametrize(
    "rate, band", [(100, "high"), (90, "high"), (89, "mid"), (70, "mid"), (69, "low"), (0, "low")]
)
def test_each_rate_falls_in_the_band_the_legend_states(rate, band):
    assert heatmap.band(rate).code == band
    assert heatmap.band(None).code == "none"


def test_the_legend_names_every_band_with_its_symbol_and_thresholds(cycle, as_role):
    dom = page(as_role("ciso").get(f"/audits/cycles/{cycle.pk}/report/"))
    legend = dom.find(testid="heat-legend")
    items = legend.find_all("li")
    assert [li.find(cls="swatch").classes - {"swatch"} for li in items] == [
        {"heat-high"},
        {"heat-mid"},
        {"heat-low"},
        {"heat-none"},
    ]
    text = legend.text
    assert "90" in text and "70" in text
    assert [li.find(cls="swatch").text for li in items] == ["◎", "△", "×", "—"]


def cells_of(dom, department):
    table = dom.find("table", testid="heatmap")
    row = next(tr for tr in table.find("tbody").find_all("tr") if department in tr.find("th").text)
    return row.find_all("td", cls="rate")


def test_every_rate_cell_shows_its_number_a_symbol_and_a_band_word_besides_colour(cycle, as_role):
    dom = page(as_role("ciso").get(f"/audits/cycles/{cycle.pk}/report/"))
    cells = cells_of(dom, "総務部")
    overall, organisation, assets, resilience, physical, *rest = cells
    rest.append(resilience)
    assert (organisation.attrs["data-band"], organisation.find(cls="value").text) == (
        "high",
        "100%",
    )
    n = len(assets_items(cycle))
    assets_rate = reports.rate({Result.COMPLIANT: n - 3, Result.PARTLY: 3})
    assert 70 <= assets_rate < 90
    assert (assets.attrs["data-band"], assets.find(cls="value").text) == (
        "mid",
        f"{assets_rate}%",
    )
    assert (physical.attrs["data-band"], physical.find(cls="value").text) == ("low", "0%")
    assert {cell.attrs["data-band"] for cell in rest} == {"none"}
    symbols = {"high": "◎", "mid": "△", "low": "×"}
    for cell in cells:
        band = cell.attrs["data-band"]
        assert f"heat-{band}" in cell.classes
        assert cell.find("span", cls="visually-hidden").text  # the band word
        if band == "none":
            assert cell.find(cls="value").text == "—"
        else:
            assert cell.find(cls="mark").text == symbols[band]


def assets_items(cycle):
    return list(cycle.checklist.items.filter(area="assets"))


def test_the_band_words_are_in_the_readers_language(cycle, as_role):
    client = as_role("ciso")
    japanese = cells_of(page(client.get(f"/audits/cycles/{cycle.pk}/report/")), "総務部")
    with translation.override("ja"):
        assert japanese[1].find(cls="visually-hidden").text == str(heatmap.band(100).label)


def test_the_heat_map_scrolls_in_a_focusable_named_box(cycle, as_role):
    dom = page(as_role("ciso").get(f"/audits/cycles/{cycle.pk}/report/"))
    for testid in ("heatmap", "findings-summary"):
        wrap = dom.find("table", testid=testid).parent
        assert "table-wrap" in wrap.classes
        assert wrap.attrs.get("tabindex") == "0"
        assert wrap.attrs.get("role") == "region"
        assert wrap.attrs.get("aria-label")


@pytest.mark.parametrize("testid, url", [("findings", "/audits/findings/"), ("cycles", "/audits/")])
def test_the_finding_list_and_the_cycle_list_fold_into_cards_on_a_phone(
    cycle, as_role, testid, url
):
    table = page(as_role("ciso").get(url)).find("table", testid=testid)
    assert "stack" in table.classes
    rows = table.find("tbody").find_all("tr")
    assert rows
    for row in rows:
        assert all(td.attrs.get("data-label") for td in row.find_all("td"))


def test_the_cycle_page_lists_its_departments_as_cards_on_a_phone(cycle, as_role):
    table = page(as_role("ciso").get(f"/audits/cycles/{cycle.pk}/")).find(
        "table", testid="cycle-inspections"
    )
    assert "stack" in table.classes
    for row in table.find("tbody").find_all("tr"):
        assert all(td.attrs.get("data-label") for td in row.find_all("td"))
