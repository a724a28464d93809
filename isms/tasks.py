from celery import shared_task
from django.utils import timezone
from django.utils.translation import gettext as _

from . import imports, policy_actions
from .models import Role, RoleAssignment
from .notify import REMINDER_TASK_OPTIONS, Message, send_once
from .portal import summary_sections


@shared_task
def activate_due_revisions():
    """Make revisions whose effective date has come current: scheduled just after midnight
    Japan time and every quarter hour, so a missed run is caught up."""
    return policy_actions.activate_due_revisions()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_import_job(job_id):
    """Check and write one uploaded import file. A worker killed mid-job hands the message
    back and the job runs again: its rows are written in one transaction, at most once."""
    return imports.run(job_id)


@shared_task(**REMINDER_TASK_OPTIONS)
def weekly_summary(today=None):
    """Compliance per department for the CISO's office, once per ISO week."""
    today = today or timezone.localdate()
    year, week, _day = today.isocalendar()
    recipients = {
        a.user.pk: a.user
        for a in RoleAssignment.objects.filter(
            role__in=[Role.CISO, Role.PROGRAMME_ADMIN], user__is_active=True
        ).select_related("user")
    }

    def render(user):
        parts = []
        for section in summary_sections:
            title, lines = section(today)
            parts.append(f"■ {title}\n" + ("\n".join(lines) if lines else "—"))
        return (
            _("Weekly information security summary (%(year)s week %(week)s)")
            % {"year": year, "week": week},
            "\n\n".join(parts),
            "/",
        )

    return send_once(
        Message(user, f"weekly-summary:{year}-W{week:02d}", "weekly", "weekly_summary", render)
        for user in recipients.values()
    )
