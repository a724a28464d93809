"""The dashboard's acknowledgement chart (isms.portal.register_dashboard_chart)."""

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from isms.models import Audience
from isms.portal import ChartData, DashboardScope
from isms.templatetags.isms import era

from . import access, services

EVERYONE = (Audience.PUBLIC, Audience.ALL_STAFF)


def acknowledgement_rate(request: HttpRequest, scope: DashboardScope) -> ChartData | None:
    """Who has acknowledged the latest campaign for all staff that the viewer follows, per
    department for the city and per section for a head: three or four queries (the
    campaign, one GROUP BY over the audience, the units' names), whatever the number of
    staff."""
    campaigns = access.campaigns_visible_to(request.user)
    # A revision every member of staff acknowledges compares departments; a department's
    # own procedure is shown only when there is no such campaign.
    campaign = (
        campaigns.filter(revision__document__audience__in=EVERYONE).first() or campaigns.first()
    )
    if campaign is None:
        return None
    revision = campaign.revision
    chart_rows = scope.rate_rows(services.section_counts(revision, request.user, scope.units))
    return ChartData(
        rows=chart_rows,
        label_heading=_("Department") if scope.citywide else _("Section"),
        value_heading=_("Acknowledged (%)"),
        columns=(_("Acknowledged"), _("Not yet"), _("Staff")),
        percent=True,
        note=_("%(revision)s, deadline %(deadline)s")
        % {"revision": revision, "deadline": era(campaign.deadline)},
        link=(
            reverse("campaign-status", args=[revision.pk]),
            _("Who has and has not acknowledged"),
        ),
        empty=_("Nobody in scope is asked to acknowledge this revision."),
    )
