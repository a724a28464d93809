"""The three-tier rules, the classification schemes and their handling rules, the annual
review, and the asset history that nobody can rewrite."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from assets import reviews, transfer
from assets.access import visible_assets
from assets.models import (
    Asset,
    AssetChange,
    AssetRelation,
    AssetStatus,
    ChangeKind,
    ClassificationLevel,
    ClassificationScheme,
    HandlingTopic,
    RelationKind,
)
from assets.tier_rules import RULES, rules_broken_by, tier_rule
from isms.exceptions import ImmutableRecordError

from .pages import page

MY_NUMBER_OUTSIDE = "my-number-outside-tier"
MY_NUMBER_CONNECTED = "my-number-connected"
LGWAN_UNSANITISED = "lgwan-internet-unsanitised"
EXTERNAL_NO_CONTRACT = "external-without-contract"
BUILT_IN = {MY_NUMBER_OUTSIDE, MY_NUMBER_CONNECTED, LGWAN_UNSANITISED, EXTERNAL_NO_CONTRACT}


def flagged(code, assets=None):
    """Names of the assets that break the rule."""
    assets = Asset.objects.all() if assets is None else assets
    return set(RULES[code].violations(assets).values_list("name", flat=True))


def connect(source, target, *, sanitised=False):
    return AssetRelation.objects.create(
        source=source, kind=RelationKind.CONNECTS_TO, target=target, sanitised=sanitised
    )


def store_on(source, target):
    return AssetRelation.objects.create(source=source, kind=RelationKind.STORED_ON, target=target)


def retire(asset):
    Asset.objects.filter(pk=asset.pk).update(status=AssetStatus.RETIRED)


def test_the_four_built_in_rules_are_registered():
    assert BUILT_IN <= set(RULES)


# --- My Number data outside the My Number tier ------------------------------------------


def test_my_number_data_on_another_tier_is_flagged(make_asset):
    make_asset("joho", tier="lgwan", has_my_number=True, name="LGWAN上の個人番号")
    make_asset("joho", tier="internet", has_my_number=True, name="ネット上の個人番号")
    make_asset("joho", tier="mynumber", has_my_number=True, name="正しい個人番号")
    make_asset("joho", tier="lgwan", has_my_number=False, name="個人番号なし")
    assert flagged(MY_NUMBER_OUTSIDE) == {"LGWAN上の個人番号", "ネット上の個人番号"}


def test_my_number_data_stored_on_a_system_of_another_tier_is_flagged(make_asset):
    mynumber_system = make_asset("joho", tier="mynumber", name="住基システム")
    lgwan_system = make_asset("joho", tier="lgwan", name="ファイルサーバ")
    stored_wrongly = make_asset("joho", tier="mynumber", has_my_number=True, name="誤った保管")
    stored_rightly = make_asset("joho", tier="mynumber", has_my_number=True, name="正しい保管")
    store_on(stored_wrongly, lgwan_system)
    store_on(stored_rightly, mynumber_system)
    assert flagged(MY_NUMBER_OUTSIDE) == {"誤った保管"}
    assert [r.code for r in rules_broken_by(stored_wrongly)] == [MY_NUMBER_OUTSIDE]
    assert rules_broken_by(stored_rightly) == []


def test_a_stored_on_relation_of_an_asset_without_my_number_data_is_not_flagged(make_asset):
    lgwan_system = make_asset("joho", tier="lgwan", name="ファイルサーバ")
    store_on(make_asset("joho", tier="mynumber", name="一般データ"), lgwan_system)
    assert flagged(MY_NUMBER_OUTSIDE) == set()


# --- My Number tier connected to another tier -------------------------------------------


def test_a_my_number_tier_system_connected_to_another_tier_is_flagged_in_either_direction(
    make_asset,
):
    outward = make_asset("joho", tier="mynumber", name="外向き接続")
    inward = make_asset("joho", tier="mynumber", name="内向き接続")
    groupware = make_asset("joho", tier="lgwan", name="グループウェア")
    website = make_asset("joho", tier="internet", name="ホームページ")
    connect(outward, groupware)
    connect(website, inward)
    assert flagged(MY_NUMBER_CONNECTED) == {"外向き接続", "内向き接続"}


def test_my_number_tier_systems_connected_to_each_other_are_not_flagged(make_asset):
    first = make_asset("joho", tier="mynumber", name="住基")
    second = make_asset("joho", tier="mynumber", name="税務")
    connect(first, second)
    connect(second, first)
    assert flagged(MY_NUMBER_CONNECTED) == set()


# --- LGWAN connected to the internet without sanitisation -------------------------------


def test_an_lgwan_system_connected_to_the_internet_tier_without_sanitisation_is_flagged(
    make_asset,
):
    outward = make_asset("joho", tier="lgwan", name="メール中継")
    inward = make_asset("joho", tier="lgwan", name="ファイル受信")
    website = make_asset("joho", tier="internet", name="ホームページ")
    mail = make_asset("joho", tier="internet", name="インターネットメール")
    connect(outward, website)
    connect(mail, inward)
    assert flagged(LGWAN_UNSANITISED) == {"メール中継", "ファイル受信"}
    assert [r.code for r in rules_broken_by(inward)] == [LGWAN_UNSANITISED]


def test_a_connection_through_sanitisation_is_not_flagged(make_asset):
    outward = make_asset("joho", tier="lgwan", name="無害化メール")
    inward = make_asset("joho", tier="lgwan", name="無害化ファイル")
    website = make_asset("joho", tier="internet", name="ホームページ")
    connect(outward, website, sanitised=True)
    connect(website, inward, sanitised=True)
    assert flagged(LGWAN_UNSANITISED) == set()


def test_lgwan_to_lgwan_and_a_stored_on_relation_to_the_internet_are_not_flagged(make_asset):
    first = make_asset("joho", tier="lgwan", name="文書管理")
    second = make_asset("joho", tier="lgwan", name="グループウェア")
    website = make_asset("joho", tier="internet", name="ホームページ")
    connect(first, second)
    store_on(second, website)
    assert flagged(LGWAN_UNSANITISED) == set()


# --- confidential asset held by an external service without a contract ------------------


def test_a_confidential_asset_held_externally_without_a_contract_is_flagged(make_asset):
    make_asset("joho", c="2", external_service="クラウド株式会社", name="機密性2委託")
    make_asset("joho", c="3", external_service="保守業者", name="機密性3委託")
    make_asset(
        "joho",
        c="2",
        external_service="クラウド株式会社",
        contract_reference="契約第1号",
        name="契約あり",
    )
    make_asset("joho", c="1", external_service="クラウド株式会社", name="公開情報の委託")
    make_asset("joho", c="3", name="庁内で保管")
    assert flagged(EXTERNAL_NO_CONTRACT) == {"機密性2委託", "機密性3委託"}


# --- retired assets ---------------------------------------------------------------------


def violators(make_asset):
    """One asset breaking each built-in rule."""
    lgwan = make_asset("joho", tier="lgwan", name="相手先LGWAN")
    internet = make_asset("joho", tier="internet", name="相手先インターネット")
    mynumber_connected = make_asset("joho", tier="mynumber", name="接続された個人番号系")
    connect(mynumber_connected, lgwan)
    lgwan_open = make_asset("joho", tier="lgwan", name="無害化なし")
    connect(lgwan_open, internet)
    return {
        MY_NUMBER_OUTSIDE: make_asset("joho", tier="lgwan", has_my_number=True, name="個人番号"),
        MY_NUMBER_CONNECTED: mynumber_connected,
        LGWAN_UNSANITISED: lgwan_open,
        EXTERNAL_NO_CONTRACT: make_asset("joho", c="2", external_service="業者", name="委託"),
    }


@pytest.mark.parametrize("code", sorted(BUILT_IN))
def test_a_retired_asset_is_not_flagged(make_asset, code):
    asset = violators(make_asset)[code]
    assert asset.name in flagged(code)
    assert code in [r.code for r in rules_broken_by(asset)]
    retire(asset)
    assert asset.name not in flagged(code)
    assert code not in [r.code for r in rules_broken_by(asset)]


def test_the_asset_page_and_api_name_the_rules_an_asset_breaks(make_asset, as_role, api_as, people):
    asset = violators(make_asset)[LGWAN_UNSANITISED]
    response = as_role("chief").get(f"/assets/{asset.pk}/")
    broken = page(response).find(testid="broken-rules")
    assert broken is not None
    assert [li.attrs["data-rule"] for li in broken.find_all("li")] == [LGWAN_UNSANITISED]
    response = api_as("chief").get(f"/api/assets/{asset.pk}/rules/")
    assert [r["code"] for r in response.json()["rules"]] == [LGWAN_UNSANITISED]

    clean = make_asset("joho", name="問題なし")
    assert page(as_role("chief").get(f"/assets/{clean.pk}/")).find(testid="broken-rules") is None


# --- custom rules -----------------------------------------------------------------------

CUSTOM = "no-location-recorded"


@pytest.fixture
def custom_rule():
    """A city's own rule, registered the documented way and removed after the test."""
    assert CUSTOM not in RULES

    @tier_rule(CUSTOM, "保管場所が未記入の資産")
    def no_location(assets):
        return assets.filter(location="")

    yield RULES[CUSTOM]
    RULES.pop(CUSTOM, None)


def test_a_custom_rule_appears_on_the_findings_page_and_in_the_rule_filter(
    custom_rule, make_asset, as_role, api_as
):
    make_asset("joho", c="2", name="場所不明", location="")
    make_asset("joho", c="2", name="場所あり", location="サーバ室")

    response = as_role("chief").get("/assets/rules/")
    section = page(response).find("section", data_rule=CUSTOM)
    assert section is not None
    assert "保管場所が未記入の資産" in section.find("h2").text
    assert [tr.find_all("td")[2].text for tr in section.find("tbody").find_all("tr")] == [
        "場所不明"
    ]

    response = as_role("chief").get("/assets/")
    options = page(response).find("select", name="rule").find_all("option")
    assert CUSTOM in [o.attrs.get("value") for o in options]

    response = as_role("chief").get("/assets/", {"rule": CUSTOM})
    table = page(response).find(testid="asset-table")
    assert "場所不明" in table.text
    assert "場所あり" not in table.text

    response = api_as("chief").get("/api/assets/", {"rule": CUSTOM})
    assert [a["name"] for a in response.json()["results"]] == ["場所不明"]


def test_the_custom_rule_is_gone_after_its_test():
    assert CUSTOM not in RULES


# --- the findings page, within what the viewer may see ----------------------------------


@pytest.fixture
def findings(make_asset):
    """Rule breakers in three sections of two departments."""
    return {
        "joho_confidential": make_asset(
            "joho", c="2", external_service="業者A", name="情報政策課の機密委託"
        ),
        "joho_public": make_asset(
            "joho", c="1", tier="lgwan", has_my_number=True, name="情報政策課の公開資産"
        ),
        "somuka_secret": make_asset(
            "somuka", c="3", tier="none", external_service="業者B", name="総務課の秘密委託"
        ),
        "gakko_confidential": make_asset(
            "gakko", c="2", external_service="業者C", name="学校教育課の機密委託"
        ),
    }


def findings_on_page(response):
    """{rule code: [(department, section, asset)]} as the findings page shows them."""
    assert response.status_code == 200
    shown = {}
    for section in page(response).find_all("section", cls="card"):
        code = section.attrs.get("data-rule")
        body = section.find("tbody")
        shown[code] = (
            [tuple(td.text for td in tr.find_all("td")[:3]) for tr in body.find_all("tr")]
            if body
            else []
        )
    return shown


@pytest.mark.parametrize(
    "role, expected",
    [
        (
            "other_head",
            {
                MY_NUMBER_OUTSIDE: [("総務部", "情報政策課", "情報政策課の公開資産")],
                EXTERNAL_NO_CONTRACT: [("教育部", "学校教育課", "学校教育課の機密委託")],
            },
        ),
        (
            "chief",
            {
                MY_NUMBER_OUTSIDE: [("総務部", "情報政策課", "情報政策課の公開資産")],
                EXTERNAL_NO_CONTRACT: [("総務部", "情報政策課", "情報政策課の機密委託")],
            },
        ),
        (
            "head",
            {
                MY_NUMBER_OUTSIDE: [("総務部", "情報政策課", "情報政策課の公開資産")],
                EXTERNAL_NO_CONTRACT: [
                    ("総務部", "情報政策課", "情報政策課の機密委託"),
                    ("総務部", "総務課", "総務課の秘密委託"),
                ],
            },
        ),
        (
            "staff_somuka",
            {
                MY_NUMBER_OUTSIDE: [("総務部", "情報政策課", "情報政策課の公開資産")],
                EXTERNAL_NO_CONTRACT: [("総務部", "総務課", "総務課の秘密委託")],
            },
        ),
        (
            "auditor",
            {
                MY_NUMBER_OUTSIDE: [("総務部", "情報政策課", "情報政策課の公開資産")],
                EXTERNAL_NO_CONTRACT: [
                    ("教育部", "学校教育課", "学校教育課の機密委託"),
                    ("総務部", "情報政策課", "情報政策課の機密委託"),
                    ("総務部", "総務課", "総務課の秘密委託"),
                ],
            },
        ),
    ],
)
def test_the_findings_page_lists_rule_breakers_per_department_within_what_the_viewer_sees(
    findings, as_role, role, expected
):
    shown = findings_on_page(as_role(role).get("/assets/rules/"))
    assert set(BUILT_IN) <= set(shown)
    for code in BUILT_IN:
        assert shown[code] == expected.get(code, []), code


def test_other_head_sees_no_trace_of_the_confidential_breakers_of_another_department(
    findings, as_role, api_as
):
    text = page(as_role("other_head").get("/assets/rules/")).find("main").text
    assert "情報政策課の機密委託" not in text
    assert "総務課の秘密委託" not in text
    response = api_as("other_head").get("/api/assets/", {"rule": EXTERNAL_NO_CONTRACT})
    assert [a["name"] for a in response.json()["results"]] == ["学校教育課の機密委託"]


def test_anonymous_visitors_are_sent_to_log_in_from_the_findings_page(as_role, findings):
    response = as_role("anonymous").get("/assets/rules/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("code", sorted(BUILT_IN))
def test_the_rule_filter_lists_exactly_the_breakers_of_that_rule(make_asset, api_as, code):
    expected = violators(make_asset)[code].name
    response = api_as("auditor").get("/api/assets/", {"rule": code})
    assert response.status_code == 200
    assert [a["name"] for a in response.json()["results"]] == [expected]


# --- classification schemes -------------------------------------------------------------


def switch_to(code):
    ClassificationScheme.objects.filter(is_active=True).update(is_active=False)
    ClassificationScheme.objects.filter(code=code).update(is_active=True)


def active_codes(axis="confidentiality"):
    return set(
        ClassificationLevel.objects.filter(scheme__is_active=True, axis=axis).values_list(
            "code", flat=True
        )
    )


def test_exactly_one_scheme_is_active(catalogue):
    assert ClassificationScheme.objects.filter(is_active=True).count() == 1
    assert ClassificationScheme.active().code == "classic"


def test_a_second_active_scheme_violates_the_constraint(catalogue):
    with pytest.raises(IntegrityError), transaction.atomic():
        ClassificationScheme.objects.create(code="local", name="独自", is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClassificationScheme.objects.filter(code="2024").update(is_active=True)
    assert list(ClassificationScheme.objects.filter(is_active=True).values_list("code")) == [
        ("classic",)
    ]


def test_the_classic_scheme_offers_confidentiality_3_2_1(catalogue):
    assert active_codes() == {"1", "2", "3"}
    assert active_codes("integrity") == {"1", "2"}
    assert active_codes("availability") == {"1", "2"}


def test_switching_to_the_2024_scheme_makes_3a_3b_3c_available(catalogue, people, as_role):
    switch_to("2024")
    assert ClassificationScheme.active().code == "2024"
    assert active_codes() == {"1", "2", "3C", "3B", "3A"}
    ranks = dict(
        ClassificationLevel.objects.filter(
            scheme__is_active=True, axis="confidentiality"
        ).values_list("code", "rank")
    )
    assert ranks["3A"] > ranks["3B"] > ranks["3C"] > ranks["2"] > ranks["1"] == 1

    # The register's filter and the asset form offer the new levels...
    response = as_role("chief").get("/assets/")
    options = page(response).find("select", name="confidentiality").find_all("option")
    assert {"3A", "3B", "3C"} <= {o.attrs.get("value") for o in options}
    assert "3" not in {o.attrs.get("value") for o in options}
    response = as_role("chief").get("/assets/new/")
    labels = {
        o.text for o in page(response).find("select", name="confidentiality").find_all("option")
    }
    assert {"機密性3A", "機密性3B", "機密性3C"} <= labels

    # ...and an import uses them, while the classic "3" is no longer a level.
    header = transfer.COLUMNS
    good = "3A長期保存,information,joho,3A,2,2,mynumber,1,1,,,,,,,\r\n"
    bad = "旧分類,information,joho,3,2,2,mynumber,1,1,,,,,,,\r\n"
    upload = SimpleUploadedFile("a.csv", (",".join(header) + "\r\n" + good).encode())
    assert transfer.import_assets(upload, by=people["chief"]) == 1
    asset = Asset.objects.get(name="3A長期保存")
    assert asset.confidentiality.code == "3A"
    assert asset.confidentiality.scheme.code == "2024"
    assert asset.confidentiality_rank == ranks["3A"]
    upload = SimpleUploadedFile("b.csv", (",".join(header) + "\r\n" + bad).encode())
    with pytest.raises(transfer.ImportRejected) as rejected:
        transfer.import_assets(upload, by=people["chief"])
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "confidentiality")]


def test_the_api_accepts_a_2024_level_once_that_scheme_is_active(catalogue, people, api_as):
    payload = {
        "name": "3B台帳",
        "kind": "information",
        "section": "joho",
        "tier": "lgwan",
        "confidentiality": "3B",
        "integrity": "1",
        "availability": "1",
    }
    assert api_as("chief").post("/api/assets/", payload, format="json").status_code == 400
    switch_to("2024")
    response = api_as("chief").post("/api/assets/", payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["confidentiality"] == "3B"


# --- handling rules ---------------------------------------------------------------------


def rule_levels(asset):
    """(topic, axis and code of the level it comes from) of the rules that apply, in order."""
    return [(r.topic, r.level.axis, r.level.code) for r in asset.handling_rules()]


def test_the_handling_rules_of_an_asset_are_the_strictest_per_topic(make_asset):
    asset = make_asset("joho", c="3", i="2", a="2")
    assert rule_levels(asset) == [
        ("labelling", "confidentiality", "3"),
        ("copying", "confidentiality", "3"),
        ("taking_out", "confidentiality", "3"),
        ("sending", "confidentiality", "3"),
        # integrity 2 has a storage rule too, but confidentiality 3's is stricter
        ("storage", "confidentiality", "3"),
        ("disposal", "confidentiality", "3"),
        # integrity 2 and availability 2 both have one: availability's is stricter
        ("backup", "availability", "2"),
        ("terminals", "confidentiality", "3"),
    ]


def test_a_lower_axis_rule_applies_where_it_is_the_only_or_the_strictest(make_asset):
    asset = make_asset("joho", c="1", i="2", a="1")
    assert rule_levels(asset) == [
        ("storage", "integrity", "2"),
        ("backup", "integrity", "2"),
    ]
    assert make_asset("joho", c="1", i="1", a="1", name="公開").handling_rules() == []


def test_one_rule_per_topic_and_never_a_weaker_one_than_any_level_gives(make_asset):
    asset = make_asset("joho", c="2", i="2", a="2")
    applied = asset.handling_rules()
    assert len({r.topic for r in applied}) == len(applied)
    levels = [asset.confidentiality, asset.integrity, asset.availability]
    for rule in applied:
        for level in levels:
            other = level.rules.filter(topic=rule.topic).first()
            assert other is None or other.strictness <= rule.strictness
    assert [r.topic for r in applied] == [
        t for t in HandlingTopic.values if t in {r.topic for r in applied}
    ]


def test_under_the_2024_scheme_3a_brings_its_own_stricter_rules(catalogue, org):
    switch_to("2024")
    level = {
        (lvl.axis, lvl.code): lvl
        for lvl in ClassificationLevel.objects.filter(scheme__is_active=True)
    }
    asset = Asset.objects.create(
        section=org["joho"],
        name="3A資産",
        kind="information",
        tier=catalogue["tiers"]["mynumber"],
        confidentiality=level[("confidentiality", "3A")],
        integrity=level[("integrity", "2")],
        availability=level[("availability", "2")],
    )
    rules = {r.topic: r for r in asset.handling_rules()}
    assert rules["storage"].level.code == "3A"
    assert "3A" in rules["taking_out"].text
    # 3A's backup rule does not exist: availability 2's applies.
    assert rules["backup"].level.axis == "availability"


def test_the_asset_page_shows_the_rules_that_apply(make_asset, as_role):
    asset = make_asset("joho", c="3", i="2", a="2")
    section = page(as_role("chief").get(f"/assets/{asset.pk}/")).find(testid="handling-rules")
    texts = [dd.text for dd in section.find_all("dd")]
    assert len(texts) == len(HandlingTopic.values)
    assert any("原則として持出し禁止" in t for t in texts)
    assert any("遠隔地に保管" in t for t in texts)  # availability 2's backup rule
    assert not any("定期的にバックアップを取得" in t for t in texts)  # integrity 2's, weaker


# --- the annual review ------------------------------------------------------------------

D = datetime.date


@pytest.mark.parametrize(
    "today, start",
    [
        (D(2025, 4, 1), D(2025, 4, 1)),
        (D(2025, 3, 31), D(2024, 4, 1)),
        (D(2025, 12, 31), D(2025, 4, 1)),
        (D(2026, 1, 1), D(2025, 4, 1)),
        (D(2026, 3, 31), D(2025, 4, 1)),
    ],
)
def test_the_fiscal_year_starts_in_april(today, start):
    assert reviews.fiscal_year_start(today) == start


def test_the_deadline_is_30_september_of_the_fiscal_year_by_default():
    assert reviews.review_deadline(D(2025, 4, 1)) == D(2025, 9, 30)
    assert reviews.review_deadline(D(2026, 2, 1)) == D(2025, 9, 30)
    assert reviews.review_deadline(D(2026, 4, 1)) == D(2026, 9, 30)


@override_settings(ASSET_REVIEW_DEADLINE=(1, 31))
def test_a_deadline_between_january_and_march_falls_in_the_next_calendar_year():
    assert reviews.review_deadline(D(2025, 6, 1)) == D(2026, 1, 31)
    assert reviews.review_deadline(D(2026, 3, 1)) == D(2026, 1, 31)
    assert not reviews.is_past_deadline(D(2026, 1, 31))
    assert reviews.is_past_deadline(D(2026, 2, 1))


@pytest.mark.parametrize(
    "last_reviewed, today, state",
    [
        (None, D(2025, 4, 1), "due"),
        (None, D(2025, 10, 1), "overdue"),
        # Reviewed last fiscal year: due again from April.
        (D(2025, 3, 31), D(2025, 4, 1), "due"),
        (D(2025, 3, 31), D(2025, 9, 30), "due"),
        (D(2025, 3, 31), D(2025, 10, 1), "overdue"),
        (D(2025, 3, 31), D(2026, 3, 31), "overdue"),
        # Reviewed this fiscal year: done, before or after the deadline.
        (D(2025, 4, 1), D(2025, 4, 1), "done"),
        (D(2025, 4, 1), D(2026, 3, 31), "done"),
        (D(2025, 11, 1), D(2025, 12, 1), "done"),
        # The year after, it is due again.
        (D(2025, 11, 1), D(2026, 4, 1), "due"),
    ],
)
def test_the_review_state_of_an_asset(make_asset, last_reviewed, today, state):
    asset = make_asset("joho", last_reviewed_on=last_reviewed)
    assert reviews.review_state(asset, today=today) == state


def test_a_retired_asset_needs_no_review(make_asset):
    asset = make_asset("joho", status=AssetStatus.RETIRED)
    assert reviews.review_state(asset, today=D(2025, 10, 1)) is None
    assert not Asset.objects.filter(reviews.due_q(D(2025, 10, 1))).exists()


@pytest.fixture
def review_register(make_asset):
    """Assets of 情報政策課 and 総務課 in FY2025, seen from 2025."""
    return {
        "never": make_asset("joho", c="2", name="未点検", last_reviewed_on=None),
        "last_year": make_asset("joho", c="2", name="昨年度点検", last_reviewed_on=D(2025, 3, 31)),
        "this_year": make_asset("joho", c="2", name="今年度点検", last_reviewed_on=D(2025, 4, 1)),
        "retired": make_asset(
            "joho", c="2", name="廃止済", last_reviewed_on=None, status=AssetStatus.RETIRED
        ),
        "somuka": make_asset("somuka", c="3", tier="none", name="総務課の未点検"),
    }


def names(queryset):
    return set(queryset.values_list("name", flat=True))


def test_due_and_overdue_querysets_follow_the_fiscal_year_and_the_deadline(review_register):
    due = {"未点検", "昨年度点検", "総務課の未点検"}
    assets = Asset.objects.all()
    assert names(assets.filter(reviews.due_q(D(2025, 6, 1)))) == due
    assert names(assets.filter(reviews.overdue_q(D(2025, 9, 30)))) == set()
    assert names(assets.filter(reviews.overdue_q(D(2025, 10, 1)))) == due
    # Before April 2025 (FY2024), the asset reviewed on 31 March 2025 was done.
    assert names(assets.filter(reviews.due_q(D(2025, 3, 31)))) == {"未点検", "総務課の未点検"}


def test_review_counts_per_section_before_and_after_the_deadline(review_register):
    def counts(today):
        return {
            row["section__name"]: (row["total"], row["due"], row["overdue"])
            for row in reviews.review_counts_by_section(Asset.objects.all(), today=today)
        }

    assert counts(D(2025, 9, 30)) == {"情報政策課": (3, 2, 0), "総務課": (1, 1, 0)}
    assert counts(D(2025, 10, 1)) == {"情報政策課": (3, 2, 2), "総務課": (1, 1, 1)}


def review_rows(response):
    table = page(response).find(testid="review-table")
    return {
        tr.find_all("td")[1].text: tuple(td.text for td in tr.find_all("td")[2:5])
        for tr in table.find("tbody").find_all("tr")
    }


@pytest.mark.parametrize(
    "role, expected",
    [
        # Per section: assets in use, due, as (total, due).
        ("head", {"情報政策課": (4, 3), "総務課": (1, 1)}),
        ("chief", {"情報政策課": (4, 3)}),
        # Another department's head counts only what they may see: the public asset.
        ("other_head", {"情報政策課": (1, 1), "学校教育課": (1, 0)}),
        ("staff_somuka", {"情報政策課": (1, 1), "総務課": (1, 1)}),
    ],
)
def test_the_review_page_shows_due_counts_per_section_within_what_the_viewer_sees(
    review_register, make_asset, as_role, role, expected
):
    today = timezone.localdate()
    make_asset("joho", c="1", tier="internet", name="公開・未点検")
    make_asset("gakko", c="2", name="学校の点検済", last_reviewed_on=today)
    # Relative to the real date: the page asks reviews for today's state.
    for asset in ("last_year", "this_year"):
        Asset.objects.filter(pk=review_register[asset].pk).update(
            last_reviewed_on=(
                reviews.fiscal_year_start(today) - datetime.timedelta(days=1)
                if asset == "last_year"
                else today
            )
        )
    late = reviews.is_past_deadline(today)
    response = as_role(role).get("/assets/reviews/")
    assert response.status_code == 200
    assert review_rows(response) == {
        section: (str(total), str(due), str(due if late else 0))
        for section, (total, due) in expected.items()
    }


def test_the_review_page_links_each_section_to_its_due_assets(review_register, as_role):
    today = timezone.localdate()
    Asset.objects.filter(pk=review_register["this_year"].pk).update(last_reviewed_on=today)
    response = as_role("head").get("/assets/reviews/")
    links = [a.attrs["href"] for a in page(response).find(testid="review-table").find_all("a")]
    assert "/assets/?review=due&department=joho" in links
    listed = page(as_role("head").get("/assets/?review=due&department=joho"))
    table = listed.find(testid="asset-table")
    assert {a.text for a in table.find_all("a")} == {"未点検", "昨年度点検"}


def test_the_review_filter_lists_due_assets(review_register, api_as):
    today = timezone.localdate()
    Asset.objects.filter(pk=review_register["this_year"].pk).update(last_reviewed_on=today)
    Asset.objects.filter(pk=review_register["last_year"].pk).update(
        last_reviewed_on=reviews.fiscal_year_start(today) - datetime.timedelta(days=1)
    )
    response = api_as("head").get("/api/assets/", {"review": "due"})
    assert {a["name"] for a in response.json()["results"]} == {
        "未点検",
        "昨年度点検",
        "総務課の未点検",
    }
    response = api_as("chief").get("/api/assets/", {"review": "due"})
    assert {a["name"] for a in response.json()["results"]} == {"未点検", "昨年度点検"}


@pytest.mark.parametrize("deadline", [(3, 31), (4, 1), (9, 30)])
def test_the_overdue_filter_lists_due_assets_only_once_the_deadline_has_passed(
    review_register, api_as, settings, deadline
):
    settings.ASSET_REVIEW_DEADLINE = deadline
    response = api_as("head").get("/api/assets/", {"review": "overdue"})
    overdue = {a["name"] for a in response.json()["results"]}
    due = names(Asset.objects.filter(reviews.due_q()))
    assert due  # never reviewed assets are due whatever the date
    if reviews.is_past_deadline():
        assert overdue == due
    else:
        assert overdue == set()
    if deadline == (3, 31):  # the last day of the fiscal year: never past
        assert overdue == set()


def test_the_chief_records_a_review_and_it_is_kept_in_the_history(review_register, as_role, people):
    asset = review_register["last_year"]
    response = as_role("chief").post(
        f"/assets/{asset.pk}/review/", {"note": "内容を確認した"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/assets/{asset.pk}/"
    asset.refresh_from_db()
    today = timezone.localdate()
    assert asset.last_reviewed_on == today
    assert reviews.review_state(asset) == "done"
    change = asset.history.get(kind=ChangeKind.REVIEWED)
    assert change.changed_by == people["chief"]
    assert change.changes == {"last_reviewed_on": ["2025-03-31", today.isoformat()]}
    assert change.reason == "内容を確認した"
    row = page(response).find(testid="history").find("tr", data_kind="reviewed")
    assert row is not None


@pytest.mark.parametrize("role, status", [("staff", 403), ("auditor", 403), ("other_head", 404)])
def test_only_those_who_manage_the_section_record_a_review(review_register, as_role, role, status):
    asset = review_register["never"]
    response = as_role(role).post(f"/assets/{asset.pk}/review/", {"note": "x"})
    assert response.status_code == status
    asset.refresh_from_db()
    assert asset.last_reviewed_on is None
    assert not asset.history.exists()


def test_a_review_is_recorded_only_by_post(review_register, as_role):
    asset = review_register["never"]
    assert as_role("chief").get(f"/assets/{asset.pk}/review/").status_code == 405
    asset.refresh_from_db()
    assert asset.last_reviewed_on is None


# --- the history cannot be rewritten ----------------------------------------------------


@pytest.fixture
def change(make_asset, people):
    asset = make_asset("joho", c="2")
    return AssetChange.objects.create(
        asset=asset, kind=ChangeKind.CREATED, changed_by=people["chief"], reason="登録"
    )


def test_a_history_entry_cannot_be_saved_again_or_deleted(change):
    change.reason = "書換え"
    with pytest.raises(ImmutableRecordError):
        change.save()
    with pytest.raises(ImmutableRecordError):
        change.delete()
    assert AssetChange.objects.get(pk=change.pk).reason == "登録"


def test_the_history_refuses_bulk_update_and_delete(change):
    with pytest.raises(ImmutableRecordError):
        AssetChange.objects.filter(pk=change.pk).update(reason="書換え")
    with pytest.raises(ImmutableRecordError):
        AssetChange.objects.filter(pk=change.pk).delete()
    with pytest.raises(ImmutableRecordError):
        AssetChange.objects.all().delete()
    assert AssetChange.objects.get(pk=change.pk).reason == "登録"


def test_an_asset_with_history_cannot_be_deleted(change):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        change.asset.delete()
    assert AssetChange.objects.filter(pk=change.pk).exists()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE assets_assetchange SET reason = 'raw' WHERE id = %s",
        "DELETE FROM assets_assetchange WHERE id = %s",
    ],
)
def test_postgresql_refuses_raw_sql_update_and_delete_of_the_history(change, sql):
    assert connection.vendor == "postgresql"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [change.pk])
    assert AssetChange.objects.get(pk=change.pk).reason == "登録"


# --- the demo -------------------------------------------------------------------------


def test_the_demo_seed_creates_assets_of_which_at_least_three_break_a_rule(catalogue):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert Asset.objects.count() >= 10
    breakers = {code: flagged(code) for code in BUILT_IN}
    assert "税務システム" in breakers[MY_NUMBER_CONNECTED]
    assert "庁内グループウェア" in breakers[LGWAN_UNSANITISED]
    assert "成績処理クラウドサービス" in breakers[EXTERNAL_NO_CONTRACT]
    assert len(set().union(*breakers.values())) >= 3
    # Every demo asset has its history, and the records stored on the My Number system
    # are not flagged.
    assert not Asset.objects.filter(history__isnull=True).exists()
    assert "住民票データ" not in set().union(*breakers.values())
    # Seeding again adds nothing.
    count = Asset.objects.count()
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert Asset.objects.count() == count


def test_the_demo_findings_page_shows_the_breakers_to_the_auditor(catalogue, client):
    from django.contrib.auth import get_user_model

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    client.force_login(get_user_model().objects.get(username="auditor"))
    shown = findings_on_page(client.get("/assets/rules/"))
    flat = {row[2] for rows in shown.values() for row in rows}
    assert {"税務システム", "庁内グループウェア", "成績処理クラウドサービス"} <= flat
    assert len(visible_assets(get_user_model().objects.get(username="auditor"))) >= 10
