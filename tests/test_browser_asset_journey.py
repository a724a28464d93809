"""A section chief keeps the information asset register in a real headless Chromium.

情報政策課's chief adds a system, reclassifies it (the reason is required, and shows in the
history), reads the handling rules of its new level, then records a connection to an
internet-tier system without sanitisation and sees the register flag it under the
three-tier rules. Run alone with `pytest -m browser`; Debian's /usr/bin/chromium is used.

Assertions rest on URLs, form field ids, data-testid and data-* attributes, and on text
that is data (level names, handling rules, what the chief typed), not on translated labels.
"""

import re

import pytest
from playwright.sync_api import expect

from assets.models import Asset, AssetChange, AssetRelation, ChangeKind, RelationKind

pytestmark = pytest.mark.browser

# assets/migrations/0002_catalogue.py, C2_RULES["taking_out"]
C2_TAKING_OUT = "持出しは情報セキュリティ管理者（課長）の許可を得て、記録する。"
RULE = "lgwan-internet-unsanitised"


@pytest.fixture
def catalogue_live(transactional_db, catalogue):
    """Levels, handling rules and tiers, committed: a transactional test starts from empty
    tables, so the rows migration 0002 loaded are loaded again."""
    return catalogue


def field(page, name):
    """The wrapper of one form field (label, input, help, errors): templates/form_field.html."""
    return page.locator("div.field").filter(has=page.locator(f"#id_{name}"))


def test_a_section_chief_registers_reclassifies_and_connects_an_asset(
    people_live, catalogue_live, make_asset, log_in, live_server
):
    chief = people_live["chief"]
    homepage = make_asset("joho", c="1", tier="internet", name="市ホームページCMS")

    page = log_in("chief_joho")
    page.click('nav.main-nav a[href="/assets/"]')
    expect(page).to_have_url(f"{live_server.url}/assets/")
    expect(page.get_by_test_id("asset-table")).to_contain_text("市ホームページCMS")

    # --- add a system of 情報政策課 on the LGWAN tier, public for now -------------------------
    page.get_by_test_id("add-asset").click()
    expect(page).to_have_url(f"{live_server.url}/assets/new/")
    form = page.get_by_test_id("asset-form")
    # A new asset has no reason to give and no status to choose.
    expect(form.locator("#id_reason")).to_have_count(0)
    expect(form.locator("#id_status")).to_have_count(0)
    page.fill("#id_name", "文書管理システム")
    page.select_option("#id_kind", "system")
    page.select_option("#id_section", label="情報政策課")
    page.fill("#id_description", "起案・決裁・保存を行う庁内システム")
    page.fill("#id_location", "本庁舎サーバ室")
    page.select_option("#id_tier", label=catalogue_live["tiers"]["lgwan"].name)
    page.select_option("#id_confidentiality", label="機密性1")
    page.select_option("#id_integrity", label="完全性2")
    page.select_option("#id_availability", label="可用性1")
    page.check("#id_has_personal_data")
    # The custodian is chosen from the people who may keep it, not typed.
    page.select_option("#id_custodian_username", "staff_joho")
    form.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/assets/\d+/$"))
    asset = Asset.objects.get(name="文書管理システム")
    assert page.url == f"{live_server.url}/assets/{asset.pk}/"
    assert (asset.section.code, asset.tier.code, asset.confidentiality.code) == (
        "joho",
        "lgwan",
        "1",
    )
    assert asset.confidentiality_rank == 1
    assert asset.has_personal_data and not asset.has_my_number
    assert asset.custodian == people_live["staff"]
    expect(page.get_by_test_id("classification")).to_contain_text("機密性1")
    expect(page.get_by_test_id("history").locator('tr[data-kind="created"]')).to_have_count(1)
    # Public information: no taking-out rule yet; nothing broken.
    expect(page.get_by_test_id("handling-rules")).not_to_contain_text(C2_TAKING_OUT)
    expect(page.get_by_test_id("broken-rules")).to_have_count(0)

    # --- reclassify to 機密性2: the reason is required ----------------------------------
    page.get_by_test_id("edit-asset").click()
    expect(page).to_have_url(f"{live_server.url}/assets/{asset.pk}/edit/")
    expect(page.locator("#id_name")).to_have_value("文書管理システム")
    page.select_option("#id_confidentiality", label="機密性2")
    page.get_by_test_id("asset-form").locator("button[type=submit]").click()

    # Shown again, with the error on the reason field and the choice kept.
    expect(page).to_have_url(f"{live_server.url}/assets/{asset.pk}/edit/")
    reason = field(page, "reason")
    expect(reason).to_have_class(re.compile(r"\bhas-error\b"))
    # The summary at the top has the focus and links to the reason.
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    summary.locator('a[href="#id_reason"]').click()
    expect(page.locator("#id_reason")).to_be_focused()
    expect(reason.locator("p.error")).to_have_count(1)
    expect(page.locator("div.field.has-error")).to_have_count(1)
    expect(page.locator("#id_confidentiality option:checked")).to_have_text("機密性2")
    asset.refresh_from_db()
    assert asset.confidentiality.code == "1"
    assert not asset.history.filter(kind=ChangeKind.CLASSIFIED).exists()

    why = "住民の個人情報を含む起案文書を扱うため"
    page.fill("#id_reason", why)
    page.get_by_test_id("asset-form").locator("button[type=submit]").click()

    # (The browser keeps the #id_reason the summary's link added to the address.)
    expect(page).to_have_url(re.compile(rf"/assets/{asset.pk}/(#id_reason)?$"))
    expect(page.get_by_test_id("classification")).to_contain_text("機密性2")
    asset.refresh_from_db()
    assert (asset.confidentiality.code, asset.confidentiality_rank) == ("2", 2)

    # The handling rules of 機密性2 now apply.
    expect(page.get_by_test_id("handling-rules")).to_contain_text(C2_TAKING_OUT)

    # The history shows the change, from which level to which, and why.
    classified = page.get_by_test_id("history").locator('tr[data-kind="classified"]')
    expect(classified).to_have_count(1)
    expect(classified).to_contain_text(why)
    expect(classified).to_contain_text("機密性1")
    expect(classified).to_contain_text("機密性2")
    change = AssetChange.objects.get(asset=asset, kind=ChangeKind.CLASSIFIED)
    assert change.changed_by == chief
    assert change.reason == why
    assert change.changes == {"confidentiality": ["機密性1", "機密性2"]}

    # --- connect it to the internet tier without sanitisation -------------------------
    relation_form = page.get_by_test_id("relation-form")
    relation_form.locator("#id_kind").select_option(RelationKind.CONNECTS_TO)
    # The related asset is chosen among those the chief sees, by name, not by number.
    relation_form.locator("#id_target").select_option(
        label=f"#{homepage.pk} 市ホームページCMS (情報政策課)"
    )
    expect(relation_form.locator("#id_sanitised")).not_to_be_checked()
    relation_form.get_by_test_id("add-relation").click()

    expect(page).to_have_url(f"{live_server.url}/assets/{asset.pk}/#main")
    relation = AssetRelation.objects.get(source=asset)
    assert (relation.kind, relation.target, relation.sanitised) == (
        RelationKind.CONNECTS_TO,
        homepage,
        False,
    )
    expect(
        page.get_by_test_id("relations").locator(f'a[href="/assets/{homepage.pk}/"]')
    ).to_be_visible()
    broken = page.get_by_test_id("broken-rules")
    expect(broken).to_be_visible()
    expect(broken.locator(f'[data-rule="{RULE}"]')).to_have_count(1)

    # The findings page lists it under that rule, and the register's rule filter finds it.
    page.goto("/assets/rules/")
    finding = page.locator(f'section[data-rule="{RULE}"]')
    expect(finding.locator(f'a[href="/assets/{asset.pk}/"]')).to_have_text("文書管理システム")
    finding.locator(f'a[href="/assets/?rule={RULE}"]').click()
    expect(page).to_have_url(f"{live_server.url}/assets/?rule={RULE}")
    rows = page.get_by_test_id("asset-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(f'a[href="/assets/{asset.pk}/"]')).to_be_visible()


def csp_violations(page):
    """What the browser reports as blocked by the Content-Security-Policy, or any other
    console error, while the test runs."""
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_a_chief_finds_the_related_asset_by_typing_part_of_its_name(
    people_live, catalogue_live, make_asset, log_in, live_server
):
    """Among more assets than a select holds, the picker searches as the chief types
    (static/js/picker.js), announces the count, and is used with the keyboard alone."""
    source = make_asset("joho", c="2", name="文書管理システム")
    for number in range(60):
        make_asset("joho", c="2", name=f"端末{number:03d}")
    wanted = make_asset("joho", c="1", tier="internet", name="市ホームページCMS")
    hidden = make_asset("gakko", c="2", name="市立学校成績処理")

    page = log_in("chief_joho")
    errors = csp_violations(page)
    page.goto(f"/assets/{source.pk}/")
    form = page.get_by_test_id("relation-form")
    form.locator("#id_kind").select_option(RelationKind.CONNECTS_TO)
    search = form.get_by_role("searchbox")
    expect(search).to_have_attribute("id", "id_target")
    search.focus()
    page.keyboard.type("市")
    # The matches replace the list without leaving the page; nothing of 教育部 is offered.
    results = form.get_by_test_id("target-results")
    expect(results.locator("input[type=radio]")).to_have_count(1)
    expect(results).to_contain_text("市ホームページCMS")
    expect(results).not_to_contain_text(hidden.name)
    expect(form.locator("[data-picker-status]")).to_contain_text("1")
    expect(page).to_have_url(f"{live_server.url}/assets/{source.pk}/")
    # Enter in the search box searches; it does not send the form.
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/assets/{source.pk}/")
    # Tab to the match, choose it with the space bar, tab on to the form's button.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(results.locator("input[type=radio]")).to_be_focused()
    page.keyboard.press("Space")
    expect(results.locator("input[type=radio]")).to_be_checked()
    form.get_by_test_id("add-relation").click()

    expect(page).to_have_url(f"{live_server.url}/assets/{source.pk}/#main")
    expect(page.get_by_test_id("messages")).to_be_in_viewport()
    relation = AssetRelation.objects.get(source=source)
    assert (relation.kind, relation.target) == (RelationKind.CONNECTS_TO, wanted)
    assert errors == []


def test_without_its_script_the_pickers_search_button_brings_the_matches(
    people_live, catalogue_live, make_asset, log_in, live_server
):
    source = make_asset("joho", c="2", name="文書管理システム")
    for number in range(60):
        make_asset("joho", c="2", name=f"端末{number:03d}")
    page = log_in("chief_joho")
    # The picker's script never arrives (blocked, old browser, failed download).
    page.route("**/js/picker.js", lambda route: route.abort())
    page.goto(f"/assets/{source.pk}/")
    form = page.get_by_test_id("relation-form")
    form.locator("#id_kind").select_option(RelationKind.STORED_ON)
    form.locator("#id_target").fill("端末05")
    form.locator("button[name=picker-search]").click()

    form = page.get_by_test_id("relation-form")
    expect(form.locator("#id_target")).to_have_value("端末05")
    expect(form.locator("#id_kind")).to_have_value(RelationKind.STORED_ON)
    radios = form.get_by_test_id("target-results").locator("input[type=radio]")
    expect(radios).to_have_count(10)
    form.get_by_label("端末057").check()
    form.get_by_test_id("add-relation").click()
    expect(page).to_have_url(f"{live_server.url}/assets/{source.pk}/#main")
    assert AssetRelation.objects.get(source=source).target.name == "端末057"
