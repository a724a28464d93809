"""Enrolment and reminder jobs of the training app.

Each job rebuilds its work from the database and hands messages to isms.notify.send_once,
so it can run any number of times, on any number of workers, and send each reminder once."""

from celery import shared_task
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from isms.models import User
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

from . import services
from .models import Course, Enrolment

# Rendered in the reader's language when the notification is shown (isms.notify.Text).
COURSE_TITLES = {
    "opened": gettext_noop("New course: %(title)s"),
    "due_soon": gettext_noop("Reminder: complete %(title)s by %(deadline)s"),
    "overdue": gettext_noop("Overdue: complete %(title)s (due %(deadline)s)"),
}
COURSE_BODY = gettext_noop("Security training is assigned to you. Due: %(deadline)s.")


def _course_messages(course, today):
    open_enrolments = Enrolment.objects.filter(course=course, completed_at__isnull=True)
    # Enrolments share a stage when they share a due date: group by it in SQL.
    subject = f"course:{course.pk}"
    path = f"/training/courses/{course.pk}/"
    for due_on in open_enrolments.values_list("due_on", flat=True).distinct().order_by():
        stage = deadline_stage(due_on, today)

        def render(user, stage=stage, due_on=due_on):
            return (
                Text(COURSE_TITLES[stage], title=course.title, deadline=due_on),
                Text(COURSE_BODY, deadline=due_on),
                path,
            )

        # Enrolments stay when someone leaves; the reminders do not.
        people = User.objects.filter(
            Exists(open_enrolments.filter(user_id=OuterRef("pk"), due_on=due_on)), is_active=True
        )
        for user in not_yet_sent(people, subject, stage):
            yield Message(
                user,
                subject,
                stage,
                f"course.{stage}",
                render,
                task=services.course_task(course.pk),
            )


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
                escalations(
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
    return services.sync_enrolments()


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
