"""The asset register's API, per role: the same visibility and change rules as the pages,
reasons for reclassification, the history and broken-rules endpoints, the filters, and
bad input answered with 400 naming the field, never 500."""

import datetime

import pytest

from assets import services
from assets.models import Asset, AssetRelation, AssetStatus, ChangeKind

from .conftest import ROLES

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
PERSONAS = [*ROLES, "staff_somuka", "other_staff"]
SIGNED_IN = [role for role in PERSONAS if role != "anonymous"]
UNAUTHENTICATED = (401, 403)


def url(asset=None, action=None):
    if asset is None:
        return "/api/assets/"
    return f"/api/assets/{asset.pk}/" + (f"{action}/" if action else "")


def names(response):
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def every_name(client, path):
    """Names on every page of a list."""
    found, path = set(), path
    while path:
        response = client.get(path)
        assert response.status_code == 200
        found |= {row["name"] for row in response.json()["results"]}
        path = response.json()["next"]
    return found


def expected_change_status(role, key):
    if key not in VISIBLE[role]:
        return 404
    if key not in EDITABLE.get(role, set()):
        return 403
    return 200


def payload(section="joho", **changes):
    data = {
        "name": "新しい資産",
        "kind": "system",
        "section": section,
        "tier": "lgwan",
        "confidentiality": "2",
        "integrity": "1",
        "availability": "1",
    }
    data.update(changes)
    return data


# --- reading -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", PERSONAS)
def test_the_list_holds_exactly_the_assets_each_role_may_see(api_as, register, role):
    response = api_as(role).get(url())
    if role == "anonymous":
        assert response.status_code in UNAUTHENTICATED
        return
    assert names(response) == {register[key].name for key in VISIBLE[role]}
    assert response.json()["count"] == len(VISIBLE[role])


@pytest.mark.parametrize("key", sorted(ALL_FOUR))
@pytest.mark.parametrize("role", PERSONAS)
def test_an_asset_is_retrieved_only_by_those_who_may_see_it(api_as, register, role, key):
    asset = register[key]
    response = api_as(role).get(url(asset))
    if role == "anonymous":
        assert response.status_code in UNAUTHENTICATED
    elif key in VISIBLE[role]:
        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["name"], body["section"]) == (
            asset.pk,
            asset.name,
            asset.section.code,
        )
        assert (body["confidentiality"], body["integrity"], body["availability"]) == (
            asset.confidentiality.code,
            "1",
            "1",
        )
        assert "reason" not in body
    else:
        assert response.status_code == 404
        assert asset.name not in response.content.decode()


QUERIES = {
    "department=joho": {"joho_confidential", "joho_public"},
    "department=somu": {"joho_confidential", "joho_public", "somuka_secret"},
    "department=mayor": {"joho_confidential", "joho_public", "somuka_secret"},
    "department=kyoiku": {"gakko_confidential"},
    "q=グループウェア": {"joho_confidential"},
    "q=庁内": {"joho_confidential"},
    "q=記録": {"somuka_secret"},
    "confidentiality=2": {"joho_confidential", "gakko_confidential"},
    "confidentiality=2&department=joho": {"joho_confidential"},
    "q=グループウェア&department=joho": {"joho_confidential"},
}


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("role", SIGNED_IN)
def test_filtering_the_list_never_returns_an_asset_out_of_sight(api_as, register, role, query):
    response = api_as(role).get(f"{url()}?{query}")
    expected = QUERIES[query] & VISIBLE[role]
    assert names(response) == {register[key].name for key in expected}


def test_another_department_head_cannot_reach_the_confidential_asset_of_joho(api_as, register):
    client = api_as("other_head")
    secret = register["joho_confidential"]
    assert client.get(url(secret)).status_code == 404
    for action in ("history", "rules"):
        assert client.get(url(secret, action)).status_code == 404
    for query in (
        "department=joho",
        "q=グループウェア",
        "department=somu&q=庁内",
        "page_size=1000",
    ):
        response = client.get(f"{url()}?{query}")
        assert response.status_code == 200
        assert secret.pk not in {row["id"] for row in response.json()["results"]}
    # Filters applied on retrieve cannot widen it either.
    assert client.get(f"{url(secret)}?department=joho").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/api/assets/999999/", "/api/assets/abc/", "/api/assets/99999999999999999999/"],
)
def test_an_asset_that_does_not_exist_is_not_found(api_as, register, path):
    assert api_as("auditor").get(path).status_code == 404


# --- creating ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, section, expected",
    [
        ("anonymous", "joho", UNAUTHENTICATED),
        ("staff", "joho", (403,)),
        ("staff_somuka", "somuka", (403,)),
        ("chief", "joho", (201,)),
        ("head", "joho", (201,)),
        ("head", "somuka", (201,)),
        ("other_head", "gakko", (201,)),
        ("auditor", "joho", (403,)),
        ("ciso", "joho", (403,)),
        ("admin", "joho", (403,)),
    ],
)
def test_only_chiefs_and_heads_create_assets_in_units_they_manage(
    api_as, catalogue, org, people, role, section, expected
):
    response = api_as(role).post(url(), payload(section), format="json")
    assert response.status_code in expected
    if response.status_code == 201:
        asset = Asset.objects.get()
        assert response.json()["id"] == asset.pk
        assert (asset.section, asset.confidentiality_rank) == (org[section], 2)
        created = asset.history.get()
        assert (created.kind, created.changed_by) == (ChangeKind.CREATED, people[role])
    else:
        assert not Asset.objects.exists()


@pytest.mark.parametrize(
    "role, section",
    [("chief", "somuka"), ("chief", "gakko"), ("head", "gakko"), ("other_head", "joho")],
)
def test_creating_an_asset_in_a_section_one_does_not_manage_is_a_400_naming_section(
    api_as, catalogue, org, role, section
):
    response = api_as(role).post(url(), payload(section), format="json")
    assert response.status_code == 400
    assert "section" in response.json()
    assert not Asset.objects.exists()


BAD_CREATE = [
    ({"confidentiality": "9"}, "confidentiality"),
    ({"confidentiality": "3A"}, "confidentiality"),  # a level of the scheme not in force
    ({"confidentiality": ""}, "confidentiality"),
    ({"integrity": "3"}, "integrity"),
    ({"availability": "機密性2"}, "availability"),
    ({"tier": "cloud"}, "tier"),
    ({"tier": None}, "tier"),
    ({"section": "nosuch"}, "section"),
    ({"section": "gakko"}, "section"),
    ({"kind": "bogus"}, "kind"),
    ({"status": "lost"}, "status"),
    ({"custodian": "nobody"}, "custodian"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"has_my_number": "perhaps"}, "has_my_number"),
    ({"confidentiality": ["2"]}, "confidentiality"),
    ({"section": {"code": "joho"}}, "section"),
]


@pytest.mark.parametrize("changes, field", BAD_CREATE)
def test_bad_input_when_creating_is_a_400_naming_the_field(api_as, catalogue, changes, field):
    response = api_as("chief").post(url(), payload(**changes), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Asset.objects.exists()


@pytest.mark.parametrize("missing", ["name", "kind", "section", "tier", "confidentiality"])
def test_a_missing_required_field_is_a_400_naming_it(api_as, catalogue, missing):
    data = payload()
    del data[missing]
    response = api_as("chief").post(url(), data, format="json")
    assert response.status_code == 400
    assert missing in response.json()


def test_a_body_that_is_not_json_is_a_400(api_as, catalogue):
    response = api_as("chief").post(url(), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert not Asset.objects.exists()


# --- changing ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["joho_confidential", "joho_public", "gakko_confidential"])
@pytest.mark.parametrize("role", PERSONAS)
def test_only_the_owning_chief_or_head_changes_an_asset(api_as, register, people, role, key):
    asset = register[key]
    response = api_as(role).patch(url(asset), {"location": "本庁舎5階"}, format="json")
    asset.refresh_from_db()
    if role == "anonymous":
        assert response.status_code in UNAUTHENTICATED
    else:
        assert response.status_code == expected_change_status(role, key)
    if response.status_code == 200:
        assert response.json()["location"] == asset.location == "本庁舎5階"
        edited = asset.history.get()
        assert (edited.kind, edited.changed_by) == (ChangeKind.EDITED, people[role])
        assert edited.changes == {"location": ["", "本庁舎5階"]}
    else:
        assert asset.location == ""
        assert not asset.history.exists()


@pytest.mark.parametrize("role", ["auditor", "ciso", "admin", "other_head", "staff"])
def test_readers_cannot_reclassify_even_with_a_reason(api_as, register, role):
    asset = register["joho_confidential"]
    response = api_as(role).patch(
        url(asset), {"confidentiality": "1", "reason": "公開する"}, format="json"
    )
    assert response.status_code in (403, 404)
    asset.refresh_from_db()
    assert asset.confidentiality_rank == 2


def test_a_full_update_follows_the_same_rules(api_as, register):
    asset = register["joho_confidential"]
    data = payload(name="庁内グループウェア（更新）")
    assert api_as("auditor").put(url(asset), data, format="json").status_code == 403
    assert api_as("other_head").put(url(asset), data, format="json").status_code == 404
    response = api_as("chief").put(url(asset), data, format="json")
    assert response.status_code == 200
    asset.refresh_from_db()
    assert asset.name == "庁内グループウェア（更新）"


@pytest.mark.parametrize(
    "changes",
    [{"confidentiality": "3"}, {"integrity": "2"}, {"availability": "2", "reason": "  "}],
)
def test_reclassifying_without_a_reason_is_a_400_naming_reason(api_as, register, changes):
    asset = register["joho_confidential"]
    response = api_as("chief").patch(url(asset), changes, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    asset.refresh_from_db()
    assert (asset.confidentiality.code, asset.integrity.code, asset.availability.code) == (
        "2",
        "1",
        "1",
    )
    assert not asset.history.exists()


def test_reclassifying_with_a_reason_is_saved_and_kept_in_the_history(api_as, register, people):
    asset = register["joho_confidential"]
    client = api_as("head")
    response = client.patch(
        url(asset),
        {"confidentiality": "3", "availability": "2", "reason": "人事情報を含むため"},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["confidentiality"], response.json()["availability"]) == ("3", "2")
    asset.refresh_from_db()
    assert (asset.confidentiality_rank, asset.availability.code) == (3, "2")

    history = client.get(url(asset, "history"))
    assert history.status_code == 200
    [entry] = history.json()["results"]
    assert entry["kind"] == ChangeKind.CLASSIFIED
    assert entry["changed_by"] == people["head"].username
    assert entry["changes"] == {
        "confidentiality": ["機密性2", "機密性3"],
        "availability": ["可用性1", "可用性2"],
    }
    assert entry["reason"] == "人事情報を含むため"


def test_a_change_that_keeps_the_classification_needs_no_reason(api_as, register):
    asset = register["joho_confidential"]
    response = api_as("chief").patch(
        url(asset), {"confidentiality": "2", "name": "グループウェア"}, format="json"
    )
    assert response.status_code == 200
    assert asset.history.get().changes == {"name": ["庁内グループウェア", "グループウェア"]}


BAD_PATCH = [
    ({"confidentiality": "9", "reason": "x"}, "confidentiality"),
    ({"confidentiality": "3B", "reason": "x"}, "confidentiality"),
    ({"integrity": None, "reason": "x"}, "integrity"),
    ({"tier": "cloud"}, "tier"),
    ({"section": "gakko"}, "section"),
    ({"section": "nosuch"}, "section"),
    ({"kind": "bogus"}, "kind"),
    ({"status": "lost"}, "status"),
    ({"custodian": "nobody"}, "custodian"),
    ({"name": ""}, "name"),
]


@pytest.mark.parametrize("changes, field", BAD_PATCH)
def test_bad_input_when_changing_is_a_400_naming_the_field(api_as, register, changes, field):
    asset = register["joho_confidential"]
    response = api_as("chief").patch(url(asset), changes, format="json")
    assert response.status_code == 400
    assert field in response.json()
    asset.refresh_from_db()
    assert (asset.name, asset.section.code, asset.tier.code) == (
        "庁内グループウェア",
        "joho",
        "lgwan",
    )
    assert not asset.history.exists()


def test_the_head_moves_an_asset_between_sections_of_the_department(api_as, register, org):
    asset = register["joho_confidential"]
    response = api_as("head").patch(url(asset), {"section": "somuka"}, format="json")
    assert response.status_code == 200
    asset.refresh_from_db()
    assert asset.section == org["somuka"]
    # The chief of 情報政策課 no longer sees it.
    assert api_as("chief").get(url(asset)).status_code == 404


def test_read_only_fields_are_not_changed_through_the_api(api_as, register):
    asset = register["joho_confidential"]
    response = api_as("chief").patch(
        url(asset), {"last_reviewed_on": "2020-01-01", "id": 12345}, format="json"
    )
    assert response.status_code == 200
    asset.refresh_from_db()
    assert asset.last_reviewed_on is None
    assert Asset.objects.filter(pk=asset.pk).exists()


def test_assets_cannot_be_deleted_through_the_api(api_as, register):
    asset = register["joho_confidential"]
    assert api_as("chief").delete(url(asset)).status_code == 405
    assert Asset.objects.filter(pk=asset.pk).exists()


# --- history and rules -------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(ALL_FOUR))
@pytest.mark.parametrize("role", PERSONAS)
def test_the_history_is_read_by_those_who_see_the_asset(api_as, register, role, key):
    response = api_as(role).get(url(register[key], "history"))
    if role == "anonymous":
        assert response.status_code in UNAUTHENTICATED
    else:
        assert response.status_code == (200 if key in VISIBLE[role] else 404)


def test_the_history_does_not_name_a_related_asset_out_of_sight(api_as, register, people):
    homepage, secret = register["joho_public"], register["somuka_secret"]
    relation = services.add_relation(homepage, "stored_on", secret, by=people["head"])
    services.remove_relation(relation, by=people["head"])
    for role in ("staff", "chief", "other_head", "other_staff"):
        response = api_as(role).get(url(homepage, "history"))
        assert response.status_code == 200
        assert len(response.json()["results"]) == 2
        assert secret.name not in response.content.decode(), role


def test_the_history_is_paginated_newest_first(api_as, register, people):
    asset = register["joho_confidential"]
    for number in range(55):
        services.update_asset(asset, by=people["chief"], location=f"{number}階")
    response = api_as("auditor").get(url(asset, "history"))
    body = response.json()
    assert body["count"] == 55
    assert len(body["results"]) == 50
    assert body["results"][0]["changes"] == {"location": ["53階", "54階"]}
    assert body["next"]


def rule_codes(response):
    assert response.status_code == 200
    return {rule["code"] for rule in response.json()["rules"]}


def test_the_rules_endpoint_names_the_tier_rules_an_asset_breaks(api_as, make_asset):
    outsourced = make_asset("joho", c="2", name="クラウド会議", external_service="株式会社クラウド")
    ledger = make_asset("joho", c="3", tier="lgwan", name="番号台帳", has_my_number=True)
    lgwan = make_asset("joho", c="2", tier="lgwan", name="庁内メール")
    internet = make_asset("joho", c="1", tier="internet", name="インターネットメール")
    AssetRelation.objects.create(source=internet, kind="connects_to", target=lgwan)
    client = api_as("staff")
    assert rule_codes(client.get(url(outsourced, "rules"))) == {"external-without-contract"}
    assert rule_codes(client.get(url(ledger, "rules"))) == {"my-number-outside-tier"}
    assert rule_codes(client.get(url(lgwan, "rules"))) == {"lgwan-internet-unsanitised"}
    assert rule_codes(client.get(url(internet, "rules"))) == set()


def test_the_rules_endpoint_is_empty_once_the_contract_is_recorded(api_as, make_asset):
    outsourced = make_asset("joho", c="2", name="クラウド会議", external_service="株式会社クラウド")
    client = api_as("chief")
    assert rule_codes(client.get(url(outsourced, "rules"))) == {"external-without-contract"}
    response = client.patch(url(outsourced), {"contract_reference": "契約第1号"}, format="json")
    assert response.status_code == 200
    assert rule_codes(client.get(url(outsourced, "rules"))) == set()


@pytest.mark.parametrize("role", SIGNED_IN)
def test_the_rules_endpoint_answers_only_for_visible_assets(api_as, register, role):
    response = api_as(role).get(url(register["gakko_confidential"], "rules"))
    assert response.status_code == (200 if "gakko_confidential" in VISIBLE[role] else 404)


# --- filters -----------------------------------------------------------------------------

# "Today" for the review filters, in fiscal year 2025 (from 1 April 2025).
BEFORE_DEADLINE = datetime.date(2025, 6, 15)
AFTER_DEADLINE = datetime.date(2025, 11, 15)


@pytest.fixture
def shelf(make_asset):
    """Assets of 情報政策課 that differ in every filtered field, and one of 学校教育課."""
    return {
        "juki": make_asset(
            "joho",
            c="3",
            tier="mynumber",
            name="住基システム",
            has_personal_data=True,
            has_my_number=True,
            last_reviewed_on=datetime.date(2025, 5, 1),
        ),
        "ledger": make_asset(
            "joho",
            c="3",
            tier="lgwan",
            kind="information",
            name="番号台帳",
            has_personal_data=True,
            has_my_number=True,
        ),
        "roster": make_asset(
            "joho",
            c="2",
            tier="none",
            kind="document",
            name="職員名簿",
            has_personal_data=True,
            last_reviewed_on=datetime.date(2025, 3, 31),
        ),
        "homepage": make_asset(
            "joho", c="1", tier="internet", name="旧ホームページ", status=AssetStatus.RETIRED
        ),
        "meetings": make_asset(
            "joho",
            c="2",
            tier="internet",
            name="クラウド会議",
            external_service="株式会社クラウド",
            last_reviewed_on=datetime.date(2025, 4, 1),
        ),
        "grades": make_asset("gakko", c="2", tier="lgwan", name="成績処理システム"),
    }


SHELF_VISIBLE = {
    "chief": {"juki", "ledger", "roster", "homepage", "meetings"},
    "auditor": {"juki", "ledger", "roster", "homepage", "meetings", "grades"},
    "other_head": {"homepage", "grades"},
}
FILTERS = {
    "kind=information": {"ledger"},
    "kind=document": {"roster"},
    "kind=system": {"juki", "homepage", "meetings", "grades"},
    "tier=mynumber": {"juki"},
    "tier=internet": {"homepage", "meetings"},
    "tier=lgwan": {"ledger", "grades"},
    "confidentiality=3": {"juki", "ledger"},
    "confidentiality=1": {"homepage"},
    "confidentiality=2": {"roster", "meetings", "grades"},
    "review=due": {"ledger", "roster", "grades"},
    "rule=my-number-outside-tier": {"ledger"},
    "rule=external-without-contract": {"meetings"},
    "rule=lgwan-internet-unsanitised": set(),
    "personal_data=true": {"juki", "ledger", "roster"},
    "personal_data=false": {"homepage", "meetings", "grades"},
    "my_number=true": {"juki", "ledger"},
    "my_number=false": {"roster", "homepage", "meetings", "grades"},
    "status=retired": {"homepage"},
    "personal_data=true&tier=lgwan": {"ledger"},
}


@pytest.fixture
def today(monkeypatch):
    def set_today(day):
        monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: day)

    set_today(BEFORE_DEADLINE)
    return set_today


@pytest.mark.parametrize("query", FILTERS)
@pytest.mark.parametrize("role", SHELF_VISIBLE)
def test_each_filter_returns_the_matching_assets_the_caller_may_see(
    api_as, shelf, today, role, query
):
    response = api_as(role).get(f"{url()}?{query}")
    expected = FILTERS[query] & SHELF_VISIBLE[role]
    assert names(response) == {shelf[key].name for key in expected}


@pytest.mark.parametrize("role", SHELF_VISIBLE)
def test_nothing_is_overdue_before_the_review_deadline_and_the_unreviewed_are_after_it(
    api_as, shelf, today, role
):
    client = api_as(role)
    assert names(client.get(f"{url()}?review=overdue")) == set()
    today(AFTER_DEADLINE)
    expected = {"ledger", "roster", "grades"} & SHELF_VISIBLE[role]
    assert names(client.get(f"{url()}?review=overdue")) == {shelf[key].name for key in expected}


def test_a_review_recorded_through_the_page_takes_the_asset_off_the_due_list(
    api_as, as_role, shelf, today
):
    today(AFTER_DEADLINE)
    ledger = shelf["ledger"]
    assert as_role("chief").post(f"/assets/{ledger.pk}/review/").status_code == 302
    ledger.refresh_from_db()
    assert ledger.last_reviewed_on == AFTER_DEADLINE
    client = api_as("chief")
    assert ledger.name not in names(client.get(f"{url()}?review=due"))
    assert ledger.name not in names(client.get(f"{url()}?review=overdue"))


@pytest.mark.parametrize(
    "query, field",
    [
        ("kind=bogus", "kind"),
        ("tier=cloud", "tier"),
        ("confidentiality=9", "confidentiality"),
        ("confidentiality=3A", "confidentiality"),
        ("review=someday", "review"),
        ("rule=nosuch", "rule"),
        ("department=nosuch", "department"),
    ],
)
def test_an_unknown_filter_value_is_a_400_naming_the_filter(api_as, shelf, query, field):
    response = api_as("chief").get(f"{url()}?{query}")
    assert response.status_code == 400
    assert field in response.json()
