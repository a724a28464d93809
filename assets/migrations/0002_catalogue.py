"""The classification schemes, their handling rules and the network tiers every city starts
with. The classic scheme is active; the 2024 one (機密性3A/3B/3C/2/1) is ready to switch to.
Handling rules summarise the national guideline; a city edits them in the admin."""

from django.db import migrations

from isms.dbguards import append_only

TIERS = [
    ("mynumber", "マイナンバー利用事務系", 1,
     "社会保障・地方税・防災・戸籍等の個人番号利用事務。他の領域との通信は原則不可。"),
    ("lgwan", "LGWAN接続系", 2,
     "LGWANに接続する業務システム。インターネット接続系とは通信経路を分割し、無害化通信のみ。"),
    ("internet", "インターネット接続系", 3,
     "インターネットメール、ホームページ管理等。自治体情報セキュリティクラウド経由で接続。"),
    ("none", "ネットワーク外", 4, "ネットワークに接続しない資産（紙文書、単体の媒体等）。"),
]

C2_RULES = {
    "labelling": (2, "「機密性2」と表示する（文書のヘッダ、ファイルのプロパティ等）。"),
    "copying": (2, "業務上必要な範囲を超えて複製・配付しない。"),
    "taking_out": (2, "持出しは情報セキュリティ管理者（課長）の許可を得て、記録する。"),
    "sending": (2, "送信・運搬は暗号化又はパスワード設定を行う。"),
    "storage": (2, "施錠できる場所又はアクセス制限のある場所に保管する。"),
    "disposal": (2, "復元できない方法で廃棄し、情報セキュリティ管理者の許可と廃棄の記録を残す。"),
}
C3_RULES = {
    "labelling": (3, "「機密性3」と表示する。"),
    "copying": (3, "複製・配付は情報セキュリティ管理者の許可がある場合に限る。"),
    "taking_out": (3, "原則として持出し禁止。やむを得ない場合は許可を得て暗号化し、記録する。"),
    "sending": (3, "送信は暗号化し、送信先を限定する。外部への送信は原則禁止。"),
    "storage": (3, "施錠保管し、アクセスできる職員を限定して記録する。"),
    "disposal": (3, "復元できない方法で廃棄し、廃棄の立会いと記録を行う。"),
    "terminals": (3, "市が支給した端末でのみ取り扱う。"),
}
I2_RULES = {
    "backup": (2, "定期的にバックアップを取得し、改ざん・誤りを検知できるようにする。"),
    "storage": (1, "改ざん・消去を防ぐため、書込み権限を必要な職員に限定する。"),
}
A2_RULES = {
    "backup": (3, "バックアップを取得し、遠隔地に保管する。復旧までの目標時間を定める。"),
}


def levels(confidentiality):
    """(axis, code, name, rank, rules) for a scheme whose confidentiality levels are given
    as [(code, name, rules)] from the lowest up."""
    rows = [("confidentiality", code, name, rank, rules)
            for rank, (code, name, rules) in enumerate(confidentiality, start=1)]
    rows += [
        ("integrity", "1", "完全性1", 1, {}),
        ("integrity", "2", "完全性2", 2, I2_RULES),
        ("availability", "1", "可用性1", 1, {}),
        ("availability", "2", "可用性2", 2, A2_RULES),
    ]
    return rows


def stricter(rules, by, note):
    return {topic: (strictness + by, f"{text}{note}") for topic, (strictness, text) in
            rules.items()}


SCHEMES = [
    ("classic", "機密性3/2/1・完全性2/1・可用性2/1", True, levels([
        ("1", "機密性1", {}),
        ("2", "機密性2", C2_RULES),
        ("3", "機密性3", C3_RULES),
    ])),
    ("2024", "令和6年改定（機密性3A/3B/3C/2/1）", False, levels([
        ("1", "機密性1", {}),
        ("2", "機密性2", C2_RULES),
        ("3C", "機密性3C", C3_RULES),
        ("3B", "機密性3B", stricter(C3_RULES, 1, "（3B: 取扱者を名簿で管理する）")),
        ("3A", "機密性3A", stricter(C3_RULES, 2, "（3A: 取扱いの都度、責任者の承認を得る）")),
    ])),
]


def load(apps, schema_editor):
    Tier = apps.get_model("assets", "NetworkTier")
    Scheme = apps.get_model("assets", "ClassificationScheme")
    Level = apps.get_model("assets", "ClassificationLevel")
    Rule = apps.get_model("assets", "HandlingRule")
    for code, name, order, description in TIERS:
        Tier.objects.get_or_create(code=code, defaults={
            "name": name, "sort_order": order, "description": description})
    for code, name, active, rows in SCHEMES:
        scheme, _ = Scheme.objects.get_or_create(code=code, defaults={
            "name": name, "is_active": active})
        for axis, level_code, level_name, rank, rules in rows:
            level, _ = Level.objects.get_or_create(
                scheme=scheme, axis=axis, code=level_code,
                defaults={"name": level_name, "rank": rank})
            for topic, (strictness, text) in rules.items():
                Rule.objects.get_or_create(level=level, topic=topic, defaults={
                    "text": text, "strictness": strictness})


class Migration(migrations.Migration):
    dependencies = [("assets", "0001_initial")]

    operations = [
        migrations.RunPython(load, migrations.RunPython.noop),
        append_only("assets_assetchange"),
    ]
