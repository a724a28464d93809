"""The programme admin assigns and removes roles in the Django admin; permissions and the
audit trail follow through isms.roles."""

import pytest

from isms.models import AuditEvent, Role, RoleAssignment
from isms.roles import departments_overseen


@pytest.fixture
def superuser(people):
    user = people["admin"]
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def test_adding_a_role_in_the_admin_grants_the_department(client, superuser, people, org):
    client.force_login(superuser)
    response = client.post(
        "/admin/isms/roleassignment/add/",
        {
            "user": people["other_staff"].pk,
            "role": Role.SECTION_CHIEF,
            "department": org["gakko"].pk,
        },
    )
    assert response.status_code == 302
    assert set(departments_overseen(people["other_staff"]).values_list("code", flat=True)) == {
        "gakko"
    }
    assert AuditEvent.objects.filter(action="role.assigned", actor=superuser).exists()


def test_deleting_a_role_in_the_admin_revokes_the_department(client, superuser, people):
    client.force_login(superuser)
    assignment = RoleAssignment.objects.get(user=people["head"])
    response = client.post(f"/admin/isms/roleassignment/{assignment.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not departments_overseen(people["head"]).exists()
    assert AuditEvent.objects.filter(action="role.revoked", actor=superuser).exists()


def test_a_role_assignment_cannot_be_edited_in_place(client, superuser, people, org):
    client.force_login(superuser)
    assignment = RoleAssignment.objects.get(user=people["head"])
    client.post(
        f"/admin/isms/roleassignment/{assignment.pk}/change/",
        {"user": people["head"].pk, "role": Role.DEPARTMENT_HEAD, "department": org["kyoiku"].pk},
    )
    assignment.refresh_from_db()
    assert assignment.department == org["somu"]


@pytest.mark.parametrize("path", ["auditevent", "policyrevision"])
def test_compliance_records_are_read_only_in_the_admin(client, superuser, documents, path):
    client.force_login(superuser)
    assert client.get(f"/admin/isms/{path}/").status_code == 200
    assert client.get(f"/admin/isms/{path}/add/").status_code == 403


def test_people_without_admin_access_cannot_open_the_admin(client, people):
    client.force_login(people["ciso"])
    assert client.get("/admin/isms/roleassignment/").status_code == 302
