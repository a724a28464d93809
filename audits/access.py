"""Who sees and does what in audits and self-inspections.

- A department's head and the chiefs of its sections answer the department's
  self-inspection, see its findings and record corrective actions.
- An auditor sees, answers (in an audit), and records findings for the departments assigned
  to them in a cycle, and never their own.
- The CISO and the programme admin see everything. They and the auditors (who run the
  audit programme, DEVELOPERS.md) open cycles and assign auditors.
- Everyone else sees nothing here.
"""

from django.db.models import Exists, OuterRef, Q

from isms.models import Department, Role
from isms.models.organisation import DepartmentKind
from isms.pickers import check_nameable, may_be_named, nameable_people
from isms.roles import departments_managed

from .models import AuditorAssignment, CycleKind, Finding, Inspection

CITYWIDE_ROLES = (Role.CISO, Role.PROGRAMME_ADMIN)


def sees_everything(user):
    return user.is_authenticated and user.has_global_role(*CITYWIDE_ROLES)


def runs_cycles(user):
    """Opens cycles and assigns auditors."""
    return user.is_authenticated and user.has_global_role(*CITYWIDE_ROLES, Role.AUDITOR)


def answering_departments(user):
    """Departments whose self-inspection the person answers: a head's department, and the
    department above a chief's section."""
    if not user.is_authenticated:
        return Department.objects.none()
    managed = departments_managed(user, "view_compliance")
    # Only the unit above a *section*: the unit above a head's department is the whole
    # administrative body, which the head does not answer for.
    return Department.objects.filter(
        Q(pk__in=managed.values("pk"))
        | Q(Exists(managed.filter(parent=OuterRef("pk"), kind=DepartmentKind.SECTION)))
    )


def _assigned(user, cycle_field="cycle", department_field="department"):
    return Q(
        Exists(
            AuditorAssignment.objects.filter(
                auditor=user, cycle=OuterRef(cycle_field), department=OuterRef(department_field)
            )
        )
    )


def visible_inspections(user):
    if not user.is_authenticated:
        return Inspection.objects.none()
    if sees_everything(user):
        return Inspection.objects.all()
    return Inspection.objects.filter(
        Q(department__in=answering_departments(user)) | _assigned(user)
    )


def visible_findings(user):
    if not user.is_authenticated:
        return Finding.objects.none()
    if sees_everything(user):
        return Finding.objects.all()
    return Finding.objects.filter(Q(department__in=answering_departments(user)) | _assigned(user))


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
