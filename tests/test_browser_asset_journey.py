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
    page.fill("#id_custodian_username", "staff_joho")
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
    expect(reason.locator("p.error")).to_have_count(1)
    expect(page.locator("div.field.has-error")).to_have_count(1)
    expect(page.locator("#id_confidentiality option:checked")).to_have_text("機密性2")
    asset.refresh_from_db()
    assert asset.confidentiality.code == "1"
    assert not asset.history.filter(kind=ChangeKind.CLASSIFIED).exists()

    why = "住民の個人情報を含む起案文書を扱うため"
    page.fill("#id_reason", why)
    page.get_by_test_id("asset-form").locator("button[type=submit]").click()

    expect(page).to_have_url(f"{live_server.url}/assets/{asset.pk}/")
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
    relation_form = page.locator(f'form[action="/assets/{asset.pk}/relations/"]')
    relation_form.locator("#id_kind").select_option(RelationKind.CONNECTS_TO)
    relation_form.locator("#id_target").fill(str(homepage.pk))
    expect(relation_form.locator("#id_sanitised")).not_to_be_checked()
    relation_form.locator("button").click()

    expect(page).to_have_url(f"{live_server.url}/assets/{asset.pk}/")
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
