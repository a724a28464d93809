"""The incidents app's jobs: tell the CSIRT of a new report, remind the owner and the
CSIRT before a reporting clock runs out and escalate to the CISO when it has, and remind
the CSIRT when no drill has been held this fiscal year. All go through the core's ledger
(isms.notify.send_once), so a job run twice, or killed, sends nothing twice."""

import datetime
import logging
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from isms.eras import fiscal_year, fiscal_year_label
from isms.models import Role, User
from isms.notify import RECIPIENT_FIELDS, REMINDER_TASK_OPTIONS, Message, Text, send_once

from . import reminders
from .models import OPEN_STATUSES, Drill, Incident, Status

logger = logging.getLogger(__name__)


def _people_with(*roles: str) -> list[User]:
    return list(
        User.objects.filter(is_active=True, role_assignments__role__in=roles)
        .distinct()
        .only(*RECIPIENT_FIELDS)
        .order_by("pk")
    )


def csirt() -> list[User]:
    """The CSIRT; the programme admin's office when the city has named no one to it yet."""
    return _people_with(Role.CSIRT) or _people_with(Role.PROGRAMME_ADMIN)


def _report_messages(incidents):
    """The CSIRT told of each incident still waiting for triage, once (the ledger)."""
    team = csirt()
    for incident in incidents.select_related("department"):
        path = f"/incidents/{incident.pk}/"

        def render(user, incident=incident, path=path):
            title = Text(
                gettext_noop("Incident reported: %(number)s %(title)s"),
                number=incident.number,
                title=incident.title,
            )
            body = [
                Text(gettext_noop("Section: %(section)s"), section=incident.department.name),
                Text(gettext_noop("Personal data may be involved."))
                if incident.personal_data
                else "",
                Text(gettext_noop("My Number data may be involved.")) if incident.my_number else "",
            ]
            return title, [part for part in body if part], path

        for user in team:
            yield Message(
                user,
                f"incident:{incident.pk}",
                "reported",
                "incident.reported",
                render,
                task=reminders.triage_task(incident.pk),
            )


@shared_task(**REMINDER_TASK_OPTIONS)
def tell_csirt_of_report(incident_id):
    """Queued when an incident is reported. Nothing once it has been triaged or dismissed;
    the hourly remind_reporting_clocks catches up on a report whose task never ran."""
    return send_once(
        _report_messages(Incident.objects.filter(pk=incident_id, status=Status.REPORTED))
    )


CLOCK_TITLES = {
    "due_soon": gettext_noop("Report to %(authority)s due %(deadline)s: %(number)s"),
    "overdue": gettext_noop("Report to %(authority)s overdue since %(deadline)s: %(number)s"),
    "escalation": gettext_noop(
        "Escalation: the report to %(authority)s was due %(deadline)s: %(number)s"
    ),
}


def _clock_messages(now: datetime.datetime):
    soon = now + datetime.timedelta(hours=settings.INCIDENT_REPORT_DUE_SOON_HOURS)
    team = csirt()
    cisos = _people_with(Role.CISO)
    stages = (
        reminders.open_clocks()
        .filter(due_at__lte=soon)
        .select_related("obligation__rule__authority", "obligation__incident__owner")
        .order_by("due_at", "pk")
    )
    for stage in stages.iterator(chunk_size=500):
        incident = stage.obligation.incident
        authority = stage.obligation.rule.authority.name
        when = "overdue" if stage.due_at < now else "due_soon"
        path = f"/incidents/{incident.pk}/"
        deadline = timezone.localtime(stage.due_at).strftime("%Y-%m-%d %H:%M")

        def render(
            user,
            when=when,
            stage=stage,
            incident=incident,
            authority=authority,
            deadline=deadline,
            path=path,
        ):
            title = Text(
                CLOCK_TITLES[when], authority=authority, deadline=deadline, number=incident.number
            )
            return title, f"{incident.title}\n{stage.obligation.rule} — {stage.name}", path

        owner = incident.owner
        recipients = list(team)
        if owner is not None and owner.is_active and owner.pk not in {u.pk for u in team}:
            recipients.append(owner)
        for user in recipients:
            yield Message(
                user,
                f"incident-report:{stage.pk}",
                when,
                f"incident_report.{when}",
                render,
                task=reminders.report_task(stage.pk),
            )
        if when == "overdue":
            for user in cisos:
                yield Message(
                    user,
                    f"incident-report:{stage.pk}",
                    "escalation",
                    "escalation",
                    partial(render, when="escalation"),
                )


@shared_task(**REMINDER_TASK_OPTIONS)
def remind_reporting_clocks(now=None):
    """Hourly: reports due within INCIDENT_REPORT_DUE_SOON_HOURS, and those overdue (with
    the CISO told once); and the CSIRT told of any report still untriaged that it has not
    been told of (its task was lost with the broker)."""
    if isinstance(now, str):
        now = datetime.datetime.fromisoformat(now)
    sent = send_once(_report_messages(Incident.objects.filter(status=Status.REPORTED)))
    return sent + send_once(_clock_messages(now or timezone.now()))


DRILL_TITLES = {
    "second_half": gettext_noop("No emergency drill has been held in %(year)s yet"),
    "last_month": gettext_noop("%(year)s ends this month and no emergency drill has been held"),
}


@shared_task(**REMINDER_TASK_OPTIONS)
def remind_drills(today=None):
    """From October, and again in March, when no drill of the emergency response plan has
    been held this fiscal year (seed 6(7): the plan is exercised)."""
    if isinstance(today, str):
        today = datetime.date.fromisoformat(today)
    today = today or timezone.localdate()
    year = fiscal_year(today)
    if Drill.objects.filter(
        held_on__gte=datetime.date(year, 4, 1), held_on__lt=datetime.date(year + 1, 4, 1)
    ).exists():
        return 0
    if today.month == 3:
        stage = "last_month"
    elif today.month >= 10 or today.month < 4:
        stage = "second_half"
    else:
        return 0

    def render(user):
        language = user.language or settings.LANGUAGE_CODE
        title = Text(DRILL_TITLES[stage], year=fiscal_year_label(year, language))
        return title, Text(gettext_noop("Record the drill once it is held.")), "/incidents/plan/"

    return send_once(
        Message(user, f"drill:{year}", stage, "drill.missing", render)
        for user in _people_with(Role.CSIRT, Role.PROGRAMME_ADMIN)
    )


def summary_incidents(today):
    """Weekly summary section: open incidents per status, and the reporting clocks due in
    the coming week or already overdue."""
    counts = dict(
        Incident.objects.filter(status__in=OPEN_STATUSES)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    lines = [f"  {label}: {counts[value]}" for value, label in Status.choices if counts.get(value)]
    # The week from the summary's day: now for today's run, its midnight for another day's.
    midnight = timezone.make_aware(datetime.datetime.combine(today, datetime.time()))
    now = timezone.now() if today == timezone.localdate() else midnight
    clocks = (
        reminders.open_clocks()
        .filter(due_at__lte=now + datetime.timedelta(days=7))
        .select_related("obligation__rule__authority", "obligation__incident")
        .order_by("due_at")
    )
    for stage in clocks[:50]:
        late = _("overdue") if stage.due_at < now else _("due")
        lines.append(
            f"  {stage.obligation.incident.number} {stage.obligation.rule.authority} "
            f"{stage.name}: {late} {timezone.localtime(stage.due_at):%Y-%m-%d %H:%M}"
        )
    return _("Open incidents and reporting clocks"), lines
