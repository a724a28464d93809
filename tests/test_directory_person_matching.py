"""Who a directory or identity-provider sign-in is in the portal (isms.accounts, issue 10):
matched by staff number, then by login name; attributes updated; unknown people refused
unless the setting allows them."""

import pytest

from isms.accounts import DirectoryPerson, SignInRefused, person_for_sign_in
from isms.models import User


def test_a_person_is_found_by_staff_number_even_under_a_new_login_name(people):
    staff = people["staff"]
    staff.staff_number = "100234"
    staff.save()
    found = DirectoryPerson(username="joho.taro", staff_number="100234", email="t@city.example")
    assert person_for_sign_in(found, source="ldap") == staff
    staff.refresh_from_db()
    assert staff.email == "t@city.example"
    assert staff.username == "staff_joho"  # the portal's login name stays


def test_a_person_without_staff_number_is_found_by_login_name_and_gets_it(people):
    found = DirectoryPerson(username="staff_joho", staff_number="100235", display_name="情報 太郎")
    person = person_for_sign_in(found, source="oidc")
    assert person == people["staff"]
    person.refresh_from_db()
    assert (person.staff_number, person.display_name) == ("100235", "情報 太郎")


def test_the_directory_section_code_moves_the_person_to_that_section(people, org):
    found = DirectoryPerson(username="staff_joho", section_code=org["somuka"].code)
    assert person_for_sign_in(found, source="ldap").section == org["somuka"]


def test_an_unknown_section_code_leaves_the_section_as_it_was(people, org):
    found = DirectoryPerson(username="staff_joho", section_code="no-such-unit")
    assert person_for_sign_in(found, source="ldap").section == org["joho"]


def test_a_login_name_held_under_another_staff_number_is_refused(people):
    staff = people["staff"]
    staff.staff_number = "100234"
    staff.save()
    with pytest.raises(SignInRefused):
        person_for_sign_in(
            DirectoryPerson(username="staff_joho", staff_number="999999"), source="ldap"
        )


def test_an_unknown_person_is_refused_by_default(db):
    with pytest.raises(SignInRefused):
        person_for_sign_in(DirectoryPerson(username="stranger", staff_number="1"), source="ldap")
    assert not User.objects.filter(username="stranger").exists()


def test_an_unknown_person_is_created_without_a_password_when_the_setting_allows(db, settings):
    settings.SIGNIN_CREATE_UNKNOWN_PEOPLE = True
    person = person_for_sign_in(
        DirectoryPerson(username="newcomer", staff_number="200001"), source="oidc"
    )
    assert (person.username, person.staff_number) == ("newcomer", "200001")
    assert not person.has_usable_password()


def test_a_person_deactivated_in_the_portal_is_refused(people):
    staff = people["staff"]
    staff.is_active = False
    staff.save()
    with pytest.raises(SignInRefused):
        person_for_sign_in(DirectoryPerson(username="staff_joho"), source="ldap")
