"""Demo assets, added by `manage.py seed_demo` through isms.signals.demo_seeded. Three of
them break a tier rule on purpose, so the findings page has something to show."""

from .models import Asset, AssetChange, AssetRelation, ChangeKind, ClassificationLevel, NetworkTier

# name, kind, section code, tier, C, I, A, personal, my number, external, contract
ASSETS = [
    (
        "住民基本台帳システム",
        "system",
        "mayor-shimin-shimin",
        "mynumber",
        "3",
        "2",
        "2",
        True,
        True,
        "",
        "",
    ),
    (
        "住民票データ",
        "information",
        "mayor-shimin-shimin",
        "mynumber",
        "3",
        "2",
        "2",
        True,
        True,
        "",
        "",
    ),
    ("税務システム", "system", "mayor-shimin-zei", "mynumber", "3", "2", "2", True, True, "", ""),
    (
        "庁内グループウェア",
        "system",
        "mayor-somu-joho",
        "lgwan",
        "2",
        "2",
        "2",
        True,
        False,
        "",
        "",
    ),
    (
        "市ホームページ管理システム",
        "system",
        "mayor-somu-joho",
        "internet",
        "1",
        "2",
        "2",
        False,
        False,
        "",
        "",
    ),
    (
        "庁内ネットワーク構成図",
        "documentation",
        "mayor-somu-joho",
        "none",
        "3",
        "1",
        "1",
        False,
        False,
        "",
        "",
    ),
    ("職員名簿", "document", "mayor-somu-jinji", "lgwan", "2", "2", "1", True, False, "", ""),
    ("市報原稿", "document", "mayor-somu-somu", "none", "1", "1", "1", False, False, "", ""),
    (
        "成績処理クラウドサービス",
        "system",
        "kyoiku-kyoiku-gakko",
        "internet",
        "2",
        "2",
        "1",
        True,
        False,
        "学習支援クラウド株式会社",
        "",
    ),
    (
        "児童生徒名簿",
        "information",
        "kyoiku-kyoiku-gakko",
        "lgwan",
        "2",
        "2",
        "1",
        True,
        False,
        "",
        "",
    ),
]

# source, kind, target, sanitised
RELATIONS = [
    ("住民票データ", "stored_on", "住民基本台帳システム", False),
    ("税務システム", "connects_to", "庁内グループウェア", False),  # breaks the My Number rule
    ("庁内グループウェア", "connects_to", "市ホームページ管理システム", False),  # unsanitised
]


def seed_demo_assets(sender, departments, users, **kwargs):
    if Asset.objects.filter(name="住民基本台帳システム").exists():
        return
    levels = {
        (level.axis, level.code): level
        for level in ClassificationLevel.objects.filter(scheme__is_active=True)
    }
    tiers = {tier.code: tier for tier in NetworkTier.objects.all()}
    chief = users["chief.joho"]
    by_name = {}
    for name, kind, section, tier, c, i, a, personal, my_number, external, contract in ASSETS:
        asset = Asset.objects.create(
            name=name,
            kind=kind,
            section=departments[section],
            tier=tiers[tier],
            confidentiality=levels[("confidentiality", c)],
            integrity=levels[("integrity", i)],
            availability=levels[("availability", a)],
            has_personal_data=personal,
            has_my_number=my_number,
            external_service=external,
            contract_reference=contract,
        )
        AssetChange.objects.create(
            asset=asset, kind=ChangeKind.CREATED, changed_by=chief, reason="デモデータ"
        )
        by_name[name] = asset
    for source, kind, target, sanitised in RELATIONS:
        AssetRelation.objects.create(
            source=by_name[source], kind=kind, target=by_name[target], sanitised=sanitised
        )
