"""A role given or taken away takes effect at once, also on the user object a request has
already asked about: assign_role() and revoke_role() forget every answer cached on it
(isms.memo, which keeps the roles read once per request), the asset register's and the
audits' as well as the core's (issue 9, "Roles and access in one vocabulary")."""

from assets.access import can_manage_any, visible_assets
from audits.access import runs_cycles, uses_audits, visible_findings
from isms.models import Role, RoleAssignment
from isms.roles import (
    assign_role,
    oversees_any_department,
    revoke_role,
    sync_department_permissions,
)


def test_a_member_of_staff_made_section_chief_manages_assets_at_once(org, people):
    staff = people["staff"]
    assert not can_manage_any(staff)
    assert not oversees_any_department(staff)

    assign_role(staff, Role.SECTION_CHIEF, org["joho"], by=people["admin"])

    assert can_manage_any(staff)
    assert oversees_any_department(staff)


def test_a_section_chief_whose_role_is_revoked_manages_no_assets_at_once(people):
    chief = people["chief"]
    assert can_manage_any(chief)
    assert oversees_any_department(chief)

    revoke_role(chief.role_assignments.get(), by=people["admin"])

    assert not can_manage_any(chief)
    assert not oversees_any_department(chief)


def test_a_member_of_staff_made_department_head_uses_audits_at_once(org, people):
    staff = people["staff_somuka"]
    assert not uses_audits(staff)

    assign_role(staff, Role.DEPARTMENT_HEAD, org["somu"], by=people["admin"])

    assert uses_audits(staff)


def test_a_member_of_staff_made_auditor_runs_cycles_at_once(people):
    staff = people["staff"]
    assert not uses_audits(staff)
    assert not runs_cycles(staff)

    assign_role(staff, Role.AUDITOR, by=people["admin"])

    assert uses_audits(staff)
    assert runs_cycles(staff)


def test_an_auditor_whose_role_is_revoked_no_longer_uses_audits_nor_reads_every_asset(
    register, people
):
    auditor = people["auditor"]
    assert uses_audits(auditor)
    every_asset = visible_assets(auditor).count()

    revoke_role(auditor.role_assignments.get(), by=people["admin"])

    assert not uses_audits(auditor)
    assert not runs_cycles(auditor)
    assert visible_assets(auditor).count() < every_asset


def test_the_cisos_office_losing_its_role_no_longer_uses_audits(people):
    ciso = people["ciso"]
    assert uses_audits(ciso)

    revoke_role(ciso.role_assignments.get(), by=people["admin"])

    assert not uses_audits(ciso)
    assert not visible_findings(ciso).exists()


def test_resynchronising_the_permissions_forgets_the_cached_answers(org, people):
    staff = people["staff"]
    assert not can_manage_any(staff)
    # A role row written behind isms.roles' back (a data migration, say) counts once the
    # permissions are synchronised.
    RoleAssignment.objects.create(user=staff, role=Role.SECTION_CHIEF, department=org["joho"])

    sync_department_permissions(staff)

    assert can_manage_any(staff)
