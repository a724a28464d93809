"""Who sees and does what with incidents.

- Anyone signed in reports an incident, and sees their own reports and their progress.
- The CSIRT, the CISO and the programme admin (HANDLER_ROLES) see and handle every incident.
- Auditors read every incident.
- A department head sees the incidents of their department (and the units below it) once
  the CSIRT has triaged them: an untriaged report may be a false alarm or name the wrong
  section.
- No one else sees anything, not even a count.
"""

from django.apps import apps
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Value
from django.db.models.expressions import Expression

from isms.models import Department, Role, RoleAssignment, User, subtree_ids
from isms.roles import AnyUser

from .models import Incident

HANDLER_ROLES = (Role.CSIRT, Role.CISO, Role.PROGRAMME_ADMIN)
READER_ROLES = (*HANDLER_ROLES, Role.AUDITOR)


def reports(user: AnyUser) -> bool:
    return user.is_authenticated and user.is_active


def handles(user: AnyUser) -> bool:
    """Triage, move through the workflow, decide and send the reports, own an incident."""
    return user.is_authenticated and user.has_global_role(*HANDLER_ROLES)


def reads_all(user: AnyUser) -> bool:
    return user.is_authenticated and user.has_global_role(*READER_ROLES)


def is_head(user: AnyUser) -> bool:
    return user.is_authenticated and user.has_departmental_role(Role.DEPARTMENT_HEAD)


def headed_units(user: User) -> QuerySet:
    """Ids of the units under the person's headship (their departments and below)."""
    departments = RoleAssignment.objects.filter(user_id=user.pk, role=Role.DEPARTMENT_HEAD).values(
        "department_id"
    )
    return subtree_ids(Department.objects.filter(pk__in=departments))


def _headed_and_triaged(user: User) -> Q:
    """The incidents of the units under the person's headship, once triaged."""
    return Q(department_id__in=headed_units(user), triaged_at__isnull=False)


def visible_incidents(user: AnyUser) -> QuerySet[Incident]:
    if not user.is_authenticated:
        return Incident.objects.none()
    if reads_all(user):
        return Incident.objects.all()
    own = Incident.objects.filter(reported_by_id=user.pk)
    if not is_head(user):
        return own
    # A UNION of ids, not an OR: the cost follows the head's own incidents, not the city's
    # (bench/incident_lists.py; audits/access.py does the same).
    headed = Incident.objects.order_by().filter(_headed_and_triaged(user))
    return Incident.objects.filter(
        pk__in=own.order_by().values("pk").union(headed.values("pk"), all=True)
    )


def sees_handling(user: AnyUser) -> bool:
    """Sees the handling of incidents (lists beyond one's own reports, the dashboard's
    figures, the exports): the readers and the heads."""
    return reads_all(user) or is_head(user)


# The handling details (obligations, timeline, report stages, the contact tree): the
# readers' and, for their department's triaged incidents, the heads'; not the reporter as
# such, who sees their report and its progress. One rule, three forms: a queryset, an
# annotation (the lists decide it for every row in SQL), and the answer for one incident.


def incidents_with_details(user: AnyUser) -> QuerySet[Incident]:
    if reads_all(user):
        return Incident.objects.all()
    if isinstance(user, User) and is_head(user):
        return Incident.objects.filter(_headed_and_triaged(user))
    return Incident.objects.none()


def details_visible(user: AnyUser) -> Expression:
    """An annotation of incidents: whether the person reads the incident's handling."""
    if reads_all(user):
        return Value(True)
    if isinstance(user, User) and is_head(user):
        return ExpressionWrapper(_headed_and_triaged(user), output_field=BooleanField())
    return Value(False)


def reads_details(user: AnyUser, incident: Incident) -> bool:
    if reads_all(user):
        return True
    return incidents_with_details(user).filter(pk=incident.pk).exists()


def nameable_assets(incident: Incident) -> QuerySet:
    """The assets a handler may name as affected: those registered by the incident's unit
    and the units below it. The CSIRT does not read the whole register; the incident's unit
    is where its assets are."""
    return (
        apps.get_model("assets", "Asset")
        ._default_manager.filter(section_id__in=subtree_ids([incident.department_id]))
        .order_by("name")
    )
