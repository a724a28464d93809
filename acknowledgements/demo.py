"""Demo acknowledgements, added by `manage.py seed_demo` through isms.signals.demo_seeded:
part of each section's generated staff (staff-<section>-<n>) have acknowledged the open
campaign, a different share per section, so that the dashboard and the status pages have
something to compare. The demo's named accounts (staff.joho, …) still have it to do."""

from isms.models import DepartmentKind, User

from . import services
from .models import AcknowledgementCampaign


def share_done(index: int, of: int) -> int:
    """How many of a section's `of` generated staff have done it: varied, repeatable."""
    return min(of, (index * 5 + 2) % (of + 1))


def seed_demo_acknowledgements(sender, departments, users, **kwargs):
    campaign = (
        AcknowledgementCampaign.objects.filter(revision__document__code="security-standard")
        .select_related("revision")
        .order_by("-opened_at")
        .first()
    )
    if campaign is None:
        return
    sections = sorted(
        (unit for unit in departments.values() if unit.kind == DepartmentKind.SECTION),
        key=lambda unit: unit.code,
    )
    staff: dict[int, list[User]] = {}
    for user in User.objects.filter(username__startswith="staff-").order_by("username"):
        staff.setdefault(user.section_id, []).append(user)
    for index, section in enumerate(sections):
        mine = staff.get(section.pk, [])
        for user in mine[: share_done(index, len(mine))]:
            services.acknowledge(user, campaign.revision)
