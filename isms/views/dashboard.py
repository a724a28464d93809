"""The dashboard: the charts the apps register (isms.portal.register_dashboard_chart), for
the whole city (the citywide readers) or for a head's department.

Each chart comes with its figures as a table, and the canvas carries a sentence that
summarises it; the figures reach static/js/dashboard.js as JSON (json_script), never as
inline script, which the Content-Security-Policy forbids."""

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ..decorators import allowed_if
from ..models import Department
from ..portal import ChartData, ChartRow, DashboardChart, DashboardScope, dashboard_charts
from ..roles import AnyUser, can_see_dashboard, departments_headed, reads_citywide

# Up to this many bars, the canvas's description names every one; beyond it, the highest
# and the lowest, and the table gives the rest.
LISTED_IN_SUMMARY = 10


def dashboard_scope(user: AnyUser) -> DashboardScope:
    if reads_citywide(user):
        return DashboardScope(
            citywide=True, units=Department.objects.all(), name=_("The whole city")
        )
    headed = departments_headed(user)
    names = "、".join(headed.values_list("name", flat=True))
    return DashboardScope(citywide=False, units=Department.objects.within(headed), name=names)


def value_text(row: ChartRow, data: ChartData) -> str:
    """What is written beside a bar and in the table: "75%", "75% (3/4)", "12"."""
    value = number_format(row.value)
    text = f"{value}%" if data.percent else value
    return f"{text} ({row.detail})" if row.detail else text


@dataclass
class ShownChart:
    chart: DashboardChart
    data: ChartData
    summary: str
    figures: dict[str, Any]  # for dashboard.js, through json_script

    @property
    def figures_id(self) -> str:
        return f"chart-{self.chart.key}-figures"

    @property
    def rows(self) -> list[tuple[ChartRow, str]]:
        return [(row, value_text(row, self.data)) for row in self.data.rows]


def summary_of(title: str, data: ChartData) -> str:
    """The canvas's aria-label: the chart in one sentence."""
    pairs = [(row.label, value_text(row, data)) for row in data.rows]
    if len(pairs) <= LISTED_IN_SUMMARY:
        listed = _("; ").join(
            _("%(label)s: %(value)s") % {"label": a, "value": b} for a, b in pairs
        )
        return _("%(title)s. %(listed)s.") % {"title": title, "listed": listed}
    ranked = sorted(data.rows, key=lambda row: row.value)
    return _(
        "%(title)s, %(count)s rows. Highest: %(high)s, %(high_value)s. "
        "Lowest: %(low)s, %(low_value)s. The table gives every figure."
    ) % {
        "title": title,
        "count": len(pairs),
        "high": ranked[-1].label,
        "high_value": value_text(ranked[-1], data),
        "low": ranked[0].label,
        "low_value": value_text(ranked[0], data),
    }


def shown(chart: DashboardChart, data: ChartData) -> ShownChart:
    figures = {
        "labels": [row.label for row in data.rows],
        "values": [row.value for row in data.rows],
        "texts": [value_text(row, data) for row in data.rows],
        "percent": data.percent,
        "heading": data.value_heading,
    }
    return ShownChart(chart, data, summary_of(chart.title, data), figures)


@allowed_if(can_see_dashboard)
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = dashboard_scope(request.user)
    charts = []
    for chart in dashboard_charts:
        data = chart.data(request, scope)
        if data is not None:
            charts.append(shown(chart, data))
    return render(request, "dashboard.html", {"scope": scope, "charts": charts})
