"""Reminders of the audits app: corrective actions and self-inspections."""

import logging

from celery import shared_task
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from isms.eras import to_era
from isms.notify import (
    RECIPIENT_FIELDS,
    REMINDER_TASK_OPTIONS,
    Message,
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

logger = logging.getLogger(__name__)

ACTION_TITLES = {
    "due_soon": _("Corrective action due %(deadline)s: %(title)s"),
    "overdue": _("Corrective action overdue since %(deadline)s: %(title)s"),
}
# For an owner who can no longer read the finding (they moved to another department or
# lost their role): that the action needs them, never what it is about.
ACTION_TITLES_WITHHELD = {
    "due_soon": _("A corrective action you own is due %(deadline)s"),
    "overdue": _("A corrective action you own is overdue since %(deadline)s"),
}
ACTION_BODY_WITHHELD = _(
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
            values = {"title": finding.title, "deadline": to_era(action.due_on)}
            return ACTION_TITLES[stage] % values, action.plan, path

        def render_withheld(user, stage=stage, action=action):
            values = {"deadline": to_era(action.due_on)}
            return ACTION_TITLES_WITHHELD[stage] % values, ACTION_BODY_WITHHELD, "/notifications/"

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
            )
        # The assigned auditors read the finding.
        for user in auditors.get((finding.cycle_id, finding.department_id), []):
            if user.is_active and user.pk != owner.pk:
                yield Message(
                    user, f"action:{action.pk}", stage, f"corrective_action.{stage}", render
                )


@shared_task(**REMINDER_TASK_OPTIONS)
def remind_corrective_actions(today=None):
    """Due soon and overdue corrective actions, to their owner and the auditor."""
    return send_once(_action_messages(today or timezone.localdate()))


INSPECTION_TITLES = {
    "opened": _("Self-inspection open: %(title)s (due %(deadline)s)"),
    "due_soon": _("Self-inspection due %(deadline)s: %(title)s"),
    "overdue": _("Self-inspection overdue since %(deadline)s: %(title)s"),
}


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
            values = {"title": inspection.cycle.name, "deadline": to_era(inspection.cycle.due_on)}
            return (
                INSPECTION_TITLES[stage] % values,
                _("Answer the checklist for %(department)s and submit it.")
                % {"department": inspection.department.name},
                path,
            )

        # The department head and the chiefs of its sections answer it: the people who
        # read the department's audit work (the rule that names corrective action owners,
        # without the city-wide roles).
        answerers = nameable_people(inspection.department, members=False)
        reminded = False
        for user in answerers.only(*RECIPIENT_FIELDS):
            reminded = True
            yield Message(user, f"inspection:{inspection.pk}", stage, f"inspection.{stage}", render)
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
