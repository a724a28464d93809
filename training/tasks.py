"""Reminder and enrolment jobs of the training app: acknowledgements and courses.

Each job rebuilds its work from the database and hands messages to isms.notify.send_once,
so it can run any number of times, on any number of workers, and send each reminder once."""

import logging
from collections import defaultdict

from celery import shared_task
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from isms.eras import to_era
from isms.models import RevisionStatus, SentReminder, User
from isms.models.organisation import department_id_of
from isms.notify import (
    RECIPIENT_FIELDS,
    REMINDER_TASK_OPTIONS,
    Message,
    deadline_stage,
    department_heads,
    is_escalation_due,
    send_once,
)

from . import courses
from .models import Acknowledgement, AcknowledgementCampaign, Course, Enrolment

logger = logging.getLogger(__name__)

RECIPIENT_CHUNK = 500


def _not_yet_sent(people, subject, stage, done=None):
    """Those of `people` who have not been sent this stage yet, nor are in `done` (user ids),
    with what a Message needs, read a chunk at a time.

    The difference is an SQL EXCEPT of ids, not NOT EXISTS: after a large send, or while
    acknowledgements come in, the planner's statistics say the ledger (or the
    acknowledgements) hold next to nothing for this subject, and for the server-side cursor
    of .iterator() it chose a nested loop over all those rows for every person: 70 s for a
    sweep with nothing to send among 50,000 staff (bench/reminder_sweep.py). EXCEPT is
    hashed or sorted whatever the estimates."""
    excluded = [
        # Only what went out: an unsent claim may be a killed worker's, for send_once to
        # take over.
        SentReminder.objects.filter(subject=subject, stage=stage, sent_at__isnull=False)
        .order_by()
        .values_list("recipient_id", flat=True)
    ]
    if done is not None:
        excluded.append(done.order_by())
    ids = sorted(people.order_by().values_list("pk", flat=True).difference(*excluded))
    for start in range(0, len(ids), RECIPIENT_CHUNK):
        chunk = ids[start : start + RECIPIENT_CHUNK]
        yield from User.objects.filter(pk__in=chunk).only(*RECIPIENT_FIELDS).order_by("pk")


ACK_TITLES = {
    "opened": _("Please acknowledge: %(title)s"),
    "due_soon": _("Reminder: acknowledge %(title)s by %(deadline)s"),
    "overdue": _("Overdue: acknowledge %(title)s (deadline %(deadline)s)"),
}


def _pending_acknowledgers(campaign):
    revision = campaign.revision
    return revision.document.audience_members().exclude(
        Exists(Acknowledgement.objects.filter(user_id=OuterRef("pk"), revision=revision))
    )


def _campaign_messages(campaign, today):
    revision = campaign.revision
    subject = f"campaign:{campaign.pk}"
    stage = deadline_stage(campaign.deadline, today)
    path = f"/acknowledgements/revisions/{revision.pk}/"

    def render(user):
        values = {"title": revision.title, "deadline": to_era(campaign.deadline)}
        return (
            ACK_TITLES[stage] % values,
            _(
                "A revision of the information security policy asks you to read and "
                "acknowledge it. Deadline: %(deadline)s."
            )
            % values,
            path,
        )

    audience = revision.document.audience_members()
    acknowledged = Acknowledgement.objects.filter(revision=revision).values_list(
        "user_id", flat=True
    )
    for user in _not_yet_sent(audience, subject, stage, done=acknowledged):
        yield Message(user, subject, stage, f"acknowledgement.{stage}", render)


def _escalations(subject_prefix, pending, title, deadline, path, today):
    """One digest per department to its heads, naming who is still missing."""
    missing = defaultdict(list)
    for user in (
        pending.select_related("section")
        .only("username", "display_name", "section__kind", "section__parent_id", "section__name")
        .iterator(chunk_size=2000)
    ):
        missing[department_id_of(user.section)].append(f"{user.section.name} {user}")
    heads = department_heads()
    for department_id, names in missing.items():
        subject = f"{subject_prefix}:department:{department_id}"
        if not heads.get(department_id):
            logger.warning(
                "%s: department %s has no active head to escalate %s missing people to",
                subject_prefix,
                department_id,
                len(names),
            )

        def render(head, names=names):
            listed = "\n".join(f"- {name}" for name in names[:200])
            more = len(names) - 200
            body = _("%(count)s people in your department have not done this by %(deadline)s:") % {
                "count": len(names),
                "deadline": to_era(deadline),
            }
            if more > 0:
                listed += "\n" + _("… and %(count)s more.") % {"count": more}
            return _("Escalation: %(title)s") % {"title": title}, f"{body}\n{listed}", path

        for head in heads.get(department_id, []):
            yield Message(head, subject, "escalation", "escalation", render)


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
                _escalations(
                    f"campaign:{campaign.pk}",
                    _pending_acknowledgers(campaign),
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


COURSE_TITLES = {
    "opened": _("New course: %(title)s"),
    "due_soon": _("Reminder: complete %(title)s by %(deadline)s"),
    "overdue": _("Overdue: complete %(title)s (due %(deadline)s)"),
}


def _course_messages(course, today):
    open_enrolments = Enrolment.objects.filter(course=course, completed_at__isnull=True)
    # Enrolments share a stage when they share a due date: group by it in SQL.
    subject = f"course:{course.pk}"
    path = f"/training/courses/{course.pk}/"
    for due_on in open_enrolments.values_list("due_on", flat=True).distinct().order_by():
        stage = deadline_stage(due_on, today)

        def render(user, stage=stage, due_on=due_on):
            values = {"title": course.title, "deadline": to_era(due_on)}
            return (
                COURSE_TITLES[stage] % values,
                _("Security training is assigned to you. Due: %(deadline)s.") % values,
                path,
            )

        # Enrolments stay when someone leaves; the reminders do not.
        people = User.objects.filter(
            Exists(open_enrolments.filter(user_id=OuterRef("pk"), due_on=due_on)), is_active=True
        )
        for user in _not_yet_sent(people, subject, stage):
            yield Message(user, subject, stage, f"course.{stage}", render)


@shared_task(**REMINDER_TASK_OPTIONS)
def remind_training(today=None):
    today = today or timezone.localdate()
    sent = 0
    for course in Course.objects.filter(is_published=True):
        sent += send_once(_course_messages(course, today))
        if is_escalation_due(course.deadline, today):
            pending = User.objects.filter(
                Exists(
                    Enrolment.objects.filter(
                        course=course,
                        completed_at__isnull=True,
                        due_on__lte=course.deadline,
                        user_id=OuterRef("pk"),
                    )
                ),
                is_active=True,
            )
            sent += send_once(
                _escalations(
                    f"course:{course.pk}",
                    pending,
                    course.title,
                    course.deadline,
                    "/training/status/",
                    today,
                )
            )
    return sent


@shared_task(**REMINDER_TASK_OPTIONS)
def notify_course_published(course_id):
    return send_once(_course_messages(Course.objects.get(pk=course_id), timezone.localdate()))


@shared_task
def sync_enrolments():
    """Newcomers get this year's courses (and the new-staff course) assigned."""
    return courses.sync_enrolments()


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


def summary_training(today):
    from django.db.models import Count, Q

    lines = []
    for course in Course.objects.filter(is_published=True, fiscal_year__gte=today.year - 1):
        rows = (
            Enrolment.objects.filter(course=course)
            .values("user__section__parent__name")
            .annotate(total=Count("pk"), done=Count("pk", filter=Q(completed_at__isnull=False)))
            .order_by("user__section__parent__name")
        )
        lines.append(str(course))
        lines += [
            f"  {r['user__section__parent__name'] or '—'}: {r['done']}/{r['total']}" for r in rows
        ]
    return _("Security training"), lines
