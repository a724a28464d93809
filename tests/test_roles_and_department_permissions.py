import pytest

from isms.models import AuditEvent, DepartmentUserObjectPermission, Role, RoleAssignment
from isms.roles import assign_role, departments_overseen, revoke_role, sync_department_permissions

from .factories import UserFactory


def codes(queryset):
    return set(queryset.values_list("code", flat=True))


def test_a_department_head_oversees_the_department_and_every_section_below_it(people):
    assert codes(departments_overseen(people["head"])) == {"somu", "joho", "somuka"}


def test_a_section_chief_oversees_only_the_section(people):
    assert codes(departments_overseen(people["chief"])) == {"joho"}


def test_staff_oversee_nothing(people):
    assert not departments_overseen(people["staff"]).exists()


@pytest.mark.parametrize("role", ["auditor", "ciso", "admin"])
def test_the_cisos_office_and_auditors_oversee_the_whole_city(people, org, role):
    assert codes(departments_overseen(people[role])) == {d.code for d in org.values()}


def test_oversight_is_a_sql_subquery_not_a_list_of_ids(people):
    sql = str(departments_overseen(people["head"]).query)
    assert sql.count("SELECT") > 1
    assert "guardian" in sql or "departmentuserobjectpermission" in sql.lower()


def test_assigning_a_role_grants_the_department_permission_and_is_audited(org, people):
    user = UserFactory(username="new_head", section=org["gakko"])
    assign_role(user, Role.DEPARTMENT_HEAD, org["kyoiku"], by=people["admin"])
    assert codes(departments_overseen(user)) == {"kyoiku", "gakko"}
    event = AuditEvent.objects.get(action="role.assigned", data__user="new_head")
    assert event.actor == people["admin"]
    assert AuditEvent.objects.filter(action="permissions.synced", target_id=str(user.pk)).exists()


def test_revoking_the_role_takes_the_permission_away(org, people):
    head = people["head"]
    assignment = RoleAssignment.objects.get(user=head, role=Role.DEPARTMENT_HEAD)
    revoke_role(assignment, by=people["admin"])
    assert not departments_overseen(head).exists()
    assert not DepartmentUserObjectPermission.objects.filter(user=head).exists()
    assert AuditEvent.objects.filter(action="role.revoked", data__user="head_somu").exists()


def test_a_grant_made_behind_the_services_back_is_removed_on_the_next_sync(org, people):
    from guardian.shortcuts import assign_perm

    staff = people["staff"]
    assign_perm("isms.view_compliance", staff, org["kyoiku"])
    assert departments_overseen(staff).exists()
    sync_department_permissions(staff)
    assert not departments_overseen(staff).exists()


def test_assigning_the_same_role_twice_keeps_one_assignment(org, people):
    assign_role(people["head"], Role.DEPARTMENT_HEAD, org["somu"])
    assert RoleAssignment.objects.filter(user=people["head"]).count() == 1


def test_a_citywide_role_cannot_be_tied_to_a_department(org, people):
    with pytest.raises(ValueError):
        assign_role(people["staff"], Role.AUDITOR, org["somu"])
    with pytest.raises(ValueError):
        assign_role(people["staff"], Role.SECTION_CHIEF, None)


@pytest.mark.parametrize("persona", ["head", "chief"])
def test_each_list_reads_the_persons_permission_rows_once_and_uncorrelated(people, persona):
    from assets.access import visible_assets
    from audits.access import answering_departments, visible_findings, visible_inspections

    user = people[persona]
    for queryset in (
        departments_overseen(user),
        answering_departments(user),
        visible_findings(user),
        visible_inspections(user),
        visible_assets(user),
    ):
        sql = str(queryset.query).lower()
        assert sql.count("departmentuserobjectpermission") == 1, sql
        assert "exists" not in sql, sql
