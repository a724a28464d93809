"""The places where apps hook into the portal's shell without the core importing them.

An app registers its navigation links and home-page panels from its AppConfig.ready();
the core renders whatever is registered.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    allowed: Callable  # allowed(user) -> bool
    order: int = 100
    # Shown to visitors who have not signed in as well (the published basic policy).
    public: bool = False


@dataclass(frozen=True)
class Panel:
    template: str
    context: Callable  # context(request) -> dict, or None to hide the panel
    order: int = 100


nav_items: list[NavItem] = []
# Links kept in view in the header bar on every page, on a phone too (the incident report):
# allowed(user) decides as for NavItem; shown to signed-in people only.
header_actions: list[NavItem] = []
dashboard_panels: list[Panel] = []
# Sections of the CISO's weekly summary: callables summary(today) -> (title, [line, ...]).
summary_sections: list[Callable] = []
# Panels on a revision's pages; their context callable is context(request, revision).
revision_panels: list[Panel] = []


def register_nav(item):
    if item not in nav_items:
        nav_items.append(item)
        nav_items.sort(key=lambda i: i.order)


def register_header_action(item):
    if item not in header_actions:
        header_actions.append(item)
        header_actions.sort(key=lambda i: i.order)


def register_revision_panel(panel):
    if panel not in revision_panels:
        revision_panels.append(panel)
        revision_panels.sort(key=lambda p: p.order)


def rendered_revision_panels(request, revision):
    """(template, context) of every revision panel that has something to show."""
    panels = []
    for panel in revision_panels:
        context = panel.context(request, revision)
        if context is not None:
            panels.append((panel.template, context))
    return panels


def register_summary_section(section):
    if section not in summary_sections:
        summary_sections.append(section)


def register_panel(panel):
    if panel not in dashboard_panels:
        dashboard_panels.append(panel)
        dashboard_panels.sort(key=lambda p: p.order)


# --- the dashboard (templates/dashboard.html, isms/views/dashboard.py) --------------------


@dataclass(frozen=True)
class DashboardScope:
    """Whose figures a dashboard shows: the whole city (the citywide readers), or the
    departments a head is head of. `units` is every unit in scope (a queryset, kept as a
    SQL subquery); each app still narrows its rows with its own access rules, so a chart
    never shows more than the app's own pages would."""

    citywide: bool
    units: Any  # QuerySet[Department]: the units in scope, the departments' sections included
    name: str  # "the city", or the departments' names, for the page's heading

    def group(self, counts: dict[int | None, dict[str, int]]) -> list[tuple[str, dict[str, int]]]:
        """Counts per unit ({unit id: {"total": 4, "done": 3}}, from one GROUP BY) added up
        per department for the city, or kept per section within a department:
        [(label, counts), ...] in the city's order. A department whose name another body's
        department shares (総務部) is labelled with its body's name too. One query for the
        units' names, whatever the number of rows behind the counts."""
        from .models import Department, DepartmentKind

        units = Department.objects.filter(pk__in=[pk for pk in counts if pk is not None])
        grouped: dict[int, tuple[Any, dict[str, int]]] = {}
        for unit in units.select_related("parent__parent"):
            shown = unit
            if self.citywide and unit.kind == DepartmentKind.SECTION and unit.parent_id:
                shown = unit.parent
            _, sums = grouped.setdefault(shown.pk, (shown, {}))
            for key, value in counts[unit.pk].items():
                sums[key] = sums.get(key, 0) + value
        ordered = sorted(grouped.values(), key=lambda pair: _city_order(pair[0]))
        names = [unit.name for unit, _ in ordered]
        return [
            (
                f"{unit.parent.name} {unit.name}"
                if names.count(unit.name) > 1 and unit.parent is not None
                else unit.name,
                sums,
            )
            for unit, sums in ordered
        ]

    def rate_rows(self, counts: dict[int | None, dict[str, int]]) -> list["ChartRow"]:
        """A rate bar per group (`group`): done of total in per cent, "3/4" beside it, and
        done, not yet and total as the table's columns; groups without anyone are left out."""
        return [
            ChartRow(
                label=label,
                value=round(100 * sums["done"] / sums["total"]),
                detail=f"{sums['done']}/{sums['total']}",
                cells=(sums["done"], sums["total"] - sums["done"], sums["total"]),
            )
            for label, sums in self.group(counts)
            if sums["total"]
        ]


def _city_order(unit: Any) -> tuple:
    path = []
    while unit is not None:
        path.insert(0, (unit.sort_order, unit.code))
        unit = unit.parent
    return tuple(path)


@dataclass(frozen=True)
class ChartRow:
    label: str
    value: float  # what the bar shows (a percentage or a count)
    detail: str = ""  # written after the value, beside the bar and in the table: "3/4"
    cells: tuple = ()  # the further columns of the table: the counts behind a percentage


@dataclass(frozen=True)
class ChartData:
    """One chart's figures: one bar per row, its value written beside the bar (so nothing
    is told by colour), and the same figures as a table."""

    rows: list[ChartRow]
    label_heading: str  # the table's first column: "Department", "Area", …
    value_heading: str  # the bars' column: "Acknowledged (%)", "Open findings", …
    columns: tuple = ()  # the headings of ChartRow.cells
    percent: bool = False  # values are percentages: the axis runs 0–100, values end in %
    note: str = ""  # what the figures are of (which campaign, which fiscal year)
    link: tuple[str, str] | None = None  # (url, text): the page with the details
    empty: str = ""  # said instead of the chart when there are no rows


@dataclass(frozen=True)
class DashboardChart:
    key: str  # a slug: the canvas's and the data's element ids
    title: str
    # data(request, scope) -> ChartData, or None when the chart has nothing to say to this
    # person (no campaign they may follow, no audits they take part in).
    data: Callable
    order: int = 100


dashboard_charts: list[DashboardChart] = []


def register_dashboard_chart(chart):
    if all(c.key != chart.key for c in dashboard_charts):
        dashboard_charts.append(chart)
        dashboard_charts.sort(key=lambda c: c.order)
