"""Reminder jobs of the acknowledgements: when a campaign opens, before its deadline and
when it is overdue, with an escalation to the department heads.

Each job rebuilds its work from the database and hands messages to isms.notify.send_once,
so it can run any number of times, on any number of workers, and send each reminder once.

The jobs were named training.tasks.* before acknowledgements became their own app; the old
names stay registered (at the end) so that messages already queued under them still run."""

import datetime

from celery import shared_task
from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from isms.eras import to_era
from isms.models import RevisionStatus
from isms.notify import (
    REMINDER_TASK_OPTIONS,
    Message,
    Text,
    deadline_stage,
    escalations,
    is_escalation_due,
    not_yet_sent,
    send_once,
)

from .models import Acknowledgement, AcknowledgementCampaign, PersonalDeadline

# Rendered in the reader's language when the notification is shown (isms.notify.Text).
ACK_TITLES = {
    "opened": gettext_noop("Please acknowledge: %(title)s"),
    "due_soon": gettext_noop("Reminder: acknowledge %(title)s by %(deadline)s"),
    "overdue": gettext_noop("Overdue: acknowledge %(title)s (deadline %(deadline)s)"),
}
ACK_BODY = gettext_noop(
    "A revision of the information security policy asks you to read and "
    "acknowledge it. Deadline: %(deadline)s."
)


def ack_task(revision_id):
    """The task key of acknowledging a revision. An acknowledgement marks it done: the
    trigger of models.Acknowledgement writes the same key in SQL."""
    return f"ack:revision:{revision_id}"


def _pending_acknowledgers(campaign, today):
    """Who has not acknowledged, leaving out those whose own, later deadline (they joined
    the audience late) does not call for an escalation yet."""
    revision = campaign.revision
    not_due_yet = PersonalDeadline.objects.filter(
        campaign=campaign,
        user_id=OuterRef("pk"),
        deadline__gt=today - datetime.timedelta(days=settings.ESCALATION_AFTER_DAYS),
    )
    return (
        revision.document.audience_members()
        .exclude(Exists(Acknowledgement.objects.filter(user_id=OuterRef("pk"), revision=revision)))
        .exclude(Exists(not_due_yet))
    )


def _campaign_messages(campaign, today):
    """Reminders at the campaign's deadline stage; those who joined the audience late at the
    stage of their own deadline (PersonalDeadline), under the same subject."""
    own = PersonalDeadline.objects.filter(campaign=campaign)
    yield from _stage_messages(
        campaign, campaign.deadline, today, exclude=own.values_list("user_id", flat=True)
    )
    for deadline in own.order_by().values_list("deadline", flat=True).distinct():
        yield from _stage_messages(
            campaign,
            deadline,
            today,
            only=own.filter(deadline=deadline).values_list("user_id", flat=True),
        )


def _stage_messages(campaign, deadline, today, *, exclude=None, only=None):
    revision = campaign.revision
    subject = f"campaign:{campaign.pk}"
    stage = deadline_stage(deadline, today)
    path = f"/acknowledgements/revisions/{revision.pk}/"

    def render(user):
        return (
            Text(ACK_TITLES[stage], title=revision.title, deadline=deadline),
            Text(ACK_BODY, deadline=deadline),
            path,
        )

    audience = revision.document.audience_members()
    if exclude is not None:
        audience = audience.exclude(pk__in=exclude)
    if only is not None:
        audience = audience.filter(pk__in=only)
    acknowledged = Acknowledgement.objects.filter(revision=revision).values_list(
        "user_id", flat=True
    )
    for user in not_yet_sent(audience, subject, stage, done=acknowledged):
        yield Message(
            user, subject, stage, f"acknowledgement.{stage}", render, task=ack_task(revision.pk)
        )


@shared_task(**REMINDER_TASK_OPTIONS)
def remind_acknowledgements(today=None):
    """Open campaigns: remind at opening, before the deadline and when overdue; some days
    after the deadline, a digest to each department head of who is still missing."""
    today = today or timezone.localdate()
    campaigns = AcknowledgementCampaign.objects.filter(
        revision__status=RevisionStatus.PUBLISHED
    ).select_related("revision__document")
    sent = 0
    for campaign in campaigns:
        sent += send_once(_campaign_messages(campaign, today))
        if is_escalation_due(campaign.deadline, today):
            sent += send_once(
                escalations(
                    f"campaign:{campaign.pk}",
                    _pending_acknowledgers(campaign, today),
                    campaign.revision.title,
                    campaign.deadline,
                    f"/acknowledgements/status/{campaign.revision_id}/",
                    today,
                )
            )
    return sent


@shared_task(**REMINDER_TASK_OPTIONS)
def notify_campaign_opened(campaign_id):
    """Queued at publication; the daily sweep sends the same stage if this never ran."""
    campaign = AcknowledgementCampaign.objects.select_related("revision__document").get(
        pk=campaign_id
    )
    return send_once(_campaign_messages(campaign, timezone.localdate()))


def summary_acknowledgements(today):
    """Weekly summary section: acknowledgement rate per department of each open campaign."""
    from django.db.models import Count, FilteredRelation, Q

    lines = []
    for campaign in AcknowledgementCampaign.objects.filter(
        revision__status=RevisionStatus.PUBLISHED
    ).select_related("revision__document"):
        revision = campaign.revision
        rows = (
            revision.document.audience_members()
            .annotate(
                ack=FilteredRelation(
                    "acknowledgements", condition=Q(acknowledgements__revision=revision)
                )
            )
            .values("section__parent__name")
            .annotate(total=Count("pk"), done=Count("ack__pk"))
            .order_by("section__parent__name")
        )
        lines.append(f"{revision} ({to_era(campaign.deadline)})")
        lines += [f"  {r['section__parent__name'] or '—'}: {r['done']}/{r['total']}" for r in rows]
    return _("Policy acknowledgements"), lines


# Queued before the split under the training app's names (a broker may still hold them).
@shared_task(name="training.tasks.remind_acknowledgements", **REMINDER_TASK_OPTIONS)
def remind_acknowledgements_by_old_name(today=None):
    return remind_acknowledgements(today)


@shared_task(name="training.tasks.notify_campaign_opened", **REMINDER_TASK_OPTIONS)
def notify_campaign_opened_by_old_name(campaign_id):
    return notify_campaign_opened(campaign_id)
