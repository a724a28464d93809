"""The demo city's organisation: the ten administrative bodies of seed 4(1) with a few
departments and sections each. (code, name, English name, children)."""

ORGANISATION = [
    (
        "mayor",
        "市長事務部局",
        "Mayor's office",
        [
            (
                "mayor-somu",
                "総務部",
                "General Affairs Department",
                [
                    ("mayor-somu-joho", "情報政策課", "Information Policy Section", []),
                    ("mayor-somu-somu", "総務課", "General Affairs Section", []),
                    ("mayor-somu-jinji", "人事課", "Personnel Section", []),
                ],
            ),
            (
                "mayor-shimin",
                "市民部",
                "Citizens Department",
                [
                    ("mayor-shimin-shimin", "市民課", "Citizens Section", []),
                    ("mayor-shimin-zei", "市民税課", "Municipal Tax Section", []),
                ],
            ),
            (
                "mayor-fukushi",
                "福祉保健部",
                "Welfare and Health Department",
                [
                    ("mayor-fukushi-fukushi", "福祉保健課", "Welfare Section", []),
                    (
                        "mayor-fukushi-kokuho",
                        "国保年金課",
                        "Health Insurance and Pension Section",
                        [],
                    ),
                ],
            ),
        ],
    ),
    (
        "kyoiku",
        "教育委員会",
        "Board of Education",
        [
            (
                "kyoiku-kyoiku",
                "教育部",
                "Education Department",
                [
                    ("kyoiku-kyoiku-somu", "教育総務課", "Education General Affairs Section", []),
                    ("kyoiku-kyoiku-gakko", "学校教育課", "School Education Section", []),
                ],
            ),
        ],
    ),
    (
        "senkyo",
        "選挙管理委員会",
        "Election Administration Commission",
        [
            ("senkyo-jimu", "選挙管理委員会事務局", "Election Commission Secretariat", []),
        ],
    ),
    (
        "kohei",
        "公平委員会",
        "Equity Commission",
        [
            ("kohei-jimu", "公平委員会事務局", "Equity Commission Secretariat", []),
        ],
    ),
    (
        "nogyo",
        "農業委員会",
        "Agricultural Committee",
        [
            ("nogyo-jimu", "農業委員会事務局", "Agricultural Committee Secretariat", []),
        ],
    ),
    (
        "kotei",
        "固定資産評価審査委員会",
        "Fixed Asset Evaluation Review Board",
        [
            ("kotei-jimu", "固定資産評価審査委員会事務局", "Review Board Secretariat", []),
        ],
    ),
    (
        "suido",
        "上下水道局",
        "Water and Sewerage Bureau",
        [
            (
                "suido-keiei",
                "経営管理部",
                "Management Department",
                [
                    ("suido-keiei-somu", "総務課", "General Affairs Section", []),
                ],
            ),
        ],
    ),
    (
        "shobo",
        "消防局",
        "Fire Bureau",
        [
            (
                "shobo-somu",
                "総務部",
                "General Affairs Department",
                [
                    ("shobo-somu-somu", "総務課", "General Affairs Section", []),
                ],
            ),
        ],
    ),
    (
        "kansa",
        "監査事務局",
        "Audit Secretariat",
        [
            ("kansa-jimu", "監査課", "Audit Section", []),
        ],
    ),
    (
        "gikai",
        "議会事務局",
        "City Council Secretariat",
        [
            ("gikai-jimu", "議事課", "Proceedings Section", []),
        ],
    ),
]
