"""Who sees and does what in audits and self-inspections.

- A department's head and the chiefs of its sections answer the department's
  self-inspection, see its findings and record corrective actions.
- An auditor sees, answers (in an audit), and records findings for the departments assigned
  to them in a cycle, and never their own.
- The CISO and the programme admin see everything. They and the auditors (who run the
  audit programme, DEVELOPERS.md) open cycles and assign auditors.
- Everyone else sees nothing here.
"""

from django.db.models import F, Q

from isms.models import Department, Role
from isms.models.organisation import DepartmentAncestor, DepartmentKind, subtree_ids
from isms.pickers import check_nameable, may_be_named, nameable_people
from isms.roles import departments_granted

from .models import AuditorAssignment, CycleKind, Finding, Inspection

CITYWIDE_ROLES = (Role.CISO, Role.PROGRAMME_ADMIN)


def sees_everything(user):
    return user.is_authenticated and user.has_global_role(*CITYWIDE_ROLES)


def runs_cycles(user):
    """Opens cycles and assigns auditors."""
    return user.is_authenticated and user.has_global_role(*CITYWIDE_ROLES, Role.AUDITOR)


def answering_departments(user):
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


def _visible(model, user):
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


def visible_inspections(user):
    if not user.is_authenticated:
        return Inspection.objects.none()
    if sees_everything(user):
        return Inspection.objects.all()
    return _visible(Inspection, user)


def visible_findings(user):
    if not user.is_authenticated:
        return Finding.objects.none()
    if sees_everything(user):
        return Finding.objects.all()
    return _visible(Finding, user)


def is_assigned(user, cycle, department):
    return AuditorAssignment.objects.filter(
        auditor=user, cycle=cycle, department=department
    ).exists()


def audits(user, cycle, department):
    """May record findings, verify actions and return answers for this department."""
    return user.is_authenticated and (
        is_assigned(user, cycle, department)
        or (user.has_global_role(*CITYWIDE_ROLES) and cycle.kind == CycleKind.SELF_INSPECTION)
    )


def answers_for(user, inspection):
    """Self-inspections are answered by the department, audits by the assigned auditor."""
    if inspection.cycle.kind == CycleKind.AUDIT:
        return is_assigned(user, inspection.cycle, inspection.department)
    return answering_departments(user).filter(pk=inspection.department_id).exists()


def acts_for_department(user, department):
    """Records corrective actions for the department's findings."""
    return answering_departments(user).filter(pk=department.pk).exists()


def uses_audits(user):
    if not user.is_authenticated:
        return False
    if not hasattr(user, "_uses_audits"):
        user._uses_audits = runs_cycles(user) or answering_departments(user).exists()
    return user._uses_audits


def manages_policy_backlog(user):
    return user.is_authenticated and user.has_global_role(*CITYWIDE_ROLES, Role.AUDITOR)


# Who may own a corrective action: those who read the finding through their own standing,
# i.e. the department's heads and section chiefs and the CISO's office (never the staff,
# who do not see findings at all).
OWNER_RULE = {"org_wide_roles": CITYWIDE_ROLES, "members": False}


def possible_owners(department):
    return nameable_people(department, **OWNER_RULE)


def may_own(person, finding):
    return may_be_named(person, finding.department, **OWNER_RULE)


def check_owner(person, finding):
    check_nameable(person, finding.department, field="owner", **OWNER_RULE)
