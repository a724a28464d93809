"""Demo audits, added by `manage.py seed_demo` through isms.signals.demo_seeded: the starter
checklist and this fiscal year's self-inspection of 総務部 and 教育部, with the auditor
assigned."""

import datetime

from django.utils import timezone

from isms.eras import fiscal_year

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
        name=f"{year}年度 情報セキュリティ自己点検",
        kind=CycleKind.SELF_INSPECTION,
        fiscal_year=year,
        checklist=checklist,
        starts_on=today,
        due_on=today + datetime.timedelta(days=60),
    )
    for department in scope:
        services.assign_auditor(cycle, department, users["auditor"], by=users["admin"])
