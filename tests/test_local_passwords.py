"""Local accounts (issue 10): who may still sign in with a portal password (LOCAL_PASSWORDS),
changing it, and resetting it by e-mail in the recipient's language, with no hint of who
has an account and a limit on how often a reset may be asked for."""

import re
import uuid

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from isms.models import AuditAction, AuditEvent, User

from .factories import PASSWORD
from .pages import main_text, page

NEW_PASSWORD = "a-much-longer-passphrase-42"


@pytest.fixture(autouse=True)
def own_cache(settings):
    """Reset-request counters of this test only (the Redis cache outlives test runs)."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    }


def log_in(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def signed_in(client):
    return client.get(reverse("account")).status_code == 200


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# Who may use a portal password ----------------------------------------------------------


def test_by_default_everyone_with_a_portal_password_signs_in_with_it(client, people):
    response = log_in(client, "staff_joho")
    assert response.status_code == 302
    assert signed_in(client)


def test_with_superusers_only_a_member_of_staff_is_told_the_portal_password_is_off(
    client, people, settings
):
    settings.LOCAL_PASSWORDS = "superusers"

    response = log_in(client, "staff_joho")

    assert response.status_code == 200
    shown = page(response).find(testid="local-password-off")
    assert shown is not None
    assert "ポータルのパスワードによるサインインは停止" in shown.text
    assert "正しくありません" not in main_text(response)
    # Nor is a reset offered to them.
    assert reverse("password_reset") not in response.content.decode()
    assert not signed_in(client)


def test_a_wrong_password_of_a_person_whose_portal_password_is_off_is_just_wrong(
    client, people, settings
):
    settings.LOCAL_PASSWORDS = "superusers"

    response = log_in(client, "staff_joho", "not-the-password-1")

    assert page(response).find(testid="local-password-off") is None
    assert "正しくありません" in main_text(response)


def test_the_break_glass_superuser_still_signs_in_with_the_portal_password(
    client, people, settings
):
    settings.LOCAL_PASSWORDS = "superusers"
    User.objects.filter(pk=people["admin"].pk).update(is_superuser=True)

    assert log_in(client, "admin").status_code == 302
    assert signed_in(client)
    (event,) = events(AuditAction.SIGNIN_SUCCEEDED)
    assert event.data == {"method": "local"}


def test_with_listed_only_the_listed_names_sign_in_with_a_portal_password(client, people, settings):
    settings.LOCAL_PASSWORDS = "listed"
    settings.LOCAL_PASSWORD_USERS = ["ciso"]
    User.objects.filter(pk=people["admin"].pk).update(is_superuser=True)

    assert log_in(client, "ciso").status_code == 302
    client.logout()
    assert log_in(client, "admin").status_code == 200
    assert not signed_in(client)


def test_a_session_begun_with_a_portal_password_ends_once_the_setting_switches_it_off(
    client, people, settings
):
    log_in(client, "staff_joho")
    assert signed_in(client)

    settings.LOCAL_PASSWORDS = "superusers"

    assert not signed_in(client)


def test_axes_still_locks_the_login_after_five_failures_even_for_the_right_password(client, people):
    for _ in range(5):
        log_in(client, "staff_joho", "wrong-guess-123")

    response = log_in(client, "staff_joho")

    assert response.status_code == 429
    assert not signed_in(client)


# Changing one's password ----------------------------------------------------------------


def test_a_person_changes_their_password_and_their_other_sessions_are_signed_out(client, people):
    elsewhere = Client()
    log_in(elsewhere, "staff_joho")
    log_in(client, "staff_joho")

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    assert "その他のセッションはサインアウト" in main_text(client.get(response["Location"]))
    assert signed_in(client)
    assert not signed_in(elsewhere)
    (event,) = events(AuditAction.PASSWORD_CHANGED)
    assert event.actor == people["staff"]
    (ended,) = events(AuditAction.SESSIONS_ENDED)
    assert ended.data == {"scope": "password_changed", "sessions": 1}
    client.logout()
    assert log_in(client, "staff_joho", NEW_PASSWORD).status_code == 302


def test_a_new_password_the_validators_refuse_is_shown_as_a_field_error(client, people):
    client.force_login(people["staff"])

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )

    assert response.status_code == 200
    errors = [e.text for e in page(response).find_all("p", cls="error")]
    assert any("短すぎ" in error for error in errors), errors
    assert events(AuditAction.PASSWORD_CHANGED) == []
    people["staff"].refresh_from_db()
    assert people["staff"].check_password(PASSWORD)


def test_a_wrong_old_password_changes_nothing(client, people):
    client.force_login(people["staff"])

    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert page(response).find("p", cls="error") is not None
    people["staff"].refresh_from_db()
    assert people["staff"].check_password(PASSWORD)


def test_a_person_without_a_portal_password_gets_no_password_change(client, people):
    staff = people["staff"]
    staff.set_unusable_password()
    staff.save()
    client.force_login(staff)

    account = client.get(reverse("account"))
    assert page(account).find(testid="password-change-link") is None
    assert page(account).find(testid="no-local-password") is not None
    assert client.get(reverse("password_change")).status_code == 403


# Resetting it by e-mail -----------------------------------------------------------------


def with_email(person, email, language="ja"):
    User.objects.filter(pk=person.pk).update(email=email, language=language)
    person.refresh_from_db()
    return person


def ask_reset(client, email, **extra):
    return client.post(reverse("password_reset"), {"email": email}, **extra)


def reset_link(message):
    return re.search(r"https?://\S+(/accounts/password/reset/\S+/)", message.body).group(1)


def test_a_reset_mail_in_the_recipients_language_sets_a_new_password(client, people):
    staff = with_email(people["staff"], "staff@city.example.jp", language="en")
    elsewhere = Client()
    log_in(elsewhere, "staff_joho")

    response = ask_reset(client, "staff@city.example.jp")

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    (message,) = mail.outbox
    assert message.to == ["staff@city.example.jp"]
    assert message.subject == "Information security portal: reset your password"
    assert "To set a new password, open this link" in message.body
    assert message.body.count("http://localhost:8000/accounts/password/reset/") == 1

    form_page = client.get(reset_link(message), follow=True)
    assert page(form_page).find(testid="invalid-link") is None
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_complete")
    staff.refresh_from_db()
    assert staff.check_password(NEW_PASSWORD)
    (event,) = events(AuditAction.PASSWORD_RESET)
    assert event.actor == staff
    assert not signed_in(elsewhere)
    assert log_in(client, "staff_joho", NEW_PASSWORD).status_code == 302
    # The link works once.
    assert page(client.get(reset_link(message), follow=True)).find(testid="invalid-link")


def test_the_reset_mail_is_in_japanese_for_a_japanese_reader(client, people):
    with_email(people["chief"], "chief@city.example.jp", language="ja")

    ask_reset(client, "chief@city.example.jp")

    (message,) = mail.outbox
    assert message.subject == "情報セキュリティポータル：パスワードの再設定"
    assert "新しいパスワードを設定するには" in message.body


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, people):
    with_email(people["staff"], "staff@city.example.jp")

    known = ask_reset(client, "staff@city.example.jp")
    unknown = ask_reset(client, "nobody@city.example.jp")

    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert [m.to for m in mail.outbox] == [["staff@city.example.jp"]]


def test_people_without_a_portal_password_get_no_reset_mail(client, people, settings):
    directory = with_email(people["staff"], "staff@city.example.jp")
    directory.set_unusable_password()
    directory.save()
    with_email(people["chief"], "chief@city.example.jp")
    settings.LOCAL_PASSWORDS = "superusers"

    for address in ("staff@city.example.jp", "chief@city.example.jp"):
        response = ask_reset(client, address)
        assert response["Location"] == reverse("password_reset_done")

    assert mail.outbox == []


def test_a_link_mailed_before_the_portal_password_was_switched_off_no_longer_works(
    client, people, settings
):
    with_email(people["staff"], "staff@city.example.jp")
    ask_reset(client, "staff@city.example.jp")
    settings.LOCAL_PASSWORDS = "superusers"

    shown = client.get(reset_link(mail.outbox[0]), follow=True)

    assert page(shown).find(testid="invalid-link") is not None


def test_reset_requests_for_one_address_are_limited(client, people, settings):
    settings.PASSWORD_RESET_PER_ADDRESS = 2
    with_email(people["staff"], "staff@city.example.jp")

    answers = [ask_reset(client, "Staff@City.example.jp").status_code for _ in range(3)]

    assert answers == [302, 302, 429]
    assert len(mail.outbox) == 2
    refused = ask_reset(client, "staff@city.example.jp")
    assert "リクエストが多すぎ" in main_text(refused)
    # What was typed is kept.
    assert page(refused).find("input", name="email").attrs["value"] == "staff@city.example.jp"
    # An unknown address is counted the same way: the limit says nothing about accounts.
    assert [ask_reset(client, "x@city.example.jp").status_code for _ in range(3)][-1] == 429


def test_reset_requests_from_one_client_address_are_limited(client, people, settings):
    settings.PASSWORD_RESET_PER_IP = 3

    answers = [ask_reset(client, f"p{n}@city.example.jp").status_code for n in range(4)]
    other_address = ask_reset(client, "p9@city.example.jp", REMOTE_ADDR="10.1.2.3")

    assert answers == [302, 302, 302, 429]
    assert other_address.status_code == 302


def test_an_invalid_address_is_a_field_error_with_the_input_kept(client, people):
    response = ask_reset(client, "not an address")

    assert response.status_code == 200
    assert page(response).find("p", cls="error") is not None
    assert page(response).find("input", name="email").attrs["value"] == "not an address"


def test_the_login_page_offers_the_reset(client, people):
    response = client.get(reverse("login"))
    assert page(response).find("a", href=reverse("password_reset")) is not None
