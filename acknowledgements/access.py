"""Who may see and do what with acknowledgements: every decision of the pages, the API and
the services, named once. The role sets come from isms.roles."""

from django.db.models import QuerySet

from isms import roles
from isms.models import Department, PolicyRevision
from isms.roles import (
    AnyUser,
    can_publish_revision,
    departments_overseen,
    oversees_any_department,
    reads_citywide,
)

from .models import Acknowledgement, AcknowledgementCampaign


def can_follow_status(user: AnyUser) -> bool:
    """Department heads, section chiefs and the city-wide oversight roles follow who has
    acknowledged (the status pages, their CSV and the API's status)."""
    return oversees_any_department(user)


def can_change_deadline(user: AnyUser) -> bool:
    return can_publish_revision(user)


def can_read_receipt(user: AnyUser, acknowledgement: Acknowledgement) -> bool:
    """One's own receipts; any receipt for the city-wide oversight roles."""
    return acknowledgement.user_id == user.pk or reads_citywide(user)


def readable_revisions(user: AnyUser) -> QuerySet[PolicyRevision]:
    """Revisions the person may name (in the API): the others are "no such revision"."""
    return roles.readable_revisions(user)


def campaigns_visible_to(user: AnyUser) -> QuerySet[AcknowledgementCampaign]:
    """Campaigns whose status the person may follow: any, for those overseeing a department."""
    if not can_follow_status(user):
        return AcknowledgementCampaign.objects.none()
    return (
        AcknowledgementCampaign.objects.filter(
            revision__document__in=roles.visible_policy_documents(user)
        )
        .select_related("revision__document")
        .order_by("-opened_at")
    )


def sections_in_scope(user: AnyUser) -> QuerySet[Department]:
    """The units whose people the viewer sees on a status page."""
    return departments_overseen(user)
