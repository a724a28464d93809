"""Signing in with the city's directory (issue 10): the real login page against a real
OpenLDAP server (tests/ldap_server.py), the directory's password, the person matched and
updated as isms.accounts says, a disabled directory account refused, roles from directory
groups, and a directory that is down or hangs, when local accounts still sign in."""

import json
import os
import subprocess
import sys
import time

from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from isms import ldap_signin
from isms.models import AuditAction, AuditEvent, DirectoryRoleGrant, Role, RoleAssignment, User
from isms.roles import assign_role

from .factories import PASSWORD
from .ldap_server import (
    AUDITORS,
    CHIEFS,
    DIRECTORY_PASSWORD,
    PEOPLE,
    SERVICE_DN,
    SERVICE_PASSWORD,
    hung,
    stopped,
)

BACKEND = "isms.ldap_signin.DirectoryBackend"
LOCAL_BACKEND = "isms.local_signin.LocalPasswordBackend"


def sign_in(client, username, password=DIRECTORY_PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def signed_in_as(client):
    response = client.get(reverse("home"))
    return response.wsgi_request.user if response.wsgi_request.user.is_authenticated else None


def in_japanese(message):
    with translation.override("ja"):
        return escape(str(message))


def failures():
    return [event.data for event in AuditEvent.objects.filter(action=AuditAction.SIGNIN_FAILED)]


def test_a_member_of_staff_signs_in_on_the_login_page_with_their_directory_password(
    client, directory, people
):
    response = sign_in(client, "staff_joho")
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert signed_in_as(client) == people["staff"]
    assert client.session["_auth_user_backend"] == BACKEND


def test_the_directory_password_is_not_the_portal_password_nor_the_other_way_round(
    client, directory, people
):
    response = sign_in(client, "staff_joho", "not-the-directory-password")
    assert response.status_code == 200
    assert "sign-in-problem" not in response.content.decode()
    assert signed_in_as(client) is None


def test_the_directory_attributes_update_the_person(client, directory, people, org):
    sign_in(client, "staff_joho")
    staff = User.objects.get(pk=people["staff"].pk)
    assert staff.display_name == "情報 太郎"
    assert staff.email == "staff_joho@city.example"
    assert staff.staff_number == "100234"
    assert staff.section == org["joho"]


def test_a_person_is_matched_by_staff_number_under_another_login_name(
    client, directory, people, org
):
    chief = people["chief"]
    chief.staff_number = "100777"
    chief.save()
    sign_in(client, "somu.hanako")
    assert signed_in_as(client) == chief
    chief.refresh_from_db()
    assert chief.username == "chief_joho"
    assert (chief.display_name, chief.section) == ("総務 花子", org["somuka"])


def test_a_person_without_staff_number_in_the_directory_is_matched_by_login_name(
    client, directory, people, org
):
    before = people["other_staff"].email
    sign_in(client, "staff_kyoiku")
    person = signed_in_as(client)
    assert person == people["other_staff"]
    person.refresh_from_db()
    assert person.staff_number is None
    assert person.email == before  # the directory gives none: the portal's stays
    assert person.display_name == "教育 次郎"


def test_a_person_the_portal_does_not_know_is_refused_with_words_saying_so(client, directory, db):
    response = sign_in(client, "newcomer")
    assert response.status_code == 200
    page = response.content.decode()
    assert in_japanese(ldap_signin.NOT_REGISTERED) in page
    assert "ディレクトリのアカウントはポータルに登録されていません" in page
    assert signed_in_as(client) is None
    assert not User.objects.filter(username="newcomer").exists()
    assert failures() == [
        {"username": "newcomer", "reason": "not in the portal's personnel records"}
    ]


def test_the_refusal_reads_in_english_for_someone_who_chose_english(client, directory, db):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    response = sign_in(client, "newcomer")
    assert "Your directory account is not registered in the portal." in response.content.decode()


def test_a_person_the_portal_does_not_know_is_created_when_the_setting_allows(
    client, directory, settings, org
):
    settings.SIGNIN_CREATE_UNKNOWN_PEOPLE = True
    sign_in(client, "newcomer")
    person = signed_in_as(client)
    assert person.username == "newcomer"
    assert (person.staff_number, person.section) == ("300001", org["joho"])
    assert not person.has_usable_password()


def test_an_account_the_directory_disabled_is_refused(client, directory, settings, db):
    settings.SIGNIN_CREATE_UNKNOWN_PEOPLE = True
    response = sign_in(client, "left.city")
    assert in_japanese(ldap_signin.DISABLED) in response.content.decode()
    assert signed_in_as(client) is None
    assert not User.objects.filter(username="left.city").exists()
    assert failures() == [{"username": "left.city", "reason": "directory account disabled"}]


def test_an_account_active_directory_disabled_in_user_account_control_is_refused(
    client, directory, settings, db
):
    settings.SIGNIN_CREATE_UNKNOWN_PEOPLE = True
    settings.LDAP_DISABLED_FILTER = ""  # bit 0x2 of userAccountControl alone says so
    response = sign_in(client, "ad.disabled")
    assert in_japanese(ldap_signin.DISABLED) in response.content.decode()
    assert signed_in_as(client) is None
    # userAccountControl 512 (a normal account) is not disabled.
    sign_in(client, "ad.enabled")
    assert signed_in_as(client).username == "ad.enabled"


def test_search_then_bind_with_a_service_account_signs_in(client, directory, settings, people):
    settings.LDAP_USER_DN_TEMPLATE = ""
    settings.LDAP_BIND_DN = SERVICE_DN
    settings.LDAP_BIND_PASSWORD = SERVICE_PASSWORD
    settings.LDAP_USER_SEARCH_BASE = PEOPLE
    settings.LDAP_USER_SEARCH_FILTER = "(uid=%(user)s)"
    sign_in(client, "staff_joho")
    assert signed_in_as(client) == people["staff"]
    client.logout()
    sign_in(client, "staff_joho", "not-the-directory-password")
    assert signed_in_as(client) is None


def test_a_directory_sign_in_is_recorded_with_the_method_ldap(client, directory, people):
    sign_in(client, "staff_joho")
    (event,) = AuditEvent.objects.filter(action=AuditAction.SIGNIN_SUCCEEDED)
    assert event.actor == people["staff"]
    assert event.data == {"method": "ldap"}


def test_a_person_deactivated_in_the_portal_loses_their_directory_session(
    client, directory, people
):
    sign_in(client, "staff_joho")
    User.objects.filter(pk=people["staff"].pk).update(is_active=False)
    assert signed_in_as(client) is None
    response = sign_in(client, "staff_joho")
    assert in_japanese(ldap_signin.NOT_REGISTERED) in response.content.decode()


def test_when_the_directory_is_down_the_page_says_so_and_the_local_admin_still_signs_in(
    client, directory, people
):
    with stopped(directory):
        response = sign_in(client, "staff_joho")
        assert response.status_code == 200
        page = response.content.decode()
        assert in_japanese(ldap_signin.UNREACHABLE) in page
        assert "市のディレクトリにいま接続できません" in page
        assert signed_in_as(client) is None
        assert failures() == [{"username": "staff_joho", "reason": "directory unreachable"}]

        response = sign_in(client, "admin", PASSWORD)
        assert response.status_code == 302
        assert signed_in_as(client) == people["admin"]
        event = AuditEvent.objects.get(action=AuditAction.SIGNIN_SUCCEEDED)
        assert event.data == {"method": "local"}
    # Back up: the directory signs people in again.
    client.logout()
    sign_in(client, "staff_joho")
    assert signed_in_as(client) == people["staff"]


def test_a_directory_that_hangs_costs_a_sign_in_seconds_not_minutes(
    client, directory, settings, people
):
    settings.LDAP_TIMEOUT_SECONDS = 1
    with hung(directory):
        started = time.monotonic()
        response = sign_in(client, "staff_joho")
        assert time.monotonic() - started < 10
        assert in_japanese(ldap_signin.UNREACHABLE) in response.content.decode()
        sign_in(client, "admin", PASSWORD)
        assert signed_in_as(client) == people["admin"]


def test_directory_groups_give_roles_and_take_back_only_those_they_gave(
    client, directory, people, org
):
    person = people["staff_somuka"]
    sign_in(client, "staff_somuka")
    assert signed_in_as(client) == person
    held = set(person.role_assignments.values_list("role", "department"))
    assert held == {(Role.AUDITOR, None), (Role.SECTION_CHIEF, org["somuka"].pk)}
    # Through isms.roles: the department permissions and the audit trail follow.
    assert person.has_perm("view_compliance", org["somuka"])
    assigned = AuditEvent.objects.filter(
        action=AuditAction.ROLE_ASSIGNED, data__user=person.username
    )
    assert {event.data["role"] for event in assigned} == {"auditor", "section_chief"}
    assert DirectoryRoleGrant.objects.filter(assignment__user=person).count() == 2

    # The role page makes them head of 総務部 by hand too: the directory never takes that.
    assign_role(person, Role.DEPARTMENT_HEAD, org["somu"], by=people["admin"])
    leave = f"""dn: {{group}}
changetype: modify
delete: member
member: uid=staff_somuka,{PEOPLE}
"""
    rejoin = leave.replace("delete:", "add:")
    for group in (AUDITORS, CHIEFS):
        directory.ldapmodify(leave.format(group=group))
    try:
        client.logout()
        sign_in(client, "staff_somuka")
        assert signed_in_as(client) == person
    finally:
        for group in (AUDITORS, CHIEFS):
            directory.ldapmodify(rejoin.format(group=group))
    held = set(person.role_assignments.values_list("role", "department"))
    assert held == {(Role.DEPARTMENT_HEAD, org["somu"].pk)}
    revoked = AuditEvent.objects.filter(action=AuditAction.ROLE_REVOKED, data__user=person.username)
    assert {event.data["role"] for event in revoked} == {"auditor", "section_chief"}


def test_a_role_given_by_hand_is_never_taken_back_by_the_directory(client, directory, people, org):
    person = people["staff_somuka"]
    assign_role(person, Role.AUDITOR, by=people["admin"])
    sign_in(client, "staff_somuka")
    # The directory gives the role it maps that the person lacked, and claims none held.
    assert DirectoryRoleGrant.objects.get(assignment__user=person).assignment.role == (
        Role.SECTION_CHIEF
    )
    leave = (
        f"dn: {AUDITORS}\nchangetype: modify\ndelete: member\nmember: uid=staff_somuka,{PEOPLE}\n"
    )
    directory.ldapmodify(leave)
    try:
        client.logout()
        sign_in(client, "staff_somuka")
    finally:
        directory.ldapmodify(leave.replace("delete:", "add:"))
    assert RoleAssignment.objects.filter(user=person, role=Role.AUDITOR).exists()


def test_without_a_directory_nothing_changes(db):
    # The test settings, like the demo, set no LDAP_SERVER_URI.
    assert django_settings.LDAP_SERVER_URI == ""
    assert BACKEND not in django_settings.AUTHENTICATION_BACKENDS


def test_start_tls_with_the_city_ca_signs_in(client, directory, settings, people):
    settings.LDAP_START_TLS = True
    settings.LDAP_CA_FILE = directory.cafile
    sign_in(client, "staff_joho")
    assert signed_in_as(client) == people["staff"]


def test_a_directory_whose_certificate_the_ca_file_does_not_vouch_for_is_not_trusted(
    client, directory, settings, people
):
    settings.LDAP_START_TLS = True
    settings.LDAP_CA_FILE = "/etc/ssl/certs/ca-certificates.crt"
    response = sign_in(client, "staff_joho")
    assert signed_in_as(client) is None
    assert in_japanese(ldap_signin.UNREACHABLE) in response.content.decode()


def test_a_login_name_with_filter_characters_finds_nobody(client, directory, settings, db):
    settings.LDAP_USER_DN_TEMPLATE = ""
    settings.LDAP_BIND_DN = SERVICE_DN
    settings.LDAP_BIND_PASSWORD = SERVICE_PASSWORD
    for name in ("*", "staff_*", "staff_joho)(uid=*"):
        sign_in(client, name)
        assert signed_in_as(client) is None


def test_the_directory_is_switched_on_by_ldap_server_uri_alone():
    def settings_with(**environment):
        script = (
            "import json; from isms.settings import base; "
            "print(json.dumps([base.AUTHENTICATION_BACKENDS, base.LDAP_GROUP_ROLES]))"
        )
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("LDAP_") and key != "DJANGO_SETTINGS_MODULE"
        }
        result = subprocess.run(
            [sys.executable, "-c", script],
            env={**env, **environment},
            capture_output=True,
            text=True,
            check=True,
            cwd=django_settings.BASE_DIR,
        )
        return json.loads(result.stdout)

    backends, roles = settings_with()
    assert BACKEND not in backends and roles == {}
    backends, roles = settings_with(
        LDAP_SERVER_URI="ldaps://dc1.city.local",
        LDAP_GROUP_ROLES=f"{AUDITORS}=auditor; {CHIEFS}=section_chief",
    )
    assert backends.index(BACKEND) == backends.index(LOCAL_BACKEND) - 1
    assert roles == {AUDITORS: "auditor", CHIEFS: "section_chief"}


def test_a_group_mapped_to_no_such_role_gives_nothing_and_says_so_in_the_log(
    client, directory, settings, people, caplog
):
    settings.LDAP_GROUP_ROLES = {AUDITORS: "emperor"}
    sign_in(client, "staff_somuka")
    assert signed_in_as(client) == people["staff_somuka"]
    assert not people["staff_somuka"].role_assignments.exists()
    assert "'emperor', which is not a role" in caplog.text
