"""The asset register on a phone (390 px): the filters stack, however long the texts of
their options; each asset becomes a card whose fields are labelled; no page of the register
is wider than the screen. The screenshot docs/screenshots/asset-register-phone.png is
taken here."""

import pytest
from playwright.sync_api import expect

from .browser import PHONE, SCREENS, assert_fits_the_screen

pytestmark = pytest.mark.browser

SCREENSHOT = SCREENS / "asset-register-phone.png"


@pytest.fixture
def catalogue_live(transactional_db, catalogue):
    return catalogue


def test_the_register_fits_a_phone_with_one_card_per_asset(
    people_live, catalogue_live, make_asset, log_in
):
    make_asset(
        "joho",
        c="2",
        name="住民情報システム（住民基本台帳・税・福祉の各業務で共有する基幹系システム）",
        external_service="大分市情報システム共同利用センター",
    )
    make_asset("joho", c="1", tier="internet", name="市ホームページCMS")
    make_asset("somuka", c="3", tier="none", name="人事評価記録")

    page = log_in("head_somu", **PHONE)
    page.goto("/assets/")
    assert_fits_the_screen(page)
    filters = page.get_by_test_id("asset-filters")
    # The filters stack: each one as wide as the form, none wider than the screen.
    boxes = [control.bounding_box() for control in filters.locator("select, input").all()]
    assert len({round(box["x"]) for box in boxes}) == 1
    assert all(box["x"] + box["width"] <= 390 for box in boxes)

    table = page.get_by_test_id("asset-table")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(3)
    # A card per asset: the name on a line of its own, not one character a line.
    name = rows.first.locator("td").nth(1)
    expect(name).to_have_attribute("data-label", "名称")
    assert name.bounding_box()["width"] > 300
    # The cards, below the stacked filters.
    page.get_by_test_id("asset-filters").locator("button[type=submit]").scroll_into_view_if_needed()
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=False)

    # The asset, its form and the register's other pages fit too.
    rows.first.locator("a").first.click()
    assert_fits_the_screen(page)
    page.get_by_test_id("edit-asset").click()
    assert_fits_the_screen(page)
    for url in ("/assets/rules/", "/assets/reviews/", "/assets/new/", "/assets/import/"):
        page.goto(url)
        assert_fits_the_screen(page)
