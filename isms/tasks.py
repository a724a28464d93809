import datetime
import logging

from celery import shared_task
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from . import audit, policy_actions
from .imports import run_import_job  # noqa: F401 - the worker finds its tasks here
from .models import RoleAssignment
from .notify import REMINDER_TASK_OPTIONS, Message, Text, send_once
from .portal import summary_sections
from .roles import PROGRAMME_OFFICE_ROLES

logger = logging.getLogger(__name__)


@shared_task
def activate_due_revisions():
    """Make revisions whose effective date has come current: scheduled just after midnight
    Japan time and every quarter hour, so a missed run is caught up."""
    return policy_actions.activate_due_revisions()


@shared_task
def seal_audit_trail():
    """Chain the audit events recorded since the last run (every minute): requests never
    wait for the chain, and an event stays unsealed for a minute at most."""
    return audit.seal_pending_events()


def audit_trail_lines(head):
    """The head of the audit chain, as the weekly summary states it: a copy of it outside
    the database shows later whether the chain up to it was rewritten."""
    if head is None:
        return [_("No audit event has been sealed yet.")]
    return [
        _("Head of the chain: event %(id)s, position %(position)s, recorded %(time)s")
        % {
            "id": head.pk,
            "position": head.chain_position,
            "time": timezone.localtime(head.created_at).strftime("%Y-%m-%d %H:%M"),
        },
        _("SHA-256 of the head: %(hash)s") % {"hash": head.hash},
        _("Check it with: manage.py verify_audit_trail"),
    ]


@shared_task(**REMINDER_TASK_OPTIONS)
def weekly_summary(today=None):
    """Compliance per department for the CISO's office, once per ISO week."""
    today = today or timezone.localdate()
    year, week, _day = today.isocalendar()
    recipients = {
        a.user.pk: a.user
        for a in RoleAssignment.objects.filter(
            role__in=PROGRAMME_OFFICE_ROLES, user__is_active=True
        ).select_related("user")
    }
    if not recipients:
        logger.warning("weekly summary %s-W%02d: no active CISO or programme admin", year, week)

    audit.seal_pending_events()
    head = audit.chain_head()

    def render(user):
        parts = []
        for section in summary_sections:
            title, lines = section(today)
            parts.append(f"■ {title}\n" + ("\n".join(lines) if lines else "—"))
        parts.append(f"■ {_('Audit trail')}\n" + "\n".join(audit_trail_lines(head)))
        # The title is rendered again in the reader's language; the body, built of every
        # app's figures of the week, stays as written for the recipient.
        return (
            Text(
                gettext_noop("Weekly information security summary (%(year)s week %(week)s)"),
                year=year,
                week=week,
            ),
            "\n\n".join(parts),
            "/",
        )

    return send_once(
        Message(user, f"weekly-summary:{year}-W{week:02d}", "weekly", "weekly_summary", render)
        for user in recipients.values()
    )


# --- people and organisation from the personnel system (isms.personnel) ------------------


@shared_task(acks_late=True, reject_on_worker_lost=True)
def check_personnel_batch(batch_id):
    """Read and check an uploaded personnel file into its preview."""
    from .personnel import services

    return services.check_batch(batch_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def apply_due_personnel_batches(today=None):
    """Just after midnight Japan time (and every hour, to catch up on a missed run): apply
    the batches whose effective date has come. A batch applies in one transaction, so a
    worker killed half-way leaves it scheduled and the next run applies it whole."""
    from .personnel import services

    today = datetime.date.fromisoformat(today) if today else None
    return {str(k): v for k, v in services.apply_due_batches(today).items()}


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deactivate_leavers(today=None):
    """After a leaver's last working day: their account ends, their records stay."""
    from .personnel import services

    today = datetime.date.fromisoformat(today) if today else None
    return services.deactivate_leavers(today)


@shared_task(**REMINDER_TASK_OPTIONS)
def send_personnel_digest(batch_id):
    """To the heads of each department a batch changed: who joined and who left it (their
    own department's people only). Through the ledger: sent once per head and batch."""
    from .models import PersonnelBatch
    from .notify import department_heads

    batch = PersonnelBatch.objects.get(pk=batch_id)
    digest = batch.preview.get("digest", {})
    heads = department_heads()
    messages = []
    for department_id, names in digest.items():

        def render(head, names=names):
            lines: list[str | Text] = []
            if names["joined"]:
                lines += [Text(gettext_noop("Joined:"))] + [f"- {n}" for n in names["joined"][:200]]
            if names["left"]:
                lines += [Text(gettext_noop("Left:"))] + [f"- {n}" for n in names["left"][:200]]
            return (
                Text(
                    gettext_noop("Personnel changes in your department (%(date)s)"),
                    date=batch.effective_on,
                ),
                lines,
                "/",
            )

        for head in heads.get(int(department_id), []):
            messages.append(
                Message(
                    head,
                    f"personnel-batch:{batch.pk}:department:{department_id}",
                    "digest",
                    "personnel.digest",
                    render,
                )
            )
    return send_once(messages)
