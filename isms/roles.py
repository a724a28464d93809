"""Roles and the per-department rights that follow from them.

Role assignments change only through assign_role() and revoke_role(): they rewrite the
person's django-guardian permissions on Department objects from their assignments, so the
grants can never drift from the assignments, and they write the audit trail.
"""

from django.db import transaction

from . import audit
from .models import (
    Department,
    DepartmentUserObjectPermission,
    Role,
    RoleAssignment,
)
from .models.organisation import DEPARTMENTAL_ROLES, GLOBAL_ROLES

# What each departmental role may do on its department (and, through subtree_ids, below it).
DEPARTMENT_PERMISSIONS = {
    Role.DEPARTMENT_HEAD: {"view_compliance", "manage_assets"},
    Role.SECTION_CHIEF: {"view_compliance", "manage_assets"},
}

# Roles that oversee every department's compliance.
CITYWIDE_OVERSIGHT_ROLES = (Role.PROGRAMME_ADMIN, Role.CISO, Role.AUDITOR)


@transaction.atomic
def assign_role(user, role, department=None, *, by=None, request=None):
    role = Role(role)
    if role in GLOBAL_ROLES and department is not None:
        raise ValueError(f"{role} applies to the whole city, not to one department")
    if role in DEPARTMENTAL_ROLES and department is None:
        raise ValueError(f"{role} needs a department")
    assignment, created = RoleAssignment.objects.get_or_create(
        user=user, role=role, department=department
    )
    if created:
        sync_department_permissions(user)
        audit.record(
            "role.assigned",
            actor=by,
            target=assignment,
            request=request,
            data={"user": user.username, "role": role, "department": _code(department)},
        )
    _forget_cached_roles(user)
    return assignment


@transaction.atomic
def revoke_role(assignment, *, by=None, request=None):
    user, department = assignment.user, assignment.department
    data = {"user": user.username, "role": assignment.role, "department": _code(department)}
    assignment.delete()
    sync_department_permissions(user)
    _forget_cached_roles(user)
    return audit.record("role.revoked", actor=by, target=user, request=request, data=data)


def sync_department_permissions(user):
    """Make the person's department permissions exactly those their roles give."""
    wanted = set()
    for role, department_id in user.role_assignments.filter(
        role__in=DEPARTMENTAL_ROLES
    ).values_list("role", "department_id"):
        for codename in DEPARTMENT_PERMISSIONS.get(role, ()):
            wanted.add((codename, department_id))

    held = {
        (codename, department_id): pk
        for pk, codename, department_id in DepartmentUserObjectPermission.objects.filter(
            user=user
        ).values_list("pk", "permission__codename", "content_object_id")
    }
    stale = [pk for key, pk in held.items() if key not in wanted]
    if stale:
        DepartmentUserObjectPermission.objects.filter(pk__in=stale).delete()
    missing = wanted - held.keys()
    if missing:
        from django.contrib.auth.models import Permission

        permissions = {
            p.codename: p
            for p in Permission.objects.filter(
                content_type__app_label="isms",
                codename__in={codename for codename, _ in missing},
            )
        }
        DepartmentUserObjectPermission.objects.bulk_create(
            DepartmentUserObjectPermission(
                user=user, permission=permissions[codename], content_object_id=department_id
            )
            for codename, department_id in missing
        )
    if stale or missing:
        audit.record(
            "permissions.synced",
            target=user,
            data={
                "granted": sorted(f"{c}@{d}" for c, d in missing),
                "revoked": sorted(f"{c}@{d}" for c, d in (k for k in held if k not in wanted)),
            },
        )
    _forget_cached_roles(user)


def departments_granted(user, codename):
    """Departments the person holds `codename` on themselves (not the units below them).

    One flat join of the person's permission rows, never correlated with the query it is
    used in, so PostgreSQL evaluates it once per query whatever its statistics say.
    Department rights are only ever granted to people, never to groups
    (sync_department_permissions writes DepartmentUserObjectPermission rows only), and the
    table holds permissions on departments only (guardian checks the content type when a
    row is saved), so the codename alone names the right."""
    if not user.is_authenticated:
        return Department.objects.none()
    return Department.objects.filter(
        departmentuserobjectpermission__user_id=user.pk,
        departmentuserobjectpermission__permission__codename=codename,
    )


def departments_overseen(user, codename="view_compliance"):
    """Departments whose compliance the person may see: everything below the departments
    they hold `codename` on, or the whole city for the programme's oversight roles.

    Returns a queryset, so callers filter with a SQL subquery, never a list of ids."""
    if not user.is_authenticated:
        return Department.objects.none()
    if user.has_global_role(*CITYWIDE_OVERSIGHT_ROLES):
        return Department.objects.all()
    return Department.objects.within(departments_granted(user, codename))


def departments_managed(user, codename="manage_assets"):
    """Departments (and the units below them) where the person holds `codename` through a
    departmental role. Citywide roles read everywhere but manage nowhere."""
    if not user.is_authenticated:
        return Department.objects.none()
    return Department.objects.within(departments_granted(user, codename))


def oversees_any_department(user):
    """Cached on the user object for the request: the navigation, the view's guard and the
    queryset all ask."""
    if not hasattr(user, "_oversees_any_department"):
        user._oversees_any_department = departments_overseen(user).exists()
    return user._oversees_any_department


def can_manage_policy(user):
    """Draft and edit revisions, and read them in every state."""
    return user.is_authenticated and user.has_global_role(Role.PROGRAMME_ADMIN, Role.CISO)


def can_approve_revision(user, revision):
    # The applicant of a request is never its approver.
    return can_manage_policy(user) and revision.author_id != user.pk


def can_publish_revision(user):
    return user.is_authenticated and user.has_global_role(Role.PROGRAMME_ADMIN)


def can_read_audit_trail(user):
    return user.is_authenticated and user.has_global_role(
        Role.PROGRAMME_ADMIN, Role.CISO, Role.AUDITOR
    )


def _code(department):
    return department.code if department is not None else None


def _forget_cached_roles(user):
    for attr in ("_global_roles", "_oversees_any_department"):
        if hasattr(user, attr):
            delattr(user, attr)
