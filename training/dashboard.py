"""The dashboard's training chart (isms.portal.register_dashboard_chart)."""

from django.db.models import Count, Max, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from isms.eras import fiscal_year_label
from isms.portal import ChartData, DashboardScope
from isms.roles import departments_overseen

from . import access
from .models import Enrolment


def training_completion(request: HttpRequest, scope: DashboardScope) -> ChartData | None:
    """Completion of the latest fiscal year's courses the viewer follows, per department
    for the city and per section for a head: three queries (the year, one GROUP BY over
    the enrolments, the units' names), whatever the number of staff."""
    courses = access.courses_followed_by(request.user)
    year = courses.aggregate(year=Max("fiscal_year"))["year"]
    if year is None:
        return None
    rows = (
        Enrolment.objects.filter(
            course__in=courses.filter(fiscal_year=year),
            user__section__in=departments_overseen(request.user),
        )
        .filter(user__section__in=scope.units)
        .values("user__section_id")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(completed_at__isnull=False)))
        .order_by()
    )
    counts = {row["user__section_id"]: {"total": row["total"], "done": row["done"]} for row in rows}
    chart_rows = scope.rate_rows(counts)
    return ChartData(
        rows=chart_rows,
        label_heading=_("Department") if scope.citywide else _("Section"),
        value_heading=_("Completed (%)"),
        columns=(_("Completed"), pgettext("training", "Not yet"), _("Enrolled")),
        percent=True,
        note=_("Every course of %(year)s") % {"year": fiscal_year_label(year)},
        link=(reverse("course-completion"), _("Completion per course")),
        empty=_("Nobody in scope is enrolled in a course of this fiscal year."),
    )
