"""Plain helpers shared by the audit tests (test_audit_access, test_audit_api,
test_audit_report): each test file builds its own fixtures from these."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audits import services
from audits.models import Answer, CycleKind, Inspection, Result
from audits.starter_checklist import load_starter_checklist

# The smallest bytes that pass for each accepted type.
PDF = b"%PDF-1.4\n% evidence for the audit\n%%EOF\n"


def open_cycle(people, departments, *, name="令和7年度 自己点検", kind=CycleKind.SELF_INSPECTION):
    """A cycle over `departments`, opened by the programme admin, due in 60 days."""
    today = timezone.localdate()
    return services.open_cycle(
        by=people["admin"],
        departments=list(departments),
        name=name,
        kind=kind,
        fiscal_year=2025,
        checklist=load_starter_checklist(),
        starts_on=today,
        due_on=today + datetime.timedelta(days=60),
    )


def inspection(cycle, department):
    return Inspection.objects.get(cycle=cycle, department=department)


def answer_all(inspection, *, by, result=Result.COMPLIANT, comment=""):
    """Answer every item of the cycle's checklist the same way."""
    items = inspection.cycle.checklist.items.values_list("pk", flat=True)
    services.save_answers(inspection, {pk: (result, comment) for pk in items}, by=by)
    return inspection


def answers(inspection):
    """{item id: (result, comment)} as stored."""
    return {
        item_id: (result, comment)
        for item_id, result, comment in Answer.objects.filter(inspection=inspection).values_list(
            "item_id", "result", "comment"
        )
    }


def record_finding(cycle, department, *, by, title="持出し記録の不備", **fields):
    fields.setdefault("area", "assets")
    fields.setdefault("severity", "minor")
    fields.setdefault("description", "機密性2の情報の持出しが記録されていない。")
    return services.record_finding(by=by, cycle=cycle, department=department, title=title, **fields)


def upload(name="evidence.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)
