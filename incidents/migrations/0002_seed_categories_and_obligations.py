"""The threats of the basic policy (seed 3) as incident categories, and the authorities and
reporting obligations a Japanese city starts with. All of it is data the programme admin
edits in the admin: deadlines and thresholds whose legal details vary are marked
"configurable", so the CSIRT confirms them case by case."""

from django.db import migrations

CATEGORIES = [
    (
        "cyber-attack",
        "サイバー攻撃・不正アクセス",
        "不正アクセス、ウイルス攻撃、サービス不能攻撃、部外者の侵入等",
    ),
    ("insider-fraud", "内部不正", "重要情報の詐取、情報資産の無断持ち出し等の意図的な不正"),
    ("rule-violation", "規定違反", "無許可ソフトウェアの使用、持ち出し手続の不履行等"),
    ("mistake", "操作・設定ミス・紛失", "誤送信、誤廃棄、USBメモリ等の紛失、設定ミス等"),
    (
        "defect",
        "設計・開発の不備・機器故障",
        "プログラムの欠陥、メンテナンス不備、委託管理の不備、機器故障等",
    ),
    ("disaster", "災害", "地震、落雷、火災等による業務の停止"),
    (
        "pandemic",
        "疾病による要員不足",
        "大規模・広範囲の疾病による要員不足とシステム運用の機能不全",
    ),
    ("infrastructure", "インフラ障害", "電力、通信、水道の供給の途絶等"),
]

AUTHORITIES = [
    ("ppc", "個人情報保護委員会", "漏えい等報告フォーム（個人情報保護委員会ウェブサイト）"),
    ("prefecture", "都道府県（市町村課）", ""),
    ("mic", "総務省（地域情報化企画室）", ""),
    ("j-lis", "地方公共団体情報システム機構（J-LIS）", ""),
    ("police", "警察（サイバー犯罪相談窓口）", ""),
]

# (authority, name, basis, conditions, configurable, [(order, stage, days, count_from)])
RULES = [
    (
        "ppc",
        "個人情報の漏えい等の報告（個人情報保護委員会）",
        "個人情報保護法第68条、同施行規則第43条・第44条。速報は知った時から概ね3〜5日以内、"
        "確報は30日以内（不正の目的によるおそれがある場合は60日以内）。",
        {"if_personal_data": True},
        True,
        [(1, "速報", 5, "awareness"), (2, "確報", 30, "awareness")],
    ),
    (
        "ppc",
        "特定個人情報の漏えい等の報告（個人情報保護委員会）",
        "番号利用法第29条の4、特定個人情報の漏えい等に関する報告等に関する規則。",
        {"if_my_number": True},
        True,
        [(1, "速報", 5, "awareness"), (2, "確報", 30, "awareness")],
    ),
    (
        "j-lis",
        "マイナンバー関連の事案の連絡（J-LIS）",
        "住民基本台帳ネットワーク・中間サーバー等に係る事案の連絡。",
        {"if_my_number": True},
        True,
        [(1, "第一報", 1, "awareness")],
    ),
    (
        "prefecture",
        "重大な情報セキュリティインシデントの報告（都道府県）",
        "地方公共団体における情報セキュリティポリシーに関するガイドライン。",
        {"min_severity": "high"},
        True,
        [(1, "第一報", 1, "awareness"), (2, "続報", 14, "previous")],
    ),
    (
        "mic",
        "重大な情報セキュリティインシデントの報告（総務省）",
        "地方公共団体における情報セキュリティポリシーに関するガイドライン。都道府県経由の場合あり。",
        {"min_severity": "critical"},
        True,
        [(1, "第一報", 1, "awareness")],
    ),
    (
        "police",
        "犯罪の疑いがある事案の相談・届出（警察）",
        "不正アクセス禁止法違反、内部不正等、犯罪の疑いがある場合。",
        {"categories": ["cyber-attack", "insider-fraud"]},
        True,
        [(1, "相談・届出", 3, "awareness")],
    ),
]


def seed(apps, schema_editor):
    Category = apps.get_model("incidents", "Category")
    Authority = apps.get_model("incidents", "Authority")
    ObligationRule = apps.get_model("incidents", "ObligationRule")
    StageRule = apps.get_model("incidents", "StageRule")
    categories = {}
    for order, (code, name, description) in enumerate(CATEGORIES, start=1):
        categories[code], _ = Category.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "order": order}
        )
    authorities = {}
    for order, (code, name, contact) in enumerate(AUTHORITIES, start=1):
        authorities[code], _ = Authority.objects.get_or_create(
            code=code, defaults={"name": name, "contact": contact, "order": order}
        )
    for authority, name, basis, conditions, configurable, stages in RULES:
        if ObligationRule.objects.filter(name=name).exists():
            continue
        conditions = dict(conditions)
        codes = conditions.pop("categories", [])
        rule = ObligationRule.objects.create(
            authority=authorities[authority],
            name=name,
            basis=basis,
            configurable=configurable,
            **conditions,
        )
        rule.categories.set([categories[code] for code in codes])
        for order, stage, days, count_from in stages:
            StageRule.objects.create(
                rule=rule, order=order, name=stage, days=days, count_from=count_from
            )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
