"""Demo data: the organisation, the policy documents, an open acknowledgement campaign and
one account per role. Running it again changes nothing."""

import datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from isms import policy_actions
from isms.audit import seal_pending_events
from isms.demo.organisation import ORGANISATION
from isms.demo.personnel import seed_april_batches
from isms.models import Audience, Department, DocumentKind, PolicyDocument, Role
from isms.policy_import import import_policy, parse_policy
from isms.roles import assign_role
from isms.signals import demo_seeded

DEMO_PASSWORD = "Oita-Demo-Pass-2025"
BASIC_POLICY = Path(__file__).resolve().parents[2] / "demo" / "basic_policy.txt"
KIND_BY_DEPTH = {0: "body", 1: "department", 2: "section"}

# username, display name, section code, (role, department code or None)
ACCOUNTS = [
    ("admin", "統括 情報太郎", "mayor-somu-joho", [(Role.PROGRAMME_ADMIN, None)]),
    ("ciso", "副市長 安全一郎", "mayor", [(Role.CISO, None)]),
    ("head.somu", "総務部長 大分花子", "mayor-somu", [(Role.DEPARTMENT_HEAD, "mayor-somu")]),
    (
        "chief.joho",
        "情報政策課長 府内次郎",
        "mayor-somu-joho",
        [(Role.SECTION_CHIEF, "mayor-somu-joho")],
    ),
    ("staff.joho", "情報政策課 鶴崎三郎", "mayor-somu-joho", []),
    ("head.kyoiku", "教育部長 稙田桜", "kyoiku-kyoiku", [(Role.DEPARTMENT_HEAD, "kyoiku-kyoiku")]),
    ("staff.kyoiku", "学校教育課 明野四郎", "kyoiku-kyoiku-gakko", []),
    ("auditor", "監査課 検証五郎", "kansa-jimu", [(Role.AUDITOR, None)]),
    ("csirt", "CSIRT 対応六郎", "mayor-somu-joho", [(Role.CSIRT, None)]),
]
STAFF_PER_SECTION = 6

STANDARD_BODY = """## 第1章 組織体制

情報セキュリティ対策を推進するため、最高情報セキュリティ責任者（CISO）、統括情報セキュリティ責任者、
情報セキュリティ責任者（部長）及び情報セキュリティ管理者（課長）を置く。

## 第2章 情報資産の分類と管理

情報資産は、機密性（3・2・1）、完全性（2・1）及び可用性（2・1）により分類し、分類に応じて取り扱う。

## 第5章 人的セキュリティ

職員等は、年度に一度以上、情報セキュリティ研修を受講しなければならない。
"""

STANDARD_UPDATE = (
    STANDARD_BODY
    + """
## 第6章 技術的セキュリティ

パスワードは12文字以上とし、他のシステムと同じものを使用してはならない。
外部記録媒体の使用は、情報セキュリティ管理者の許可を得た場合に限る。
"""
)

PROCEDURE_BODY = """## 情報システム運用手順（情報政策課）

1. サーバ室への入退室は記録簿に記入する。
2. バックアップは毎日取得し、週に一度、遠隔地に保管する。
3. 障害発生時は、統括情報セキュリティ責任者に直ちに報告する。
"""


class Command(BaseCommand):
    help = "Create demo data (idempotent). Every demo account's password: " + DEMO_PASSWORD

    @transaction.atomic
    def handle(self, *args, **options):
        departments = self.create_organisation()
        users = self.create_accounts(departments)
        self.create_staff(departments)
        self.create_policies(users, departments)
        demo_seeded.send(sender=self.__class__, departments=departments, users=users)
        seed_april_batches(users["admin"], timezone.localdate())
        # The demo has no beat: chain its audit trail now, so verify_audit_trail has it all.
        seal_pending_events()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready. Log in as admin, ciso, head.somu, chief.joho, staff.joho, "
                f"head.kyoiku, staff.kyoiku or auditor with the password {DEMO_PASSWORD}"
            )
        )

    def create_organisation(self):
        departments = {}

        def walk(nodes, parent, depth):
            for order, (code, name, name_en, children) in enumerate(nodes, start=1):
                department, _ = Department.objects.get_or_create(
                    code=code,
                    defaults={
                        "name": name,
                        "name_en": name_en,
                        "parent": parent,
                        # A body's only child unit is a section, whatever its depth.
                        "kind": KIND_BY_DEPTH[depth] if children or depth == 0 else "section",
                        "sort_order": order,
                    },
                )
                departments[code] = department
                walk(children, department, depth + 1)

        walk(ORGANISATION, None, 0)
        return departments

    def create_accounts(self, departments):
        User = get_user_model()
        password = make_password(DEMO_PASSWORD)
        users = {}
        for username, display_name, section, roles in ACCOUNTS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "display_name": display_name,
                    "section": departments[section],
                    "password": password,
                    "email": f"{username}@city.example.jp",
                    "is_staff": username == "admin",
                    "is_superuser": username == "admin",
                },
            )
            users[username] = user
            for role, department_code in roles:
                assign_role(user, role, departments.get(department_code))
        return users

    def create_staff(self, departments):
        """A few members of staff in every section, so progress pages have something to show."""
        User = get_user_model()
        password = make_password(DEMO_PASSWORD)
        sections = [d for d in departments.values() if d.kind == "section"]
        existing = set(
            User.objects.filter(username__startswith="staff-").values_list("username", flat=True)
        )
        new = []
        for section in sections:
            for i in range(1, STAFF_PER_SECTION + 1):
                username = f"staff-{section.code}-{i}"
                if username not in existing:
                    new.append(
                        User(
                            username=username,
                            display_name=f"{section.name} 職員{i}",
                            section=section,
                            password=password,
                        )
                    )
        User.objects.bulk_create(new)

    def create_policies(self, users, departments):
        admin, ciso = users["admin"], users["ciso"]
        if not PolicyDocument.objects.filter(code="basic-policy").exists():
            import_policy(
                parse_policy(BASIC_POLICY.read_text(encoding="utf-8")),
                code="basic-policy",
                kind=DocumentKind.BASIC_POLICY,
                audience=Audience.PUBLIC,
                author=admin,
            )

        standard, created = PolicyDocument.objects.get_or_create(
            code="security-standard",
            defaults={
                "title": "大分市情報セキュリティ対策基準",
                "kind": DocumentKind.STANDARD,
                "audience": Audience.ALL_STAFF,
            },
        )
        if created:
            today = timezone.localdate()
            self.publish(
                standard,
                admin,
                ciso,
                STANDARD_BODY,
                datetime.date(2025, 4, 1),
                "初版",
                material=False,
            )
            # The open campaign: a material change that every member of staff acknowledges.
            self.publish(
                standard,
                admin,
                ciso,
                STANDARD_UPDATE,
                today,
                "第6章（技術的セキュリティ）にパスワードと外部記録媒体の規定を追加",
                material=True,
            )

        procedure, created = PolicyDocument.objects.get_or_create(
            code="joho-operations-procedure",
            defaults={
                "title": "情報システム運用手順",
                "kind": DocumentKind.PROCEDURE,
                "audience": Audience.DEPARTMENTS,
            },
        )
        if created:
            procedure.audience_departments.add(departments["mayor-somu"])
            self.publish(
                procedure,
                admin,
                ciso,
                PROCEDURE_BODY,
                datetime.date(2025, 4, 1),
                "初版",
                material=True,
            )

    def publish(self, document, author, approver, body, effective_date, summary, material):
        revision = policy_actions.create_draft(
            document,
            by=author,
            title=document.title,
            body=body,
            change_summary=summary,
            effective_date=effective_date,
            is_material=material,
        )
        policy_actions.submit_for_review(revision, by=author)
        policy_actions.approve(revision, by=approver)
        return policy_actions.publish(revision, by=author)
