"""The dashboard's incident charts (isms.portal.register_dashboard_chart): incidents per
month, per category and per department, each counted inside access.visible_incidents and
the dashboard's scope, and shown only to those who see the handling of incidents (a
member of staff is not shown counts of others' reports)."""

import datetime

from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from isms.eras import month_label
from isms.portal import ChartData, ChartRow, DashboardScope

from . import access
from .models import Category


def _in_scope(request: HttpRequest, scope: DashboardScope):
    incidents = access.visible_incidents(request.user).exclude(triaged_at__isnull=True)
    if not scope.citywide:
        incidents = incidents.filter(department__in=scope.units)
    return incidents


def _link():
    return (reverse("incident-list"), _("Incidents"))


def per_month(request: HttpRequest, scope: DashboardScope) -> ChartData | None:
    """Triaged incidents reported in each of the last twelve months: one GROUP BY."""
    if not access.sees_handling(request.user):
        return None
    today = timezone.localdate()
    first = (today.replace(day=1) - datetime.timedelta(days=335)).replace(day=1)
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time()))
    counts = {
        row["month"].date() if isinstance(row["month"], datetime.datetime) else row["month"]: row[
            "n"
        ]
        for row in _in_scope(request, scope)
        .filter(reported_at__gte=start)
        .annotate(month=TruncMonth("reported_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    }
    rows = []
    month = first
    while month <= today:
        label = month_label(month)
        rows.append(ChartRow(label=label, value=counts.get(month, 0)))
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return ChartData(
        rows=rows if any(counts.values()) else [],
        label_heading=_("Month"),
        value_heading=_("Incidents"),
        note=_("Triaged incidents by the month they were reported, the last twelve months."),
        link=_link(),
        empty=_("No incidents in the last twelve months."),
    )


def per_category(request: HttpRequest, scope: DashboardScope) -> ChartData | None:
    if not access.sees_handling(request.user):
        return None
    counts = dict(
        _in_scope(request, scope).values_list("category").annotate(n=Count("pk")).order_by()
    )
    rows = [
        ChartRow(label=category.name, value=counts[category.pk])
        for category in Category.objects.all()
        if counts.get(category.pk)
    ]
    return ChartData(
        rows=rows,
        label_heading=_("Category"),
        value_heading=_("Incidents"),
        note=_("Every triaged incident, open or closed."),
        link=_link(),
        empty=_("No incidents."),
    )


def per_department(request: HttpRequest, scope: DashboardScope) -> ChartData | None:
    if not access.sees_handling(request.user):
        return None
    counts = {
        row["department_id"]: {"n": row["n"]}
        for row in _in_scope(request, scope)
        .values("department_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    return ChartData(
        rows=[ChartRow(label=label, value=sums["n"]) for label, sums in scope.group(counts)],
        label_heading=_("Department") if scope.citywide else _("Section"),
        value_heading=_("Incidents"),
        note=_("Every triaged incident, open or closed."),
        link=_link(),
        empty=_("No incidents."),
    )
