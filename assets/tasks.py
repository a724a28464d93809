"""Reminders of the asset register: the annual review, per section, to its chiefs."""

import logging

from celery import shared_task
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from isms.eras import fiscal_year
from isms.models import Role, RoleAssignment
from isms.notify import REMINDER_TASK_OPTIONS, Message, Text, send_once

from . import reviews
from .models import Asset

logger = logging.getLogger(__name__)

# Rendered in the reader's language when the notification is shown (isms.notify.Text).
TITLES = {
    "due": gettext_noop(
        "Annual asset review: %(count)s assets of %(section)s to confirm by %(deadline)s"
    ),
    "overdue": gettext_noop("Annual asset review overdue: %(count)s assets of %(section)s"),
}
BODY = gettext_noop("Confirm or update each asset of the section in the register.")


def _review_messages(today):
    stage = "overdue" if reviews.is_past_deadline(today) else "due"
    deadline = reviews.review_deadline(today)
    year = fiscal_year(today)
    rows = reviews.review_counts_by_section(Asset.objects.all(), today)
    sections = [row for row in rows if row["due"]]
    chiefs = {}
    for assignment in RoleAssignment.objects.filter(
        role=Role.SECTION_CHIEF,
        department_id__in=[r["section_id"] for r in sections],
        user__is_active=True,
    ).select_related("user"):
        chiefs.setdefault(assignment.department_id, []).append(assignment.user)
    for row in sections:

        def render(user, row=row):
            return (
                Text(
                    TITLES[stage],
                    count=row["due"],
                    section=row["section__name"],
                    deadline=deadline,
                ),
                Text(BODY),
                f"/assets/?review=due&department={row['section__code']}",
            )

        if not chiefs.get(row["section_id"]):
            logger.warning(
                "asset review %s: section %s has %s assets due and no active chief to remind",
                year,
                row["section_id"],
                row["due"],
            )
        for chief in chiefs.get(row["section_id"], []):
            yield Message(
                chief,
                f"asset-review:{year}:section:{row['section_id']}",
                stage,
                f"asset_review.{stage}",
                render,
            )


@shared_task(**REMINDER_TASK_OPTIONS)
def remind_asset_reviews(today=None):
    return send_once(_review_messages(today or timezone.localdate()))


def summary_asset_reviews(today):
    rows = [r for r in reviews.review_counts_by_section(Asset.objects.all(), today) if r["due"]]
    return _("Asset reviews not yet done this fiscal year"), [
        f"  {r['section__parent__name'] or '—'} / {r['section__name']}: {r['due']}/{r['total']}"
        for r in rows
    ]
