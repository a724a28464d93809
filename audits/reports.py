"""The cycle report for the committee: completion, compliance per department and area (a
heat map), findings by severity and status, overdue corrective actions. A fixed number of
aggregate queries whatever the number of departments."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import pgettext

from isms.models import Department
from isms.roles import is_programme_office

from . import access
from .models import (
    Answer,
    Area,
    AuditorAssignment,
    CorrectiveAction,
    Finding,
    FindingStatus,
    Inspection,
    Result,
    Severity,
)


def departments_in_report(cycle, user):
    scope = cycle.departments.all()
    if is_programme_office(user):
        return scope
    assigned = AuditorAssignment.objects.filter(cycle=cycle, auditor=user).values("department")
    return scope.filter(pk__in=assigned) | scope.filter(pk__in=access.answering_departments(user))


def rate(counts):
    """Compliance rate in percent: compliant counts fully, partly compliant half; items
    marked not applicable are left out. None when nothing applicable was answered."""
    applicable = sum(n for result, n in counts.items() if result != Result.NOT_APPLICABLE)
    if not applicable:
        return None
    # Rounded half up (四捨五入), in integers: round() rounds 62.5 to the even 62.
    half_points = 2 * counts.get(Result.COMPLIANT, 0) + counts.get(Result.PARTLY, 0)
    return (100 * half_points + applicable) // (2 * applicable)


@dataclass
class DepartmentRow:
    department: Department
    inspection: Inspection | None
    answered: int = 0
    cells: dict = field(default_factory=dict)  # area -> rate
    overall: int | None = None


@dataclass
class CycleReport:
    cycle: object
    items_total: int
    areas: list
    rows: list
    area_rates: dict
    findings: dict  # (severity, status) -> count
    overdue_actions: list

    @property
    def severities(self):
        return Severity.choices

    @property
    def statuses(self):
        return FindingStatus.choices


def build(cycle, user, today=None):
    today = today or timezone.localdate()
    departments = list(departments_in_report(cycle, user).order_by("sort_order", "code"))
    ids = [d.pk for d in departments]
    items_by_area = dict(cycle.checklist.items.values_list("area").annotate(n=Count("pk")))
    areas = [(code, label) for code, label in Area.choices if code in items_by_area]
    inspections = {
        i.department_id: i for i in Inspection.objects.filter(cycle=cycle, department_id__in=ids)
    }
    counts = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for row in (
        Answer.objects.filter(inspection__cycle=cycle, inspection__department_id__in=ids)
        .values("inspection__department_id", "item__area", "result")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[row["inspection__department_id"]][row["item__area"]][row["result"]] = row["n"]
    rows, per_area = [], defaultdict(lambda: defaultdict(int))
    for department in departments:
        by_area = counts.get(department.pk, {})
        row = DepartmentRow(department, inspections.get(department.pk))
        overall = defaultdict(int)
        for area, _label in areas:
            cell = by_area.get(area, {})
            row.cells[area] = rate(cell)
            for result, n in cell.items():
                overall[result] += n
                per_area[area][result] += n
        row.answered = sum(overall.values())
        row.overall = rate(overall)
        rows.append(row)
    findings = {
        (r["severity"], r["status"]): r["n"]
        for r in Finding.objects.filter(cycle=cycle, department_id__in=ids)
        .values("severity", "status")
        .annotate(n=Count("pk"))
        .order_by()
    }
    overdue = list(
        CorrectiveAction.objects.filter(
            finding__cycle=cycle,
            finding__department_id__in=ids,
            due_on__lt=today,
        )
        .exclude(finding__status=FindingStatus.CLOSED)
        .select_related("finding__department", "owner")
        .order_by("due_on")[:500]
    )
    return CycleReport(
        cycle=cycle,
        items_total=sum(items_by_area.values()),
        areas=areas,
        rows=rows,
        area_rates={area: rate(per_area[area]) for area, _ in areas},
        findings=findings,
        overdue_actions=overdue,
    )


def table(report):
    """The heat map as rows of text, for CSV and xlsx, in the reader's language: headed by
    the areas' names, each inspection's status by its label."""
    header = [
        pgettext("audit report export", "Department"),
        pgettext("audit report export", "Status"),
        pgettext("audit report export", "Answered"),
        pgettext("audit report export", "Items"),
        pgettext("audit report export", "Overall (%)"),
    ] + [str(label) for _, label in report.areas]
    rows = [header]
    for row in report.rows:
        rows.append(
            [
                row.department.name,
                row.inspection.get_status_display() if row.inspection else "",
                row.answered,
                report.items_total,
                "" if row.overall is None else row.overall,
            ]
            + ["" if row.cells[a] is None else row.cells[a] for a, _ in report.areas]
        )
    return rows
