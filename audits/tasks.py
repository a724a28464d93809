"""Reminders of the audits app: corrective actions and self-inspections."""

import logging

from celery import shared_task
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from isms.notify import (
    RECIPIENT_FIELDS,
    REMINDER_TASK_OPTIONS,
    Message,
    Text,
    deadline_stage,
    send_once,
)
from isms.pickers import nameable_people

from .models import (
    AuditorAssignment,
    CorrectiveAction,
    CycleKind,
    Finding,
    FindingStatus,
    Inspection,
    SubmissionStatus,
)
from .owners import may_own
from .services import finding_actions_task, inspection_task

logger = logging.getLogger(__name__)

# Rendered in the reader's language when the notification is shown (isms.notify.Text).
ACTION_TITLES = {
    "due_soon": gettext_noop("Corrective action due %(deadline)s: %(title)s"),
    "overdue": gettext_noop("Corrective action overdue since %(deadline)s: %(title)s"),
}
# For an owner who can no longer read the finding (they moved to another department or
# lost their role): that the action needs them, never what it is about.
ACTION_TITLES_WITHHELD = {
    "due_soon": gettext_noop("A corrective action you own is due %(deadline)s"),
    "overdue": gettext_noop("A corrective action you own is overdue since %(deadline)s"),
}
ACTION_BODY_WITHHELD = gettext_noop(
    "You are named as the owner of a corrective action of a department whose findings you "
    "can no longer read. Ask its department head to name a new owner."
)


def _action_messages(today):
    actions = CorrectiveAction.objects.exclude(finding__status=FindingStatus.CLOSED).select_related(
        "finding__department", "owner"
    )
    # The auditors of every (cycle, department) with an unfinished finding: one query.
    unfinished = Finding.objects.exclude(status=FindingStatus.CLOSED).filter(
        cycle_id=OuterRef("cycle_id"), department_id=OuterRef("department_id")
    )
    auditors = {}
    for assignment in AuditorAssignment.objects.filter(Exists(unfinished)).select_related(
        "auditor"
    ):
        auditors.setdefault((assignment.cycle_id, assignment.department_id), []).append(
            assignment.auditor
        )
    owner_reads = {}  # (owner id, department id): may the owner still read its findings
    for action in actions.iterator(chunk_size=500):
        stage = deadline_stage(action.due_on, today)
        if stage == "opened":
            continue
        finding = action.finding
        path = f"/audits/findings/{finding.pk}/"

        def render(user, stage=stage, action=action, finding=finding, path=path):
            title = Text(ACTION_TITLES[stage], title=finding.title, deadline=action.due_on)
            return title, action.plan, path

        def render_withheld(user, stage=stage, action=action):
            title = Text(ACTION_TITLES_WITHHELD[stage], deadline=action.due_on)
            return title, Text(ACTION_BODY_WITHHELD), "/notifications/"

        owner = action.owner
        if not owner.is_active:
            logger.warning(
                "corrective action %s: its owner has left; no one else is named", action.pk
            )
        else:
            key = (owner.pk, finding.department_id)
            if key not in owner_reads:
                owner_reads[key] = may_own(owner, finding)
                if not owner_reads[key]:
                    logger.warning(
                        "corrective action %s: its owner can no longer read the finding", action.pk
                    )
            yield Message(
                owner,
                f"action:{action.pk}",
                stage,
                f"corrective_action.{stage}",
                render if owner_reads[key] else render_withheld,
                task=finding_actions_task(finding.pk),
            )
        # The assigned auditors read the finding.
        for user in auditors.get((finding.cycle_id, finding.department_id), []):
            if user.is_active and user.pk != owner.pk:
                yield Message(
                    user,
                    f"action:{action.pk}",
                    stage,
                    f"corrective_action.{stage}",
                    render,
                    task=finding_actions_task(finding.pk),
                )


@shared_task(**REMINDER_TASK_OPTIONS)
def remind_corrective_actions(today=None):
    """Due soon and overdue corrective actions, to their owner and the auditor."""
    return send_once(_action_messages(today or timezone.localdate()))


INSPECTION_TITLES = {
    "opened": gettext_noop("Self-inspection open: %(title)s (due %(deadline)s)"),
    "due_soon": gettext_noop("Self-inspection due %(deadline)s: %(title)s"),
    "overdue": gettext_noop("Self-inspection overdue since %(deadline)s: %(title)s"),
}
INSPECTION_BODY = gettext_noop("Answer the checklist for %(department)s and submit it.")


def _inspection_messages(today):
    inspections = Inspection.objects.filter(
        cycle__kind=CycleKind.SELF_INSPECTION,
        cycle__starts_on__lte=today,
        status__in=[SubmissionStatus.OPEN, SubmissionStatus.RETURNED],
    ).select_related("cycle", "department")
    for inspection in inspections.iterator(chunk_size=500):
        stage = deadline_stage(inspection.cycle.due_on, today)
        path = f"/audits/inspections/{inspection.pk}/"

        def render(user, stage=stage, inspection=inspection, path=path):
            cycle = inspection.cycle
            return (
                Text(INSPECTION_TITLES[stage], title=cycle.name, deadline=cycle.due_on),
                Text(INSPECTION_BODY, department=inspection.department.name),
                path,
            )

        # The department head and the chiefs of its sections answer it: the people who
        # read the department's audit work (the rule that names corrective action owners,
        # without the city-wide roles).
        answerers = nameable_people(inspection.department, members=False)
        reminded = False
        for user in answerers.only(*RECIPIENT_FIELDS):
            reminded = True
            yield Message(
                user,
                f"inspection:{inspection.pk}",
                stage,
                f"inspection.{stage}",
                render,
                task=inspection_task(inspection.pk),
            )
        if not reminded:
            logger.warning("self-inspection %s: no head or chief to remind", inspection.pk)


@shared_task(**REMINDER_TASK_OPTIONS)
def remind_self_inspections(today=None):
    """At opening and before the due date, to the department head and section chiefs."""
    return send_once(_inspection_messages(today or timezone.localdate()))


def summary_findings(today):
    """Weekly summary section: unfinished findings per department and severity."""
    from django.db.models import Count

    rows = (
        Finding.objects.exclude(status=FindingStatus.CLOSED)
        .values("department__name", "severity")
        .annotate(n=Count("pk"))
        .order_by("department__name", "severity")
    )
    return _("Open audit findings"), [
        f"  {r['department__name']}: {r['severity']} {r['n']}" for r in rows
    ]
