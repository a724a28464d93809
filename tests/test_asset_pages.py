"""The asset register's pages, per role: who sees the register and each asset, who may add,
edit, review and relate assets, and what the asset page shows (handling rules, broken tier
rules, history, relations) without naming assets the viewer may not see."""

import pytest
from django.utils import timezone

from assets.models import Asset, AssetChange, AssetRelation, ChangeKind

from .conftest import ROLES
from .pages import is_login_redirect, page

# What each persona may see and change of the `register` fixture (see conftest).
ALL_FOUR = {"joho_confidential", "joho_public", "somuka_secret", "gakko_confidential"}
VISIBLE = {
    "staff": {"joho_confidential", "joho_public"},
    "staff_somuka": {"joho_public", "somuka_secret"},
    "chief": {"joho_confidential", "joho_public"},
    "head": {"joho_confidential", "joho_public", "somuka_secret"},
    "other_head": {"joho_public", "gakko_confidential"},
    "other_staff": {"joho_public", "gakko_confidential"},
    "auditor": ALL_FOUR,
    "ciso": ALL_FOUR,
    "admin": ALL_FOUR,
}
EDITABLE = {
    "chief": {"joho_confidential", "joho_public"},
    "head": {"joho_confidential", "joho_public", "somuka_secret"},
    "other_head": {"gakko_confidential"},
}
MANAGERS = {"chief", "head", "other_head"}
PERSONAS = [*ROLES, "staff_somuka", "other_staff"]
SIGNED_IN = [role for role in PERSONAS if role != "anonymous"]


def detail_url(asset):
    return f"/assets/{asset.pk}/"


def expected_status(role, key, *, success=200):
    """What a signed-in persona gets when acting on one asset of the register: 404 when the
    asset is out of sight, 403 when seen but not theirs to change."""
    if key not in VISIBLE[role]:
        return 404
    if key not in EDITABLE.get(role, set()):
        return 403
    return success


def listed_names(response):
    table = page(response).find("table", testid="asset-table")
    assert table is not None, "the register shows no asset table"
    names = set()
    for tr in table.find("tbody").find_all("tr"):
        link = tr.find("a")
        if link is not None:
            names.add(link.text)
    return names


def listed_links(response):
    table = page(response).find("table", testid="asset-table")
    return {a.attrs.get("href") for a in table.find_all("a")}


def field_errors(response):
    """Names of the form fields shown with an error."""
    found = set()
    for div in page(response).find_all("div", cls="has-error"):
        for control in div.iter():
            if control.tag in {"input", "select", "textarea"} and control.attrs.get("name"):
                found.add(control.attrs["name"])
    return found


def form_data(asset, **changes):
    """The edit form as submitted unchanged, with `changes` applied."""
    data = {
        "name": asset.name,
        "kind": asset.kind,
        "section": asset.section_id,
        "description": asset.description,
        "location": asset.location,
        "tier": asset.tier_id,
        "confidentiality": asset.confidentiality_id,
        "integrity": asset.integrity_id,
        "availability": asset.availability_id,
        "external_service": asset.external_service,
        "contract_reference": asset.contract_reference,
        "status": asset.status,
        "custodian_username": asset.custodian.username if asset.custodian else "",
        "reason": "",
    }
    if asset.has_personal_data:
        data["has_personal_data"] = "on"
    if asset.has_my_number:
        data["has_my_number"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def new_asset_data(catalogue, section, name="新しい資産", **changes):
    levels = catalogue["levels"]
    data = {
        "name": name,
        "kind": "system",
        "section": section.pk,
        "tier": catalogue["tiers"]["lgwan"].pk,
        "confidentiality": levels[("confidentiality", "2")].pk,
        "integrity": levels[("integrity", "1")].pk,
        "availability": levels[("availability", "1")].pk,
    }
    data.update(changes)
    return data


# --- the register ------------------------------------------------------------------------


@pytest.mark.parametrize("role", PERSONAS)
def test_the_register_lists_exactly_the_assets_each_role_may_see(as_role, register, role):
    response = as_role(role).get("/assets/")
    if role == "anonymous":
        assert is_login_redirect(response, "/assets/")
        return
    assert response.status_code == 200
    assert listed_names(response) == {register[key].name for key in VISIBLE[role]}
    hidden = ALL_FOUR - VISIBLE[role]
    assert not listed_links(response) & {detail_url(register[key]) for key in hidden}


# Which assets of the register each query matches, before the viewer's rights are applied.
QUERIES = {
    "department=joho": {"joho_confidential", "joho_public"},
    "department=somu": {"joho_confidential", "joho_public", "somuka_secret"},
    "department=kyoiku": {"gakko_confidential"},
    "q=グループウェア": {"joho_confidential"},
    "q=記録": {"somuka_secret"},
    "confidentiality=2": {"joho_confidential", "gakko_confidential"},
    "department=joho&confidentiality=2": {"joho_confidential"},
    "q=グループウェア&department=joho": {"joho_confidential"},
}


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("role", SIGNED_IN)
def test_filtering_the_register_never_reveals_an_asset_out_of_sight(as_role, register, role, query):
    response = as_role(role).get(f"/assets/?{query}")
    assert response.status_code == 200
    expected = QUERIES[query] & VISIBLE[role]
    assert listed_names(response) == {register[key].name for key in expected}
    assert response.context["page"].paginator.count == len(expected)


@pytest.mark.parametrize("role", ["other_head", "other_staff"])
def test_another_department_cannot_find_the_confidential_asset_of_joho_by_any_filter(
    as_role, register, role
):
    client = as_role(role)
    secret = register["joho_confidential"]
    for query in ("department=joho", "q=グループウェア", "q=庁内", "department=somu&q=庁内"):
        response = client.get(f"/assets/?{query}")
        assert secret.name not in response.content.decode()
        assert detail_url(secret) not in response.content.decode()
    assert client.get(detail_url(secret)).status_code == 404


@pytest.mark.parametrize("query", ["department=nosuch", "tier=cloud", "review=someday", "page=x"])
def test_a_register_filter_with_an_unknown_value_is_not_an_error(as_role, register, query):
    response = as_role("chief").get(f"/assets/?{query}")
    assert response.status_code == 200
    # An unknown value filters nothing in, and nothing out of sight in.
    assert listed_names(response) <= {register[key].name for key in VISIBLE["chief"]}


# --- the asset page ----------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(ALL_FOUR))
@pytest.mark.parametrize("role", PERSONAS)
def test_the_asset_page_opens_only_for_those_who_may_see_the_asset(as_role, register, role, key):
    asset = register[key]
    response = as_role(role).get(detail_url(asset))
    if role == "anonymous":
        assert is_login_redirect(response, detail_url(asset))
    elif key in VISIBLE[role]:
        assert response.status_code == 200
        assert page(response).find("h1").text == asset.name
    else:
        assert response.status_code == 404
        assert asset.name not in response.content.decode()


def test_an_asset_number_that_does_not_exist_is_not_found(as_role, register):
    client = as_role("auditor")
    assert client.get("/assets/999999/").status_code == 404
    assert client.get("/assets/99999999999999999999/").status_code == 404


@pytest.mark.parametrize("role", SIGNED_IN)
def test_the_edit_link_is_shown_only_to_those_who_may_change_the_asset(as_role, register, role):
    response = as_role(role).get(detail_url(register["joho_public"]))
    shown = page(response).find(testid="edit-asset") is not None
    assert shown == ("joho_public" in EDITABLE.get(role, set()))


# --- adding an asset ---------------------------------------------------------------------


@pytest.mark.parametrize("role", PERSONAS)
def test_only_section_chiefs_and_department_heads_may_open_the_new_asset_form(
    as_role, catalogue, people, role
):
    response = as_role(role).get("/assets/new/")
    if role == "anonymous":
        assert is_login_redirect(response, "/assets/new/")
    elif role in MANAGERS:
        assert response.status_code == 200
        assert page(response).find("form", testid="asset-form") is not None
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ["staff", "auditor", "ciso", "admin"])
def test_people_who_manage_no_unit_cannot_add_an_asset(as_role, catalogue, org, role):
    response = as_role(role).post("/assets/new/", new_asset_data(catalogue, org["joho"]))
    assert response.status_code == 403
    assert not Asset.objects.exists()


@pytest.mark.parametrize(
    "role, section",
    [("chief", "joho"), ("head", "joho"), ("head", "somuka"), ("other_head", "gakko")],
)
def test_a_chief_or_head_adds_an_asset_to_a_unit_they_manage(
    as_role, catalogue, org, people, role, section
):
    response = as_role(role).post("/assets/new/", new_asset_data(catalogue, org[section]))
    asset = Asset.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(asset)
    assert asset.section == org[section]
    assert asset.confidentiality_rank == 2
    created = asset.history.get()
    assert (created.kind, created.changed_by) == (ChangeKind.CREATED, people[role])


@pytest.mark.parametrize(
    "role, section",
    [("chief", "somuka"), ("chief", "gakko"), ("other_head", "joho"), ("head", "gakko")],
)
def test_adding_an_asset_to_a_section_one_does_not_manage_is_refused_with_a_field_error(
    as_role, catalogue, org, role, section
):
    response = as_role(role).post("/assets/new/", new_asset_data(catalogue, org[section]))
    assert response.status_code == 200
    assert "section" in response.context["form"].errors
    assert field_errors(response) == {"section"}
    assert not Asset.objects.exists()


def test_the_new_asset_form_offers_only_the_sections_one_manages(as_role, catalogue, org):
    response = as_role("chief").get("/assets/new/")
    select = page(response).find("select", name="section")
    offered = {option.attrs["value"] for option in select.find_all("option") if option.attrs}
    assert offered - {""} == {str(org["joho"].pk)}


# --- editing and reclassifying -----------------------------------------------------------


@pytest.mark.parametrize("key", ["joho_confidential", "joho_public", "somuka_secret"])
@pytest.mark.parametrize("role", PERSONAS)
def test_the_edit_form_opens_only_for_the_owning_chief_or_head(as_role, register, role, key):
    url = f"/assets/{register[key].pk}/edit/"
    response = as_role(role).get(url)
    if role == "anonymous":
        assert is_login_redirect(response, url)
    else:
        assert response.status_code == expected_status(role, key)


@pytest.mark.parametrize("key", ["joho_confidential", "joho_public", "gakko_confidential"])
@pytest.mark.parametrize("role", PERSONAS)
def test_saving_an_asset_is_refused_to_all_but_the_owning_chief_or_head(
    as_role, register, role, key
):
    asset = register[key]
    url = f"/assets/{asset.pk}/edit/"
    response = as_role(role).post(url, form_data(asset, name="改名した資産"))
    asset.refresh_from_db()
    if role == "anonymous":
        assert is_login_redirect(response, url)
    elif expected_status(role, key) == 200:
        assert response.status_code == 302
        assert response["Location"] == detail_url(asset)
        assert asset.name == "改名した資産"
        assert asset.history.get().kind == ChangeKind.EDITED
        return
    else:
        assert response.status_code == expected_status(role, key)
    assert asset.name != "改名した資産"
    assert not asset.history.exists()


def test_a_classification_change_without_a_reason_shows_a_field_error_and_changes_nothing(
    as_role, register, catalogue
):
    asset = register["joho_confidential"]
    c3 = catalogue["levels"][("confidentiality", "3")]
    response = as_role("chief").post(
        f"/assets/{asset.pk}/edit/", form_data(asset, confidentiality=c3.pk, name="別名")
    )
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert field_errors(response) == {"reason"}
    asset.refresh_from_db()
    assert (asset.confidentiality.code, asset.confidentiality_rank) == ("2", 2)
    assert asset.name == "庁内グループウェア"
    assert not asset.history.exists()


def test_a_blank_reason_counts_as_no_reason(as_role, register, catalogue):
    asset = register["joho_confidential"]
    i2 = catalogue["levels"][("integrity", "2")]
    response = as_role("head").post(
        f"/assets/{asset.pk}/edit/", form_data(asset, integrity=i2.pk, reason="   ")
    )
    assert response.status_code == 200
    assert field_errors(response) == {"reason"}
    asset.refresh_from_db()
    assert asset.integrity.code == "1"


def test_a_classification_change_with_a_reason_is_saved_and_shown_in_the_history(
    as_role, register, catalogue, people
):
    asset = register["joho_confidential"]
    c3 = catalogue["levels"][("confidentiality", "3")]
    client = as_role("chief")
    response = client.post(
        f"/assets/{asset.pk}/edit/",
        form_data(asset, confidentiality=c3.pk, reason="個人情報を扱うようになったため"),
    )
    assert response.status_code == 302
    asset.refresh_from_db()
    assert (asset.confidentiality.code, asset.confidentiality_rank) == ("3", 3)
    change = asset.history.get()
    assert change.kind == ChangeKind.CLASSIFIED
    assert change.changes == {"confidentiality": ["機密性2", "機密性3"]}

    history = page(client.get(detail_url(asset))).find("section", testid="history")
    rows = history.find("tbody").find_all("tr")
    assert len(rows) == 1
    cells = [td.text for td in rows[0].find_all("td")]
    assert cells[1] == str(people["chief"])
    assert "機密性" in cells[3]
    assert "機密性2 → 機密性3" in cells[3]
    assert cells[4] == "個人情報を扱うようになったため"


def test_the_reclassified_asset_leaves_the_view_of_other_sections(as_role, register, catalogue):
    """Raising a public asset's confidentiality takes it out of other departments' view."""
    asset = register["joho_public"]
    c2 = catalogue["levels"][("confidentiality", "2")]
    response = as_role("chief").post(
        f"/assets/{asset.pk}/edit/", form_data(asset, confidentiality=c2.pk, reason="内部情報")
    )
    assert response.status_code == 302
    assert as_role("other_staff").get(detail_url(asset)).status_code == 404


def test_moving_an_asset_to_a_section_one_does_not_manage_is_refused(as_role, register, org):
    asset = register["joho_confidential"]
    response = as_role("chief").post(
        f"/assets/{asset.pk}/edit/", form_data(asset, section=org["gakko"].pk)
    )
    assert response.status_code == 200
    assert field_errors(response) == {"section"}
    asset.refresh_from_db()
    assert asset.section.code == "joho"


# --- the annual review -------------------------------------------------------------------


@pytest.mark.parametrize("key", ["joho_confidential", "joho_public"])
@pytest.mark.parametrize("role", PERSONAS)
def test_only_the_owning_chief_or_head_records_the_review(as_role, register, people, role, key):
    asset = register[key]
    url = f"/assets/{asset.pk}/review/"
    response = as_role(role).post(url, {"note": "変更なし"})
    asset.refresh_from_db()
    if role == "anonymous":
        assert is_login_redirect(response, url)
    elif expected_status(role, key) == 200:
        assert response.status_code == 302
        assert response["Location"] == detail_url(asset)
        assert asset.last_reviewed_on == timezone.localdate()
        review = asset.history.get()
        assert (review.kind, review.changed_by, review.reason) == (
            ChangeKind.REVIEWED,
            people[role],
            "変更なし",
        )
        return
    else:
        assert response.status_code == expected_status(role, key)
    assert asset.last_reviewed_on is None
    assert not asset.history.exists()


def test_the_review_cannot_be_recorded_with_a_get(as_role, register):
    asset = register["joho_confidential"]
    assert as_role("chief").get(f"/assets/{asset.pk}/review/").status_code == 405
    asset.refresh_from_db()
    assert asset.last_reviewed_on is None


# --- relations ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["joho_confidential", "joho_public"])
@pytest.mark.parametrize("role", PERSONAS)
def test_only_the_owning_chief_or_head_adds_a_relation(as_role, register, role, key):
    source = register[key]
    target = register["joho_public" if key == "joho_confidential" else "joho_confidential"]
    url = f"/assets/{source.pk}/relations/"
    response = as_role(role).post(url, {"kind": "stored_on", "target": target.pk})
    if role == "anonymous":
        assert is_login_redirect(response, url)
    elif expected_status(role, key) == 200:
        assert response.status_code == 302
        assert AssetRelation.objects.filter(source=source, target=target).exists()
        return
    else:
        assert response.status_code == expected_status(role, key)
    assert not AssetRelation.objects.exists()


@pytest.mark.parametrize(
    "role, target", [("chief", "somuka_secret"), ("chief", "gakko_confidential")]
)
def test_a_relation_to_an_asset_out_of_sight_is_not_added(as_role, register, role, target):
    source = register["joho_confidential"]
    response = as_role(role).post(
        f"/assets/{source.pk}/relations/", {"kind": "connects_to", "target": register[target].pk}
    )
    # The page again, the choice refused like one that does not exist.
    assert response.status_code == 200
    assert page(response).find(testid="error-summary") is not None
    assert not AssetRelation.objects.exists()
    assert register[target].name not in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "stored_on", "target": "self"},
        {"kind": "owned_by", "target": "public"},
        {"kind": "stored_on", "target": "abc"},
        {"kind": "stored_on", "target": "99999999999999999999"},
        {"kind": "stored_on"},
    ],
)
def test_a_bad_relation_is_refused_without_an_error_page(as_role, register, data):
    source = register["joho_confidential"]
    targets = {"self": source.pk, "public": register["joho_public"].pk}
    data = {**data, "target": targets.get(data.get("target"), data.get("target", ""))}
    response = as_role("chief").post(f"/assets/{source.pk}/relations/", data)
    assert response.status_code == 200
    assert page(response).find(testid="error-summary") is not None
    assert not AssetRelation.objects.exists()


@pytest.mark.parametrize("role", PERSONAS)
def test_only_the_owning_chief_or_head_removes_a_relation(as_role, register, role):
    source, target = register["joho_public"], register["joho_confidential"]
    relation = AssetRelation.objects.create(source=source, kind="connects_to", target=target)
    url = f"/assets/{source.pk}/relations/{relation.pk}/delete/"
    response = as_role(role).post(url)
    if role == "anonymous":
        assert is_login_redirect(response, url)
    elif expected_status(role, "joho_public") == 200:
        assert response.status_code == 302
        assert not AssetRelation.objects.exists()
        assert source.history.get().kind == ChangeKind.EDITED
        return
    else:
        assert response.status_code == expected_status(role, "joho_public")
    assert AssetRelation.objects.filter(pk=relation.pk).exists()


def test_a_relation_is_removed_only_through_its_own_asset(as_role, register):
    """The relation's number under another asset's address is not found."""
    relation = AssetRelation.objects.create(
        source=register["joho_public"], kind="connects_to", target=register["joho_confidential"]
    )
    other = register["joho_confidential"]
    response = as_role("chief").post(f"/assets/{other.pk}/relations/{relation.pk}/delete/")
    assert response.status_code == 404
    assert AssetRelation.objects.filter(pk=relation.pk).exists()


@pytest.fixture
def related(register, as_role):
    """The department head relates the public homepage to the secret personnel records,
    through the page, and the school system connects to the homepage."""
    homepage = register["joho_public"]
    response = as_role("head").post(
        f"/assets/{homepage.pk}/relations/",
        {"kind": "stored_on", "target": register["somuka_secret"].pk},
    )
    assert response.status_code == 302
    AssetRelation.objects.create(
        source=register["gakko_confidential"], kind="connects_to", target=homepage
    )
    assert AssetRelation.objects.count() == 2
    return register


@pytest.mark.parametrize("role", SIGNED_IN)
def test_relations_to_assets_the_viewer_cannot_see_are_not_named(as_role, related, role):
    response = as_role(role).get(detail_url(related["joho_public"]))
    assert response.status_code == 200
    content = response.content.decode()
    for key in ("somuka_secret", "gakko_confidential"):
        other = related[key]
        named = other.name in content
        linked = detail_url(other) in content
        if key in VISIBLE[role]:
            assert named and linked
        else:
            assert not named, f"{role} reads the name of {key}"
            assert not linked


def test_a_removed_relation_to_an_asset_out_of_sight_is_not_named_either(as_role, related):
    homepage, secret = related["joho_public"], related["somuka_secret"]
    relation = AssetRelation.objects.get(source=homepage, target=secret)
    response = as_role("head").post(f"/assets/{homepage.pk}/relations/{relation.pk}/delete/")
    assert response.status_code == 302
    assert not AssetRelation.objects.filter(pk=relation.pk).exists()
    # Added and removed: both are in the history, which the staff of 情報政策課 reads.
    assert homepage.history.count() == 2
    content = as_role("staff").get(detail_url(homepage)).content.decode()
    assert secret.name not in content


# --- what the asset page shows -----------------------------------------------------------

C3_TAKING_OUT = "原則として持出し禁止。やむを得ない場合は許可を得て暗号化し、記録する。"
C2_TAKING_OUT = "持出しは情報セキュリティ管理者（課長）の許可を得て、記録する。"
A2_BACKUP = "バックアップを取得し、遠隔地に保管する。復旧までの目標時間を定める。"
I2_BACKUP = "定期的にバックアップを取得し、改ざん・誤りを検知できるようにする。"
C3_STORAGE = "施錠保管し、アクセスできる職員を限定して記録する。"
I2_STORAGE = "改ざん・消去を防ぐため、書込み権限を必要な職員に限定する。"


def handling_rules(response):
    """{rule text: level name} of the handling rules shown on the asset page."""
    section = page(response).find("section", testid="handling-rules")
    assert section is not None
    shown = {}
    for dd in section.find_all("dd"):
        level = dd.find("span", cls="meta").text.strip("()")
        shown[dd.text.removesuffix(f"({level})").strip()] = level
    return shown


def test_the_asset_page_shows_the_strictest_handling_rule_per_topic(as_role, make_asset):
    asset = make_asset("joho", c="3", i="2", a="2", name="住民情報システム")
    rules = handling_rules(as_role("staff").get(detail_url(asset)))
    assert rules[C3_TAKING_OUT] == "機密性3"
    assert rules[A2_BACKUP] == "可用性2"
    assert rules[C3_STORAGE] == "機密性3"
    for weaker in (C2_TAKING_OUT, I2_BACKUP, I2_STORAGE):
        assert weaker not in rules
    # One rule per topic: labelling, copying, taking out, sending, storage, disposal,
    # backup and terminals.
    assert len(rules) == 8


def test_the_integrity_backup_rule_applies_when_availability_asks_for_none(as_role, make_asset):
    asset = make_asset("joho", c="2", i="2", a="1", name="会計システム")
    rules = handling_rules(as_role("chief").get(detail_url(asset)))
    assert rules[I2_BACKUP] == "完全性2"
    assert I2_STORAGE not in rules  # storage: the 機密性2 rule is stricter
    assert rules[C2_TAKING_OUT] == "機密性2"
    assert A2_BACKUP not in rules


def test_a_public_asset_with_the_lowest_levels_has_no_handling_rules(as_role, register):
    assert handling_rules(as_role("staff").get(detail_url(register["joho_public"]))) == {}


def broken_rules(response):
    box = page(response).find(testid="broken-rules")
    if box is None:
        return None
    return {li.attrs["data-rule"] for li in box.find_all("li")}


def test_the_asset_page_warns_when_a_tier_rule_is_broken(as_role, make_asset):
    outsourced = make_asset(
        "joho", c="2", name="クラウド会議システム", external_service="株式会社クラウド"
    )
    my_number = make_asset("joho", c="3", tier="lgwan", name="番号台帳", has_my_number=True)
    lgwan = make_asset("joho", c="2", tier="lgwan", name="庁内メール")
    internet = make_asset("joho", c="1", tier="internet", name="インターネットメール")
    AssetRelation.objects.create(source=lgwan, kind="connects_to", target=internet)
    client = as_role("staff")
    assert broken_rules(client.get(detail_url(outsourced))) == {"external-without-contract"}
    assert broken_rules(client.get(detail_url(my_number))) == {"my-number-outside-tier"}
    assert broken_rules(client.get(detail_url(lgwan))) == {"lgwan-internet-unsanitised"}


def test_the_asset_page_shows_no_broken_rules_box_when_none_is_broken(as_role, make_asset):
    contracted = make_asset(
        "joho",
        c="2",
        name="委託先のシステム",
        external_service="株式会社クラウド",
        contract_reference="令和7年契約第12号",
    )
    my_number = make_asset("joho", c="3", tier="mynumber", name="住基", has_my_number=True)
    lgwan = make_asset("joho", c="2", tier="lgwan", name="庁内メール")
    internet = make_asset("joho", c="1", tier="internet", name="インターネットメール")
    AssetRelation.objects.create(source=lgwan, kind="connects_to", target=internet, sanitised=True)
    client = as_role("staff")
    for asset in (contracted, my_number, lgwan, internet):
        assert broken_rules(client.get(detail_url(asset))) is None


def test_the_asset_page_shows_the_review_form_only_to_those_who_may_review(as_role, register):
    asset = register["joho_confidential"]
    review_url = f"/assets/{asset.pk}/review/"
    for role, shown in (("chief", True), ("head", True), ("staff", False), ("auditor", False)):
        response = as_role(role).get(detail_url(asset))
        actions = {form.attrs.get("action") for form in page(response).find_all("form")}
        assert (review_url in actions) == shown, role


def test_history_of_an_asset_is_kept_when_the_review_is_recorded(as_role, register, people):
    asset = register["joho_confidential"]
    client = as_role("chief")
    client.post(f"/assets/{asset.pk}/review/", {"note": "確認済み"})
    history = page(client.get(detail_url(asset))).find("section", testid="history")
    cells = [td.text for td in history.find("tbody").find("tr").find_all("td")]
    assert cells[1] == str(people["chief"])
    assert cells[4] == "確認済み"
    assert AssetChange.objects.filter(asset=asset, kind=ChangeKind.REVIEWED).count() == 1
