"""Demo audits, added by `manage.py seed_demo` through isms.signals.demo_seeded: the starter
checklist and this fiscal year's self-inspection of 総務部 and 教育部, with the auditor
assigned."""

import datetime

from django.utils import timezone

from isms.eras import fiscal_year, fiscal_year_label

from . import services
from .models import Cycle, CycleKind
from .starter_checklist import load_starter_checklist


def seed_demo_audits(sender, departments, users, **kwargs):
    checklist = load_starter_checklist()
    if Cycle.objects.exists():
        return
    today = timezone.localdate()
    year = fiscal_year(today)
    scope = [departments["mayor-somu"], departments["kyoiku-kyoiku"]]
    cycle = services.open_cycle(
        by=users["admin"],
        departments=scope,
        name=f"{fiscal_year_label(year, 'ja')} 情報セキュリティ自己点検",
        kind=CycleKind.SELF_INSPECTION,
        fiscal_year=year,
        checklist=checklist,
        starts_on=today,
        due_on=today + datetime.timedelta(days=60),
    )
    for department in scope:
        services.assign_auditor(cycle, department, users["auditor"], by=users["admin"])
    seed_demo_findings(cycle, departments, users, today)


# (department, head, area, severity, title, days until the corrective action is due or None)
DEMO_FINDINGS = [
    ("mayor-somu", "head.somu", "technical", "major", "未使用アカウントが削除されていない", -14),
    ("mayor-somu", "head.somu", "technical", "minor", "パッチ適用の記録が不十分", 20),
    ("mayor-somu", "head.somu", "physical", "minor", "サーバ室の入退室記録に漏れ", None),
    ("mayor-somu", "head.somu", "assets", "observation", "情報資産台帳の見直し日が未記入", None),
    ("kyoiku-kyoiku", "head.kyoiku", "human", "minor", "研修未受講者への督促がない", -5),
    (
        "kyoiku-kyoiku",
        "head.kyoiku",
        "outsourcing",
        "major",
        "委託契約にセキュリティ要件がない",
        30,
    ),
]


def seed_demo_findings(cycle, departments, users, today):
    """The auditor's findings, some with a corrective action (one overdue per department),
    so that the dashboard and the finding list have something to show."""
    for code, head, area, severity, title, due_in in DEMO_FINDINGS:
        finding = services.record_finding(
            by=users["auditor"],
            cycle=cycle,
            department=departments[code],
            area=area,
            severity=severity,
            title=title,
            description=f"{title}。",
        )
        if due_in is not None:
            services.add_corrective_action(
                finding,
                by=users[head],
                owner=users[head],
                plan="担当課で手順を見直し、実施状況を記録する。",
                due_on=today + datetime.timedelta(days=due_in),
            )
