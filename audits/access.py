"""Who sees and does what in audits and self-inspections.

- A department's head and the chiefs of its sections answer the department's
  self-inspection, see its findings and record corrective actions.
- An auditor sees, answers (in an audit), and records findings for the departments assigned
  to them in a cycle, and never their own.
- The CISO and the programme admin (isms.roles.PROGRAMME_OFFICE_ROLES) see everything.
  They and the auditors (isms.roles.CITYWIDE_READER_ROLES, who run the audit programme)
  open cycles and assign auditors.
- Everyone else sees nothing here.
"""

from typing import TypeVar

from django.db.models import F, Q, QuerySet

from isms.models import Department, DepartmentAncestor, DepartmentKind, User, subtree_ids
from isms.roles import (
    AnyUser,
    departments_granted,
    holds_department_right,
    is_programme_office,
    reads_citywide,
)

from .models import AuditorAssignment, Cycle, CycleKind, Finding, Inspection

M = TypeVar("M", Finding, Inspection)


def runs_cycles(user: AnyUser) -> bool:
    """Opens cycles and assigns auditors: the citywide readers, who run the audit
    programme."""
    return reads_citywide(user)


def answering_departments(user: AnyUser) -> QuerySet[Department]:
    """Departments whose self-inspection the person answers: a head's department, and the
    department above a chief's section.

    The units the person oversees (their grants and everything below them, one
    uncorrelated subquery of the ancestor table in which the permission rows are read
    once), each with the unit directly above it if it is a section. The sections below a
    head's department add that department again, harmlessly; those of a chief add the
    department they answer for. No EXISTS that PostgreSQL would re-run for every
    department or finding (tests/test_audit_list_queries.py, bench/permission_plans.py).
    """
    if not user.is_authenticated:
        return Department.objects.none()
    overseen = subtree_ids(departments_granted(user, "view_compliance"))
    # Only the unit above a *section*: the unit above a head's department is the whole
    # administrative body, which the head does not answer for.
    answered = DepartmentAncestor.objects.filter(unit_id__in=overseen).filter(
        Q(depth=0) | Q(depth=1, unit__kind=DepartmentKind.SECTION)
    )
    return Department.objects.filter(pk__in=answered.values("ancestor_id"))


def _visible(model: type[M], user: User) -> QuerySet[M]:
    """Rows of `model` (findings, inspections: both belong to a cycle and a department)
    that the person may see: those of the departments they answer for, and those of the
    departments they are assigned to audit in that cycle.

    One uncorrelated subquery of ids (a UNION, not an OR of conditions): PostgreSQL plans
    an IN over it as a semi-join, estimated from the person's few grants and assignments,
    and never as a SubPlan that it re-runs for every row once dead rows have spoilt its
    estimates (bench/audit_lists.py).
    """
    rows = model.objects.order_by()
    own = rows.filter(department__in=answering_departments(user).values("pk")).values("pk")
    audited = rows.filter(
        cycle__assignments__auditor=user, cycle__assignments__department=F("department")
    ).values("pk")
    return model.objects.filter(pk__in=own.union(audited, all=True))


def visible_inspections(user: AnyUser) -> QuerySet[Inspection]:
    if not user.is_authenticated:
        return Inspection.objects.none()
    if is_programme_office(user):
        return Inspection.objects.all()
    return _visible(Inspection, user)


def visible_findings(user: AnyUser) -> QuerySet[Finding]:
    if not user.is_authenticated:
        return Finding.objects.none()
    if is_programme_office(user):
        return Finding.objects.all()
    return _visible(Finding, user)


def visible_cycles(user: AnyUser) -> QuerySet[Cycle]:
    if not user.is_authenticated:
        return Cycle.objects.none()
    if is_programme_office(user):
        return Cycle.objects.all()
    return Cycle.objects.filter(
        pk__in=visible_inspections(user).values("cycle_id")
    ) | Cycle.objects.filter(created_by=user)


def is_assigned(user: AnyUser, cycle: Cycle, department: Department) -> bool:
    if not user.is_authenticated:
        return False
    return AuditorAssignment.objects.filter(
        auditor=user, cycle=cycle, department=department
    ).exists()


def audits(user: AnyUser, cycle: Cycle, department: Department) -> bool:
    """May record findings, verify actions and return answers for this department."""
    return user.is_authenticated and (
        is_assigned(user, cycle, department)
        or (is_programme_office(user) and cycle.kind == CycleKind.SELF_INSPECTION)
    )


def answers_for(user: AnyUser, inspection: Inspection) -> bool:
    """Self-inspections are answered by the department, audits by the assigned auditor."""
    if inspection.cycle.kind == CycleKind.AUDIT:
        return is_assigned(user, inspection.cycle, inspection.department)
    return answering_departments(user).filter(pk=inspection.department_id).exists()


def acts_for_department(user: AnyUser, department: Department) -> bool:
    """Records corrective actions for the department's findings."""
    return answering_departments(user).filter(pk=department.pk).exists()


def uses_audits(user: AnyUser) -> bool:
    if not user.is_authenticated:
        return False
    # answering_departments() holds a unit exactly when the person holds view_compliance
    # somewhere: the roles read once per request say so without running it.
    return runs_cycles(user) or holds_department_right(user, "view_compliance")


def manages_policy_backlog(user: AnyUser) -> bool:
    return reads_citywide(user)
