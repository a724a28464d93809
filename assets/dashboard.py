"""The dashboard's asset chart (isms.portal.register_dashboard_chart)."""

from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from isms.portal import ChartData, ChartRow, DashboardScope

from . import access
from .models import AssetStatus


def classification_mix(request: HttpRequest, scope: DashboardScope) -> ChartData | None:
    """Assets in use per confidentiality level, most sensitive first, within the scope and
    what the viewer may see of the register: one GROUP BY."""
    counts = list(
        access.visible_assets(request.user)
        .filter(section__in=scope.units, status=AssetStatus.IN_USE)
        .values("confidentiality_id", "confidentiality__name", "confidentiality_rank")
        .annotate(n=Count("pk"))
        .order_by("-confidentiality_rank", "confidentiality__name")
    )
    total = sum(row["n"] for row in counts)
    rows = [
        ChartRow(
            label=row["confidentiality__name"],
            value=row["n"],
            detail=f"{round(100 * row['n'] / total)}%",
        )
        for row in counts
    ]
    return ChartData(
        rows=rows,
        label_heading=_("Confidentiality"),
        value_heading=_("Assets in use"),
        note=ngettext(
            "%(count)s asset in use; the share of each level in brackets.",
            "%(count)s assets in use; the share of each level in brackets.",
            total,
        )
        % {"count": total},
        link=(reverse("asset-list"), _("Information assets")),
        empty=_("No asset in use is registered."),
    )
