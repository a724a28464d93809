"""Who may see and do what with acknowledgements: every decision of the pages, the API and
the services, named once. The role sets come from isms.roles."""

from isms.models import PolicyDocument, PolicyRevision
from isms.roles import (
    CITYWIDE_OVERSIGHT_ROLES,
    can_publish_revision,
    departments_overseen,
    oversees_any_department,
)

from .models import AcknowledgementCampaign


def can_follow_status(user):
    """Department heads, section chiefs and the city-wide oversight roles follow who has
    acknowledged (the status pages, their CSV and the API's status)."""
    return oversees_any_department(user)


def can_change_deadline(user):
    return can_publish_revision(user)


def can_read_receipt(user, acknowledgement):
    """One's own receipts; any receipt for the city-wide oversight roles."""
    return acknowledgement.user_id == user.pk or (
        user.is_authenticated and user.has_global_role(*CITYWIDE_OVERSIGHT_ROLES)
    )


def readable_revisions(user):
    """Revisions the person may name (in the API): the others are "no such revision"."""
    return PolicyRevision.objects.readable_by(user)


def campaigns_visible_to(user):
    """Campaigns whose status the person may follow: any, for those overseeing a department."""
    if not can_follow_status(user):
        return AcknowledgementCampaign.objects.none()
    return (
        AcknowledgementCampaign.objects.filter(
            revision__document__in=PolicyDocument.objects.visible_to(user)
        )
        .select_related("revision__document")
        .order_by("-opened_at")
    )


def sections_in_scope(user):
    """The units whose people the viewer sees on a status page."""
    return departments_overseen(user)
