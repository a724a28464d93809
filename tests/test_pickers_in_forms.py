"""Pickers, not ids: the asset a relation points to and an asset's custodian are chosen from
a list of what the person may choose (isms/pickers.py), never typed as a number or a user
name. A short list is a plain select; a long one is a search box whose Search button works
without JavaScript (the form comes back as typed, with the matches) and whose search
endpoint answers the script. Neither ever offers anything of a department the person may not
see, and the endpoints are bounded."""

import pytest

from assets.models import Asset, AssetRelation

from .conftest import ROLES
from .pages import is_login_redirect, page

PERSONAS = [*ROLES, "staff_somuka", "other_staff"]


def chosen(found, name):
    """The value of the option selected in a select of the page."""
    options = found.find("select", name=name).find_all("option")
    return next(o.attrs["value"] for o in options if "selected" in o.attrs)


def options(response, name):
    """The values a picker offers: the options of its select, or its radio buttons."""
    found = page(response)
    select = found.find("select", name=name)
    if select is not None:
        return {o.attrs["value"] for o in select.find_all("option") if o.attrs["value"]}
    return {
        radio.attrs["value"]
        for radio in found.find_all("input", type="radio", name=name)
        if radio.attrs["value"]
    }


def search_results(response, name):
    """The labels of the matches a search endpoint sends back."""
    assert response.status_code == 200
    results = page(response).find("fieldset", testid=f"{name}-results")
    assert results is not None
    return [label.text for label in results.find_all("label") if label.find("input").attrs["value"]]


@pytest.fixture
def many_assets(make_asset):
    """make(n, section, c) -> n assets named 端末NNN of one section."""

    def make(n, section="joho", c="2"):
        return [make_asset(section, c=c, name=f"端末{number:03d}") for number in range(n)]

    return make


# --- a short list is a plain select -----------------------------------------------------


def test_the_related_asset_is_chosen_from_the_assets_the_chief_sees_not_typed_as_a_number(
    as_role, register
):
    source = register["joho_confidential"]
    response = as_role("chief").get(f"/assets/{source.pk}/")
    form = page(response).find("form", testid="relation-form")
    assert form.find("select", name="target") is not None
    assert form.find("input", name="target") is None
    # Itself and the assets of 総務課 and 学校教育課 out of the chief's sight are not offered.
    assert options(response, "target") == {str(register["joho_public"].pk)}


def test_a_head_sees_every_asset_of_the_department_among_the_choices(as_role, register):
    source = register["joho_public"]
    response = as_role("head").get(f"/assets/{source.pk}/")
    assert options(response, "target") == {
        str(register["joho_confidential"].pk),
        str(register["somuka_secret"].pk),
    }


def test_a_relation_is_added_with_the_asset_chosen_from_the_list(as_role, register):
    source, target = register["joho_confidential"], register["joho_public"]
    response = as_role("chief").post(
        f"/assets/{source.pk}/relations/", {"kind": "connects_to", "target": target.pk}
    )
    assert response.status_code == 302
    assert AssetRelation.objects.get().target == target


# --- a long list is a search --------------------------------------------------------------


def test_a_long_list_is_a_labelled_search_box_with_a_search_button(as_role, register, many_assets):
    many_assets(60)
    source = register["joho_confidential"]
    response = as_role("chief").get(f"/assets/{source.pk}/")
    form = page(response).find("form", testid="relation-form")
    assert form.find("select", name="target") is None
    search = form.find("input", type="search", id="id_target")
    assert search is not None and search.attrs["name"] == "target__q"
    assert form.find("label", **{"for": "id_target"}) is not None
    status = form.find("p", role="status")
    assert status.attrs["aria-live"] == "polite"
    assert search.attrs["aria-describedby"] == status.attrs["id"]
    assert form.find("button", name="picker-search").attrs["value"] == "target"


def test_the_search_button_shows_the_matches_and_keeps_what_was_chosen_without_saving(
    as_role, register, many_assets
):
    assets = many_assets(60)
    source = register["joho_confidential"]
    response = as_role("chief").post(
        f"/assets/{source.pk}/relations/",
        {
            "kind": "stored_on",
            "target__q": "端末05",
            "sanitised": "on",
            "picker-search": "target",
        },
    )
    assert response.status_code == 200
    found = page(response)
    assert found.find(testid="error-summary") is None
    assert found.find("input", name="target__q").attrs["value"] == "端末05"
    assert chosen(found, "kind") == "stored_on"
    assert "checked" in found.find("input", name="sanitised").attrs
    # 端末050 to 端末059.
    assert options(response, "target") == {str(a.pk) for a in assets[50:60]}
    assert not AssetRelation.objects.exists()

    # The match chosen is then sent with the form.
    response = as_role("chief").post(
        f"/assets/{source.pk}/relations/",
        {"kind": "stored_on", "target__q": "端末05", "target": assets[52].pk},
    )
    assert response.status_code == 302
    assert AssetRelation.objects.get().target == assets[52]


def test_an_asset_is_found_by_its_number_too(as_role, register, many_assets):
    assets = many_assets(60)
    source = register["joho_confidential"]
    response = as_role("chief").get(
        f"/assets/{source.pk}/relations/search/", {"q": str(assets[7].pk)}
    )
    assert any(
        label.startswith(f"#{assets[7].pk} ") for label in search_results(response, "target")
    )


def test_the_custodian_search_keeps_everything_typed_in_the_asset_form(
    as_role, catalogue, org, monkeypatch
):
    monkeypatch.setattr("isms.pickers.PICKER_SELECT_UP_TO", 2)
    levels = catalogue["levels"]
    data = {
        "name": "庁内ファイルサーバ",
        "kind": "system",
        "section": org["joho"].pk,
        "description": "共有フォルダ",
        "tier": catalogue["tiers"]["lgwan"].pk,
        "confidentiality": levels[("confidentiality", "2")].pk,
        "integrity": levels[("integrity", "1")].pk,
        "availability": levels[("availability", "1")].pk,
        "custodian_username__q": "somu",
        "picker-search": "custodian_username",
    }
    response = as_role("chief").post("/assets/new/", data)
    assert response.status_code == 200
    found = page(response)
    assert found.find(testid="error-summary") is None
    assert found.find("input", name="name").attrs["value"] == "庁内ファイルサーバ"
    assert "共有フォルダ" in found.find("textarea", name="description").text
    assert options(response, "custodian_username") == {"staff_somuka", "head_somu"}
    assert not Asset.objects.exists()


# --- the search endpoints -----------------------------------------------------------------

# The related-asset search of an asset of 情報政策課 (機密性2): only those who may change it.
RELATION_SEARCH = {
    "staff": 403,
    "staff_somuka": 404,
    "chief": 200,
    "head": 200,
    "other_head": 404,
    "other_staff": 404,
    "auditor": 403,
    "ciso": 403,
    "admin": 403,
}


@pytest.mark.parametrize("role", PERSONAS)
def test_only_who_may_change_the_asset_searches_for_a_related_asset(as_role, register, role):
    source = register["joho_confidential"]
    url = f"/assets/{source.pk}/relations/search/"
    response = as_role(role).get(url, {"q": "市"})
    if role == "anonymous":
        assert is_login_redirect(response, f"{url}?q=%E5%B8%82")
        return
    assert response.status_code == RELATION_SEARCH[role]
    if response.status_code == 200:
        assert search_results(response, "target") == [
            f"#{register['joho_public'].pk} 市ホームページ (情報政策課)"
        ]


def test_a_head_of_another_department_finds_nothing_of_the_first_one_it_may_not_see(
    as_role, register, many_assets
):
    many_assets(30)
    source = register["gakko_confidential"]
    client = as_role("other_head")
    url = f"/assets/{source.pk}/relations/search/"
    for term in ("端末", "庁内グループウェア", "人事評価記録", str(register["somuka_secret"].pk)):
        assert search_results(client.get(url, {"q": term}), "target") == [], term
    # Public information is the register's one exception: everyone sees it.
    assert search_results(client.get(url, {"q": "市ホームページ"}), "target") == [
        f"#{register['joho_public'].pk} 市ホームページ (情報政策課)"
    ]


CUSTODIAN_SEARCH = {
    "staff": 403,
    "staff_somuka": 403,
    "chief": 200,
    "head": 200,
    "other_head": 200,
    "other_staff": 403,
    "auditor": 403,
    "ciso": 403,
    "admin": 403,
}


@pytest.mark.parametrize("role", PERSONAS)
def test_only_who_manages_assets_searches_for_a_custodian(as_role, people, role):
    url = "/assets/pickers/custodians/"
    response = as_role(role).get(url, {"q": "_"})
    if role == "anonymous":
        assert is_login_redirect(response, f"{url}?q=_")
        return
    assert response.status_code == CUSTODIAN_SEARCH[role]


def test_the_custodian_search_of_another_departments_head_finds_nobody_of_the_first(
    as_role, people
):
    client = as_role("other_head")
    url = "/assets/pickers/custodians/"
    for term in ("joho", "somu", "somuka"):
        assert search_results(client.get(url, {"q": term}), "custodian_username") == [], term
    found = search_results(client.get(url, {"q": "kyoiku"}), "custodian_username")
    assert {label.split()[-1].strip("()") for label in found} == {"head_kyoiku", "staff_kyoiku"}


def test_the_search_is_bounded_in_rows_and_queries(
    as_role, register, many_assets, django_assert_max_num_queries
):
    many_assets(120)
    source = register["joho_confidential"]
    client = as_role("chief")
    url = f"/assets/{source.pk}/relations/search/"
    client.get(url, {"q": "端末"})
    with django_assert_max_num_queries(12):
        response = client.get(url, {"q": "端末", "value": str(register["joho_public"].pk)})
    labels = search_results(response, "target")
    # The asset already chosen, and the first twenty matches.
    assert len(labels) == 21
    assert "20" in page(response).find("fieldset").attrs["data-status"]


@pytest.mark.parametrize("term", ["\x00", "端末\x00", "x" * 5000, "9" * 40, "%", "_"])
def test_a_strange_search_term_is_an_answer_not_an_error(as_role, register, term):
    source = register["joho_confidential"]
    for url in (f"/assets/{source.pk}/relations/search/", "/assets/pickers/custodians/"):
        response = as_role("chief").get(url, {"q": term, "value": term})
        assert response.status_code == 200, (url, term)
