"""Every change in the audit cycle goes through these functions: they check who may act,
change the state, and write the audit trail, in one transaction."""

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from isms import audit, review, second_factor
from isms import evidence as evidence_store
from isms.audit import AnyRequest, AuditAction
from isms.models import Department, PolicyRevision, ReviewItem, Role, User
from isms.notify import mark_task_done
from isms.roles import AnyUser

from . import access
from .models import (
    Answer,
    AuditorAssignment,
    CorrectiveAction,
    Cycle,
    Evidence,
    Finding,
    FindingStatus,
    Inspection,
    Result,
    SubmissionStatus,
)
from .owners import check_owner


# Task keys of the reminders (tasks.py): the service that does the task marks them done.
def inspection_task(inspection_id: int) -> str:
    """Answering a self-inspection: done for all its answerers once it is submitted."""
    return f"inspection:{inspection_id}"


def finding_actions_task(finding_id: int) -> str:
    """Carrying out a finding's corrective actions: done once the finding is closed."""
    return f"finding:{finding_id}:actions"


# The findings' kind of item on the core's policy review backlog (isms.review).
FINDING_KIND = "audits.finding"


def check_assigns_auditors(by: AnyUser) -> None:
    """assign_auditor() asks, and the API before it looks the cycle up."""
    if not access.runs_cycles(by):
        raise PermissionDenied(_("Only auditors and the CISO's office assign auditors."))


def check_records_findings(by: AnyUser) -> None:
    """The coarse question the API asks before it reads a new finding: only those who run
    the audit programme record findings at all. record_finding() decides for the
    department (access.audits)."""
    if not access.runs_cycles(by):
        raise PermissionDenied(_("Only the auditor assigned to this department records findings."))


@transaction.atomic
def open_cycle(
    *,
    by: User,
    departments: Sequence[Department] | QuerySet[Department],
    request: AnyRequest | None = None,
    **fields: Any,
) -> Cycle:
    if not access.runs_cycles(by):
        raise PermissionDenied(_("Only auditors and the CISO's office open cycles."))
    cycle = Cycle(created_by=by, **fields)
    cycle.full_clean()
    cycle.save()
    cycle.departments.set(departments)
    Inspection.objects.bulk_create(Inspection(cycle=cycle, department=d) for d in departments)
    audit.record(
        AuditAction.CYCLE_OPENED,
        actor=by,
        target=cycle,
        request=request,
        data={"kind": cycle.kind, "departments": [d.code for d in departments]},
    )
    return cycle


def _own_units(user: User) -> list[int]:
    """The ids of the auditor's own section and everything above it: they may never audit those."""
    return user.section.ancestors_and_self() if user.section is not None else []


@transaction.atomic
def assign_auditor(
    cycle: Cycle,
    department: Department,
    auditor: User,
    *,
    by: User,
    request: AnyRequest | None = None,
) -> AuditorAssignment:
    check_assigns_auditors(by)
    if not auditor.has_global_role(Role.AUDITOR):
        raise ValidationError({"auditor": _("%(name)s is not an auditor.") % {"name": auditor}})
    if not cycle.departments.filter(pk=department.pk).exists():
        raise ValidationError({"department": _("The department is not in the cycle's scope.")})
    in_scope = Department.objects.within([department.pk]).values_list("pk", flat=True)
    if set(_own_units(auditor)) & set(in_scope):
        raise ValidationError(
            {
                "auditor": _(
                    "An auditor may not audit their own department "
                    "(%(name)s belongs to %(department)s)."
                )
                % {"name": auditor, "department": department}
            }
        )
    assignment, created = AuditorAssignment.objects.get_or_create(
        cycle=cycle, department=department, auditor=auditor
    )
    if created:
        audit.record(
            AuditAction.CYCLE_AUDITOR_ASSIGNED,
            actor=by,
            target=cycle,
            request=request,
            data={"department": department.code, "auditor": auditor.username},
        )
    return assignment


def _editable_inspection(inspection: Inspection, by: User) -> Inspection:
    inspection = (
        Inspection.objects.select_for_update().select_related("cycle").get(pk=inspection.pk)
    )
    if not access.answers_for(by, inspection):
        raise PermissionDenied(_("You do not answer this checklist."))
    if inspection.is_locked:
        raise ValidationError(
            _(
                "The answers have been submitted; they can be changed only "
                "after they are returned for correction."
            )
        )
    return inspection


@transaction.atomic
def save_answers(
    inspection: Inspection,
    answers: Mapping[int, tuple[str, str]],
    *,
    by: User,
    request: AnyRequest | None = None,
) -> int:
    """answers: {item_id: (result, comment)}. Items must belong to the cycle's checklist."""
    inspection = _editable_inspection(inspection, by)
    valid_items = set(inspection.cycle.checklist.items.values_list("pk", flat=True))
    for item_id, (result, _comment) in answers.items():
        if item_id not in valid_items:
            raise ValidationError({"item": _("The item is not on this checklist.")})
        if result not in Result.values:
            raise ValidationError({"result": _("Choose a result.")})
    existing = {a.item_id: a for a in inspection.answers.filter(item_id__in=answers)}
    now = timezone.now()
    new: list[Answer] = []
    changed: list[Answer] = []
    for item_id, (result, comment) in answers.items():
        answer = existing.get(item_id)
        if answer is None:
            new.append(
                Answer(
                    inspection=inspection,
                    item_id=item_id,
                    result=result,
                    comment=comment,
                    answered_by=by,
                    answered_at=now,
                )
            )
        elif (answer.result, answer.comment) != (result, comment):
            answer.result, answer.comment, answer.answered_by, answer.answered_at = (
                result,
                comment,
                by,
                now,
            )
            changed.append(answer)
    Answer.objects.bulk_create(new)
    Answer.objects.bulk_update(changed, ["result", "comment", "answered_by", "answered_at"])
    return len(new) + len(changed)


@transaction.atomic
def submit(inspection: Inspection, *, by: User, request: AnyRequest | None = None) -> Inspection:
    inspection = _editable_inspection(inspection, by)
    missing = inspection.cycle.checklist.items.exclude(
        pk__in=inspection.answers.values("item_id")
    ).count()
    if missing:
        raise ValidationError(_("%(count)s items are not answered yet.") % {"count": missing})
    inspection.status = SubmissionStatus.SUBMITTED
    inspection.submitted_by = by
    inspection.submitted_at = timezone.now()
    inspection.returned_reason = ""
    inspection.save()
    audit.record(AuditAction.INSPECTION_SUBMITTED, actor=by, target=inspection, request=request)
    mark_task_done(None, inspection_task(inspection.pk))
    return inspection


@transaction.atomic
def return_for_correction(
    inspection: Inspection, *, by: User, reason: str, request: AnyRequest | None = None
) -> Inspection:
    inspection = (
        Inspection.objects.select_for_update().select_related("cycle").get(pk=inspection.pk)
    )
    if not access.audits(by, inspection.cycle, inspection.department):
        raise PermissionDenied(
            _("Only the assigned auditor or the CISO's office can return answers.")
        )
    if inspection.status != SubmissionStatus.SUBMITTED:
        raise ValidationError(_("Only submitted answers can be returned."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say what needs correcting.")})
    inspection.status = SubmissionStatus.RETURNED
    inspection.returned_reason = reason.strip()
    inspection.save()
    audit.record(
        AuditAction.INSPECTION_RETURNED,
        actor=by,
        target=inspection,
        request=request,
        data={"reason": reason.strip()},
    )
    return inspection


@transaction.atomic
def record_finding(
    *,
    by: User,
    cycle: Cycle,
    department: Department,
    request: AnyRequest | None = None,
    related_assets: Iterable[Any] = (),  # assets or their ids: audits imports no app
    **fields: Any,
) -> Finding:
    if not access.audits(by, cycle, department):
        raise PermissionDenied(_("Only the auditor assigned to this department records findings."))
    # The CISO's office audits every self-inspection: keep its findings inside the cycle.
    if not cycle.departments.filter(pk=department.pk).exists():
        raise ValidationError({"department": _("The department is not in the cycle's scope.")})
    finding = Finding(cycle=cycle, department=department, created_by=by, **fields)
    if finding.item is not None and finding.item.checklist_id != cycle.checklist_id:
        raise ValidationError({"item": _("The item is not on this checklist.")})
    if finding.item is not None and not fields.get("area"):
        finding.area = finding.item.area
    finding.full_clean()
    finding.save()
    if related_assets:
        finding.related_assets.set(related_assets)
    audit.record(
        AuditAction.FINDING_RECORDED,
        actor=by,
        target=finding,
        request=request,
        data={"severity": finding.severity, "department": department.code},
    )
    if finding.needs_policy_review:
        _raise_review_item(finding, by=by, request=request)
    return finding


def finding_link(finding: Finding) -> str:
    return f"/audits/findings/{finding.pk}/"


def _raise_review_item(finding: Finding, *, by: User, request: AnyRequest | None) -> None:
    review.raise_item(
        finding,
        title=finding.title,
        link=finding_link(finding),
        department=finding.department,
        by=by,
        request=request,
    )


def revisions_citing(findings: Iterable[Finding]) -> dict[int, list[int]]:
    """{finding id: [ids of the revisions citing its backlog items]}, in one query."""
    cited: dict[int, list[int]] = {finding.pk: [] for finding in findings}
    rows = (
        PolicyRevision.objects.filter(
            review_items__source_kind=FINDING_KIND, review_items__source_id__in=list(cited)
        )
        .values_list("review_items__source_id", "pk")
        .order_by("pk")
        .distinct()
    )
    for finding_id, revision_id in rows:
        cited[finding_id].append(revision_id)
    return cited


def _follow_review_flag(
    finding: Finding, was_flagged: bool, *, by: User, request: AnyRequest | None
) -> None:
    """Keep the backlog in step with the auditor's flag: flagged, the finding is raised (once:
    an item a revision cited is still there); unflagged, its uncited item goes."""
    if finding.needs_policy_review and not was_flagged:
        if not review.items_of(finding).exists():
            _raise_review_item(finding, by=by, request=request)
    elif was_flagged and not finding.needs_policy_review:
        review.withdraw_item(finding, by=by, request=request)


@transaction.atomic
def finding_from_answer(
    answer: Answer, *, by: User, severity: str, request: AnyRequest | None = None, **fields: Any
) -> Finding:
    """Turn a "not compliant" answer into a finding in one step."""
    answer = Answer.objects.select_related(
        "inspection__cycle", "inspection__department", "item"
    ).get(pk=answer.pk)
    if answer.result not in (Result.NOT_COMPLIANT, Result.PARTLY):
        raise ValidationError(
            _("Only a non-compliant or partly compliant answer becomes a finding.")
        )
    if Finding.objects.filter(source_answer=answer).exists():
        raise ValidationError(_("This answer is already a finding."))
    return record_finding(
        by=by,
        cycle=answer.inspection.cycle,
        department=answer.inspection.department,
        request=request,
        item=answer.item,
        area=answer.item.area,
        source_answer=answer,
        severity=severity,
        title=fields.get("title") or answer.item.text[:200],
        description=fields.get("description") or answer.comment or answer.item.text,
        recommendation=fields.get("recommendation", ""),
    )


def _locked_finding(finding: Finding) -> Finding:
    return (
        Finding.objects.select_for_update().select_related("cycle", "department").get(pk=finding.pk)
    )


@transaction.atomic
def update_finding(
    finding: Finding, *, by: User, request: AnyRequest | None = None, **fields: Any
) -> Finding:
    finding = _locked_finding(finding)
    if not access.audits(by, finding.cycle, finding.department):
        raise PermissionDenied(_("Only the assigned auditor edits a finding."))
    if finding.is_closed:
        raise ValidationError(_("A closed finding cannot be edited; reopen it first."))
    changed: dict[str, list[Any]] = {}
    for name in (
        "title",
        "severity",
        "description",
        "recommendation",
        "needs_policy_review",
        "area",
    ):
        if name in fields and getattr(finding, name) != fields[name]:
            changed[name] = [getattr(finding, name), fields[name]]
            setattr(finding, name, fields[name])
    if changed:
        finding.full_clean()
        finding.save()
        if "title" in changed:
            review.items_of(finding).update(title=finding.title)
        audit.record(
            AuditAction.FINDING_EDITED,
            actor=by,
            target=finding,
            request=request,
            data={"changes": changed},
        )
        if "needs_policy_review" in changed:
            was_flagged = changed["needs_policy_review"][0]
            _follow_review_flag(finding, was_flagged, by=by, request=request)
    return finding


@transaction.atomic
def add_corrective_action(
    finding: Finding,
    *,
    by: User,
    owner: User,
    plan: str,
    due_on: datetime.date,
    request: AnyRequest | None = None,
) -> CorrectiveAction:
    finding = _locked_finding(finding)
    if not access.acts_for_department(by, finding.department):
        raise PermissionDenied(_("Only the department records its corrective actions."))
    if finding.is_closed:
        raise ValidationError(_("The finding is closed."))
    # The owner is reminded of the finding's title and plan: they must be able to read it.
    check_owner(owner, finding)
    if not (plan or "").strip():
        raise ValidationError({"plan": _("Describe the plan.")})
    action = CorrectiveAction.objects.create(
        finding=finding, owner=owner, plan=plan.strip(), due_on=due_on, created_by=by
    )
    finding.status = FindingStatus.ACTION_PLANNED
    finding.save(update_fields=["status"])
    audit.record(
        AuditAction.FINDING_ACTION_PLANNED,
        actor=by,
        target=finding,
        request=request,
        data={"owner": owner.username, "due_on": due_on.isoformat()},
    )
    return action


@transaction.atomic
def close_finding(
    finding: Finding, *, by: User, note: str = "", request: AnyRequest | None = None
) -> Finding:
    finding = _locked_finding(finding)
    if not access.audits(by, finding.cycle, finding.department):
        raise PermissionDenied(_("Only the assigned auditor verifies and closes a finding."))
    second_factor.require_recent(request, by)
    if finding.status != FindingStatus.ACTION_PLANNED:
        raise ValidationError(
            _("A finding is closed once a corrective action is recorded and verified.")
        )
    finding.status = FindingStatus.CLOSED
    finding.closed_at = timezone.now()
    finding.save(update_fields=["status", "closed_at"])
    audit.record(
        AuditAction.FINDING_CLOSED, actor=by, target=finding, request=request, data={"note": note}
    )
    mark_task_done(None, finding_actions_task(finding.pk))
    return finding


@transaction.atomic
def reopen_finding(
    finding: Finding, *, by: User, reason: str, request: AnyRequest | None = None
) -> Finding:
    finding = _locked_finding(finding)
    if not access.audits(by, finding.cycle, finding.department):
        raise PermissionDenied(_("Only the assigned auditor reopens a finding."))
    if not finding.is_closed:
        raise ValidationError(_("Only a closed finding can be reopened."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the finding is reopened.")})
    finding.status = FindingStatus.OPEN
    finding.closed_at = None
    finding.save(update_fields=["status", "closed_at"])
    audit.record(
        AuditAction.FINDING_REOPENED,
        actor=by,
        target=finding,
        request=request,
        data={"reason": reason.strip()},
    )
    return finding


# Evidence files --------------------------------------------------------------------------


@transaction.atomic
def attach_evidence(
    uploaded: UploadedFile,
    *,
    by: User,
    answer: Answer | None = None,
    finding: Finding | None = None,
    request: AnyRequest | None = None,
) -> Evidence:
    if answer is not None:
        inspection = answer.inspection
        allowed = access.answers_for(by, inspection) and not inspection.is_locked
    elif finding is not None:
        allowed = access.audits(
            by, finding.cycle, finding.department
        ) or access.acts_for_department(by, finding.department)
    else:
        raise TypeError("attach_evidence() needs an answer or a finding")
    if not allowed:
        raise PermissionDenied(_("You cannot add evidence here."))
    evidence = evidence_store.store(
        Evidence(answer=answer, finding=finding, uploaded_by=by), uploaded
    )
    audit.record(
        AuditAction.EVIDENCE_ATTACHED,
        actor=by,
        target=evidence,
        request=request,
        data={"sha256": evidence.sha256, "size": evidence.size},
    )
    return evidence


def can_download(user: AnyUser, evidence: Evidence) -> bool:
    """Only people who may see the answer's inspection or the finding, whatever the URL."""
    if evidence.answer is not None:
        return access.visible_inspections(user).filter(pk=evidence.answer.inspection_id).exists()
    return (
        evidence.finding_id is not None
        and access.visible_findings(user).filter(pk=evidence.finding_id).exists()
    )


def pass_records_to_successor(
    sender: object, unit: Department, successor: Department, **kwargs: Any
) -> dict[str, int]:
    """Receiver of isms.signals.unit_merged: the merged unit's open findings (with their
    corrective actions), its self-inspections still being answered, and its place in open
    cycles pass to the successor. Closed findings and submitted inspections stay where
    they were made: they are the record of that unit."""
    findings = Finding.objects.filter(department=unit).exclude(status=FindingStatus.CLOSED)
    actions = CorrectiveAction.objects.filter(finding__in=findings).count()
    cycles = set(findings.values_list("cycle_id", flat=True))
    moved = list(findings.values_list("pk", flat=True))
    moved_findings = findings.update(department=successor)
    # Their items on the policy review backlog name the department they now belong to.
    ReviewItem.objects.filter(source_kind=FINDING_KIND, source_id__in=moved).update(
        department=successor
    )
    open_inspections = Inspection.objects.filter(department=unit).exclude(
        status=SubmissionStatus.SUBMITTED
    )
    # One inspection per department and cycle: where the successor has its own, the
    # merged unit's stays (and the successor answers for both).
    taken = Inspection.objects.filter(department=successor).values("cycle_id")
    moved_inspections = open_inspections.exclude(cycle_id__in=taken).update(department=successor)
    today = timezone.localdate()
    for cycle in Cycle.objects.filter(departments=unit, due_on__gte=today):
        cycle.departments.add(successor)
        cycles.add(cycle.pk)
    _pass_auditors_to_successor(unit, successor, cycles, by=kwargs.get("by"))
    return {
        "findings": moved_findings,
        "corrective_actions": actions,
        "self_inspections": moved_inspections,
    }


def _pass_auditors_to_successor(
    unit: Department, successor: Department, cycle_ids: set[int], *, by: User | None
) -> None:
    """The auditors assigned to the merged unit in the cycles whose records passed to the
    successor are assigned to the successor too: only they verify and close its findings
    (access.audits). Never to an auditor's own department (as assign_auditor)."""
    in_scope = set(Department.objects.within([successor.pk]).values_list("pk", flat=True))
    for assignment in AuditorAssignment.objects.filter(
        department=unit, cycle_id__in=cycle_ids
    ).select_related("cycle", "auditor__section__parent__parent"):
        if set(_own_units(assignment.auditor)) & in_scope:
            continue
        _assignment, created = AuditorAssignment.objects.get_or_create(
            cycle=assignment.cycle, department=successor, auditor=assignment.auditor
        )
        if created:
            audit.record(
                AuditAction.CYCLE_AUDITOR_ASSIGNED,
                actor=by,
                target=assignment.cycle,
                data={"department": successor.code, "auditor": assignment.auditor.username},
            )
