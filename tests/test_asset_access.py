"""Who sees which asset: a first check of the rules in assets.access (the page and API
matrices live in their own files)."""

import pytest

from assets.access import editable_assets, visible_assets


def names(queryset):
    return set(queryset.values_list("name", flat=True))


@pytest.mark.parametrize(
    "role, expected",
    [
        ("staff", {"庁内グループウェア", "市ホームページ"}),
        ("staff_somuka", {"市ホームページ", "人事評価記録"}),
        ("chief", {"庁内グループウェア", "市ホームページ"}),
        ("head", {"庁内グループウェア", "市ホームページ", "人事評価記録"}),
        ("other_head", {"市ホームページ", "成績処理システム"}),
        ("other_staff", {"市ホームページ", "成績処理システム"}),
        ("auditor", {"庁内グループウェア", "市ホームページ", "人事評価記録", "成績処理システム"}),
        ("ciso", {"庁内グループウェア", "市ホームページ", "人事評価記録", "成績処理システム"}),
        ("admin", {"庁内グループウェア", "市ホームページ", "人事評価記録", "成績処理システム"}),
    ],
)
def test_each_role_sees_public_assets_and_those_of_its_own_units(register, people, role, expected):
    assert names(visible_assets(people[role])) == expected


@pytest.mark.parametrize(
    "role, expected",
    [
        ("staff", set()),
        ("chief", {"庁内グループウェア", "市ホームページ"}),
        ("head", {"庁内グループウェア", "市ホームページ", "人事評価記録"}),
        ("other_head", {"成績処理システム"}),
        ("auditor", set()),
        ("ciso", set()),
        ("admin", set()),
    ],
)
def test_only_chiefs_and_heads_change_assets_and_only_their_own(register, people, role, expected):
    assert names(editable_assets(people[role])) == expected


def test_the_visibility_filter_is_sql_subqueries(register, people):
    sql = str(visible_assets(people["head"]).query)
    assert sql.count("SELECT") > 1


def test_a_custodian_of_another_section_sees_the_asset_they_keep_and_no_other(register, people):
    from assets.access import visible_history

    secret = register["somuka_secret"]  # 総務課, confidentiality 3
    keeper = people["staff"]  # 情報政策課, the same department (総務部)
    assert "人事評価記録" not in names(visible_assets(keeper))
    secret.custodian = keeper
    secret.save()
    assert "人事評価記録" in names(visible_assets(keeper))
    assert list(visible_history(keeper, secret)) == list(secret.history.all())
    # Their section's colleague, who keeps nothing there, still does not see it.
    assert "人事評価記録" not in names(visible_assets(people["chief"]))
