"""The dashboard's audit charts (isms.portal.register_dashboard_chart): open findings by
countermeasure area, and overdue corrective actions. Both count only the findings the
viewer may see on the audit pages (access.visible_findings) within the dashboard's scope."""

from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from isms.portal import ChartData, ChartRow, DashboardScope

from . import access
from .models import Area, CorrectiveAction, FindingStatus


def _findings_in_scope(request: HttpRequest, scope: DashboardScope):
    return (
        access.visible_findings(request.user)
        .filter(department__in=scope.units)
        .exclude(status=FindingStatus.CLOSED)
    )


def open_findings_by_area(request: HttpRequest, scope: DashboardScope) -> ChartData | None:
    """Open findings (not closed) per area, every one of the nine areas shown: one query."""
    if not access.uses_audits(request.user):
        return None
    counts = dict(
        _findings_in_scope(request, scope).values_list("area").annotate(n=Count("pk")).order_by()
    )
    rows = [ChartRow(label=str(label), value=counts.get(area, 0)) for area, label in Area.choices]
    return ChartData(
        rows=rows if any(counts.values()) else [],
        label_heading=_("Area"),
        value_heading=_("Open findings"),
        note=_("Findings not yet closed, with or without a corrective action planned."),
        link=(reverse("audit-finding-list"), _("Findings")),
        empty=_("No open findings."),
    )


def overdue_actions(request: HttpRequest, scope: DashboardScope) -> ChartData | None:
    """Corrective actions past their due date whose finding is still open (as the cycle
    report counts them), per department for the city and per area for a head: one GROUP
    BY, and the units' names for the city."""
    if not access.uses_audits(request.user):
        return None
    overdue = CorrectiveAction.objects.filter(
        finding__in=_findings_in_scope(request, scope), due_on__lt=timezone.localdate()
    )
    if scope.citywide:
        counts = {
            row["finding__department_id"]: {"n": row["n"]}
            for row in overdue.values("finding__department_id").annotate(n=Count("pk")).order_by()
        }
        rows = [ChartRow(label=label, value=sums["n"]) for label, sums in scope.group(counts)]
        heading = _("Department")
    else:
        by_area = dict(overdue.values_list("finding__area").annotate(n=Count("pk")).order_by())
        rows = [
            ChartRow(label=str(label), value=by_area[area])
            for area, label in Area.choices
            if by_area.get(area)
        ]
        heading = _("Area")
    return ChartData(
        rows=rows,
        label_heading=heading,
        value_heading=_("Overdue corrective actions"),
        note=_("Past their due date, their finding still open."),
        link=(reverse("audit-finding-list"), _("Findings")),
        empty=_("No corrective action is overdue."),
    )
