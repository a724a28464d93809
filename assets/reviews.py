"""The annual review: each fiscal year (April to March) the section chief confirms or
updates every asset of the section."""

import datetime

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from isms.eras import fiscal_year

from .models import AssetStatus


def fiscal_year_start(today=None):
    today = today or timezone.localdate()
    return datetime.date(fiscal_year(today), 4, 1)


def review_deadline(today=None):
    """The date in the current fiscal year by which every asset should be reviewed."""
    start = fiscal_year_start(today)
    month, day = settings.ASSET_REVIEW_DEADLINE
    year = start.year if month >= 4 else start.year + 1
    return datetime.date(year, month, day)


def due_q(today=None):
    """In use and not reviewed yet in this fiscal year."""
    start = fiscal_year_start(today)
    return Q(status=AssetStatus.IN_USE) & (
        Q(last_reviewed_on__isnull=True) | Q(last_reviewed_on__lt=start)
    )


def is_past_deadline(today=None):
    today = today or timezone.localdate()
    return today > review_deadline(today)


def overdue_q(today=None):
    if not is_past_deadline(today):
        return Q(pk__isnull=True)  # matches nothing: nobody is late before the deadline
    return due_q(today)


def review_state(asset, today=None):
    today = today or timezone.localdate()
    if asset.status != AssetStatus.IN_USE:
        return None
    start = fiscal_year_start(today)
    if asset.last_reviewed_on and asset.last_reviewed_on >= start:
        return "done"
    return "overdue" if is_past_deadline(today) else "due"


def review_counts_by_section(assets, today=None):
    """Per section: assets in use, not yet reviewed this fiscal year, and whether that is
    overdue. One aggregate query."""
    today = today or timezone.localdate()
    late = is_past_deadline(today)
    rows = (
        assets.filter(status=AssetStatus.IN_USE)
        .values("section_id", "section__code", "section__name", "section__parent__name")
        .annotate(total=Count("pk"), due=Count("pk", filter=due_q(today)))
        .order_by("section__parent__name", "section__name")
    )
    return [{**row, "overdue": row["due"] if late else 0} for row in rows]
