"""The demo's training, added by `manage.py seed_demo` through isms.signals.demo_seeded:
this fiscal year's course for all staff, published, and completed by part of each
section's generated staff (staff-<section>-<n>), a different share per section. The
demo's named accounts (staff.joho, …) still have it to take."""

import datetime

from django.utils import timezone

from isms.eras import fiscal_year
from isms.models import DepartmentKind

from .models import Choice, Course, Enrolment, Question
from .services import publish_course

QUIZ = [
    (
        "不審なメールの添付ファイルを開いてしまったとき、最初にすることは？",
        [
            ("端末をネットワークから切り離し、情報セキュリティ管理者に報告する", True),
            ("そのまま様子を見る", False),
        ],
    ),
    (
        "機密性2の情報を庁外に持ち出すときに必要なことは？",
        [("情報セキュリティ管理者の許可を得て記録する", True), ("特に手続は不要", False)],
    ),
]


def seed_demo_training(sender, departments, users, **kwargs):
    if Course.objects.exists():
        return
    today = timezone.localdate()
    course = Course.objects.create(
        title="情報セキュリティ研修（全職員）",
        content="## 目的\n\n標的型メール、情報資産の取扱い、インシデントの報告を学びます。",
        fiscal_year=fiscal_year(today),
        deadline=today + datetime.timedelta(days=45),
        created_by=users["admin"],
    )
    for order, (text, choices) in enumerate(QUIZ, start=1):
        question = Question.objects.create(course=course, text=text, order=order)
        Choice.objects.bulk_create(
            Choice(question=question, text=choice, is_correct=right) for choice, right in choices
        )
    publish_course(course, by=users["admin"])
    sections = sorted(
        (unit for unit in departments.values() if unit.kind == DepartmentKind.SECTION),
        key=lambda unit: unit.code,
    )
    done = []
    for index, section in enumerate(sections):
        enrolments = Enrolment.objects.filter(
            course=course, user__section=section, user__username__startswith="staff-"
        ).order_by("user__username")
        count = enrolments.count()
        done += list(enrolments.values_list("pk", flat=True)[: (index * 3 + 4) % (count + 1)])
    Enrolment.objects.filter(pk__in=done).update(completed_at=timezone.now(), best_score=100)
