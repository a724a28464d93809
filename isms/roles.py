"""Roles, the per-department rights that follow from them, and the one vocabulary the
apps' access.py modules decide with: the named role sets and the predicates below.

Role assignments change only through assign_role() and revoke_role(): they rewrite the
person's django-guardian permissions on Department objects from their assignments, so the
grants can never drift from the assignments, and they write the audit trail. Both forget
every answer cached on the user object (isms.memo: the roles it holds, read once per
request), so a change takes effect at once.
"""

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from . import audit, second_factor
from .audit import AuditAction
from .memo import forget
from .models import (
    DEPARTMENTAL_ROLES,
    GLOBAL_ROLES,
    AuditEvent,
    Department,
    DepartmentUserObjectPermission,
    PolicyDocument,
    PolicyRevision,
    Role,
    RoleAssignment,
    User,
)
from .models.policy import PolicyDocumentQuerySet, PolicyRevisionQuerySet

# request.user: a person, or nobody signed in.
AnyUser = User | AnonymousUser

# What each departmental role may do on its department (and, through subtree_ids, below it).
DEPARTMENT_PERMISSIONS: dict[str, set[str]] = {
    Role.DEPARTMENT_HEAD: {"view_compliance", "manage_assets"},
    Role.SECTION_CHIEF: {"view_compliance", "manage_assets"},
}

# --- the role sets ------------------------------------------------------------------------

# Read everything across the city (every policy document whatever its audience, every
# department's compliance, the whole asset register, the audit trail) and run the audit
# programme; they change nothing of a department's own.
CITYWIDE_READER_ROLES = (Role.PROGRAMME_ADMIN, Role.CISO, Role.AUDITOR)
# The CISO's office: manage the policy, see every audit and finding, own corrective actions.
PROGRAMME_OFFICE_ROLES = (Role.CISO, Role.PROGRAMME_ADMIN)


# --- the predicates -----------------------------------------------------------------------


def reads_citywide(user: AnyUser) -> bool:
    return user.is_authenticated and user.has_global_role(*CITYWIDE_READER_ROLES)


def is_programme_office(user: AnyUser) -> bool:
    return user.is_authenticated and user.has_global_role(*PROGRAMME_OFFICE_ROLES)


def is_programme_admin(user: AnyUser) -> bool:
    return user.is_authenticated and user.has_global_role(Role.PROGRAMME_ADMIN)


@transaction.atomic
def assign_role(
    user: User,
    role: Role | str,
    department: Department | None = None,
    *,
    by: User | None = None,
    request: HttpRequest | None = None,
) -> RoleAssignment:
    role = Role(role)
    # A step-up for the person changing roles on a page; the imports and the management
    # commands pass no request and are not asked.
    second_factor.require_recent(request, by if by is not None else getattr(request, "user", None))
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
            AuditAction.ROLE_ASSIGNED,
            actor=by,
            target=assignment,
            request=request,
            data={"user": user.username, "role": role, "department": _code(department)},
        )
    forget(user)
    return assignment


@transaction.atomic
def revoke_role(
    assignment: RoleAssignment, *, by: User | None = None, request: HttpRequest | None = None
) -> AuditEvent:
    second_factor.require_recent(request, by if by is not None else getattr(request, "user", None))
    user, department = assignment.user, assignment.department
    data = {"user": user.username, "role": assignment.role, "department": _code(department)}
    assignment.delete()
    sync_department_permissions(user)
    forget(user)
    return audit.record(AuditAction.ROLE_REVOKED, actor=by, target=user, request=request, data=data)


def sync_department_permissions(user: User) -> None:
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
            AuditAction.PERMISSIONS_SYNCED,
            target=user,
            data={
                "granted": sorted(f"{c}@{d}" for c, d in missing),
                "revoked": sorted(f"{c}@{d}" for c, d in (k for k in held if k not in wanted)),
            },
        )
    forget(user)


def departments_granted(user: AnyUser, codename: str) -> QuerySet[Department]:
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


def departments_overseen(user: AnyUser, codename: str = "view_compliance") -> QuerySet[Department]:
    """Departments whose compliance the person may see: everything below the departments
    they hold `codename` on, or the whole city for the citywide readers.

    Returns a queryset, so callers filter with a SQL subquery, never a list of ids."""
    if not user.is_authenticated:
        return Department.objects.none()
    if reads_citywide(user):
        return Department.objects.all()
    return Department.objects.within(departments_granted(user, codename))


def departments_managed(user: AnyUser, codename: str = "manage_assets") -> QuerySet[Department]:
    """Departments (and the units below them) where the person holds `codename` through a
    departmental role. Citywide roles read everywhere but manage nowhere."""
    if not user.is_authenticated:
        return Department.objects.none()
    return Department.objects.within(departments_granted(user, codename))


def holds_department_right(user: AnyUser, codename: str) -> bool:
    """Whether departments_granted(user, codename) holds any unit, from the person's roles
    (read once per request) rather than a query: the rights on departments are those their
    roles give (DEPARTMENT_PERMISSIONS, written by sync_department_permissions)."""
    return user.is_authenticated and any(
        codename in DEPARTMENT_PERMISSIONS.get(role, ()) for role in user.held_roles
    )


def oversees_any_department(user: AnyUser) -> bool:
    """Whether departments_overseen() holds any unit: the citywide readers see every unit."""
    return reads_citywide(user) or holds_department_right(user, "view_compliance")


def can_manage_policy(user: AnyUser) -> bool:
    """Draft and edit revisions, and read them in every state."""
    return is_programme_office(user)


def can_approve_revision(user: AnyUser, revision: PolicyRevision) -> bool:
    # The applicant of a request is never its approver.
    return can_manage_policy(user) and revision.author_id != user.pk


def can_publish_revision(user: AnyUser) -> bool:
    return is_programme_admin(user)


def can_read_audit_trail(user: AnyUser) -> bool:
    return reads_citywide(user)


def departments_headed(user: AnyUser) -> QuerySet[Department]:
    """The departments the person is head of (情報セキュリティ責任者), not the sections a
    chief holds."""
    if not user.is_authenticated:
        return Department.objects.none()
    return Department.objects.filter(
        role_assignments__user_id=user.pk, role_assignments__role=Role.DEPARTMENT_HEAD
    )


def can_see_dashboard(user: AnyUser) -> bool:
    """The dashboard: the citywide readers for the whole city, a department head for their
    department. A section chief follows their one section on the status pages instead.
    From the roles read once per request."""
    return user.is_authenticated and (
        reads_citywide(user) or user.has_departmental_role(Role.DEPARTMENT_HEAD)
    )


def visible_policy_documents(
    user: AnyUser, documents: PolicyDocumentQuerySet | None = None
) -> QuerySet[PolicyDocument]:
    """The documents a person may read: those whose audience includes them, and every one
    for the citywide readers, who run the policy programme."""
    documents = PolicyDocument.objects.all() if documents is None else documents
    if reads_citywide(user):
        return documents
    return documents.for_audience_of(user)


def readable_revisions(
    user: AnyUser, revisions: PolicyRevisionQuerySet | None = None
) -> QuerySet[PolicyRevision]:
    """Revisions a person may read: the published history of the documents they may see,
    and every state for those who manage the policy."""
    revisions = PolicyRevision.objects.all() if revisions is None else revisions
    revisions = revisions.filter(document__in=visible_policy_documents(user))
    if not can_manage_policy(user):
        revisions = revisions.published_history()
    return revisions


def _code(department: Department | None) -> str | None:
    return department.code if department is not None else None
