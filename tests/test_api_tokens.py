"""API tokens: hashed at rest, named, expiring, several per person, listed and revoked on
the API tokens page and through /api/tokens/, and revoked when the password changes, when
the account is deactivated and when a role is removed."""

import datetime
import logging

import pytest
from django.contrib.auth.forms import PasswordChangeForm
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from isms import roles, second_factor, tokens
from isms.models import ApiToken, AuditAction, AuditEvent, Role, RoleAssignment

from .conftest import PASSWORD, ROLES
from .pages import is_login_redirect, messages, page

PAGE = "/accounts/tokens/"
API = "/api/tokens/"
ONE_DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def mfa_off(settings):
    # The rules of the second factor are tested below, with it switched on (mfa_on).
    settings.MFA_ENABLED = False


@pytest.fixture
def api_as(people):
    """api_as("head") -> an API client with a token of that persona issued through the
    service (isms/tokens.py), or anonymous."""

    def make(role):
        client = APIClient()
        if role != "anonymous":
            _token, key = tokens.issue_token(people[role], name=f"tests ({role})")
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


def caller(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key):
    return caller(key).get("/api/me/").status_code == 200


def issue(user, name="集計スクリプト", **kwargs):
    return tokens.issue_token(user, name=name, **kwargs)


# --- hashed at rest, shown once -------------------------------------------------------


def test_only_the_hash_of_a_key_is_stored_and_the_key_is_nowhere_in_the_audit_trail(people, caplog):
    caplog.set_level(logging.DEBUG)
    token, key = issue(people["staff"])
    assert works(key)
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in str(stored)
    assert stored["key_hash"] == tokens.key_hash(key)
    assert key.startswith(stored["prefix"]) and len(stored["prefix"]) < len(key) / 4
    trail = str(list(AuditEvent.objects.values()))
    assert key not in trail
    assert key not in caplog.text


def test_the_page_shows_the_key_once_after_issuing_and_never_again(as_role, people):
    client = as_role("staff")
    response = client.post(PAGE, {"name": "週次レポート", "lifetime_days": "30"})
    assert response.status_code == 200
    key = page(response).find(testid="token-key").text
    assert works(key)
    token = ApiToken.objects.get(user=people["staff"])
    assert token.name == "週次レポート"
    assert token.expires_at - token.created_at == datetime.timedelta(days=30)
    listed = client.get(PAGE)
    assert key not in listed.content.decode()
    assert token.prefix in page(listed).find(testid="tokens").text


def test_the_api_shows_the_key_once_in_the_answer_to_issuing(api_as, people):
    api = api_as("staff")
    response = api.post(API, {"name": "夜間バッチ", "lifetime_days": 7}, format="json")
    assert response.status_code == 201
    data = response.json()
    assert works(data["key"])
    assert data["name"] == "夜間バッチ" and data["is_active"] is True
    listed = api.get(API).json()["results"]
    assert data["key"] not in str(listed)
    assert all("key" not in row and "key_hash" not in row for row in listed)
    assert api.get(f"{API}{data['id']}/").json()["prefix"] == data["key"][:8]


# --- several per person, each with a name -----------------------------------------------


def test_a_person_holds_several_named_tokens_listed_on_the_page_and_by_the_api(as_role, people):
    for name in ("勤怠連携", "資産棚卸", "報告書出力"):
        issue(people["chief"], name=name)
    issue(people["staff"], name="他人のトークン")
    shown = page(as_role("chief").get(PAGE)).find(testid="tokens").text
    assert all(name in shown for name in ("勤怠連携", "資産棚卸", "報告書出力"))
    assert "他人のトークン" not in shown
    api = APIClient()
    api.force_authenticate(people["chief"])
    names = [row["name"] for row in api.get(API).json()["results"]]
    assert names == ["報告書出力", "資産棚卸", "勤怠連携"]


def test_a_token_needs_a_name(api_as):
    response = api_as("staff").post(API, {"name": "  "}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_a_person_cannot_hold_more_than_the_limit_of_unexpired_tokens(people, settings, api_as):
    settings.API_TOKEN_MAX_PER_PERSON = 3
    api = api_as("staff")  # holds one already
    for _n in range(2):
        issue(people["staff"])
    response = api.post(API, {"name": "四つ目"}, format="json")
    assert response.status_code == 400
    assert ApiToken.objects.filter(user=people["staff"]).count() == 3


# --- expiry ---------------------------------------------------------------------------


def test_a_token_lasts_the_default_lifetime_unless_asked_for_less(people, settings):
    settings.API_TOKEN_LIFETIME_DAYS = 90
    token, _key = issue(people["staff"])
    assert token.expires_at - token.created_at == datetime.timedelta(days=90)
    shorter, _key = issue(people["staff"], lifetime=datetime.timedelta(days=5))
    assert shorter.expires_at - shorter.created_at == datetime.timedelta(days=5)


@pytest.mark.parametrize("days", ["0", "366", "-1", "²"])
def test_a_lifetime_beyond_the_maximum_or_below_a_day_is_refused_on_the_page(as_role, people, days):
    response = as_role("staff").post(PAGE, {"name": "長すぎる", "lifetime_days": days})
    assert response.status_code == 400
    assert page(response).find(cls="error")
    assert not ApiToken.objects.filter(user=people["staff"]).exists()


@pytest.mark.parametrize("days", [0, 366])
def test_a_lifetime_beyond_the_maximum_is_refused_by_the_api(api_as, people, days):
    response = api_as("staff").post(API, {"name": "長すぎる", "lifetime_days": days}, format="json")
    assert response.status_code == 400
    assert "lifetime_days" in response.json()


def test_the_service_refuses_a_lifetime_beyond_the_maximum(people, settings):
    settings.API_TOKEN_MAX_LIFETIME_DAYS = 30
    with pytest.raises(tokens.ValidationError):
        issue(people["staff"], lifetime=datetime.timedelta(days=31))


def test_an_expired_token_is_refused_with_401_and_says_it_has_expired(people):
    token, key = issue(people["staff"])
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - ONE_DAY)
    api = caller(key)
    api.cookies["django_language"] = "en"
    response = api.get("/api/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "expired" in response.json()["detail"]


def test_an_expired_token_says_so_in_japanese_too(people):
    token, key = issue(people["staff"])
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - ONE_DAY)
    response = caller(key).get("/api/me/")  # Japanese, the default
    assert response.status_code == 401
    assert "有効期限" in response.json()["detail"]


def test_last_used_is_written_at_most_once_a_minute(people):
    token, key = issue(people["staff"])
    api = caller(key)
    assert api.get("/api/me/").status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/me/").status_code == 200
    assert not [q for q in queries if q["sql"].startswith("UPDATE")]
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - datetime.timedelta(minutes=2))
    assert api.get("/api/me/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > first


# --- revoked by their owner -------------------------------------------------------------


def test_revoking_on_the_page_stops_the_token_and_keeps_it_listed_as_revoked(as_role, people):
    token, key = issue(people["staff"], name="古いスクリプト")
    client = as_role("staff")
    response = client.post(f"{PAGE}{token.pk}/revoke/", follow=True)
    assert response.status_code == 200
    assert any("古いスクリプト" in text for _level, text in messages(response))
    assert not works(key)
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_reason == "owner"
    row = page(client.get(PAGE)).find(testid="tokens").text
    assert "古いスクリプト" in row and "失効" in row


def test_revoking_through_the_api_stops_the_token(api_as, people):
    token, key = issue(people["staff"])
    api = api_as("staff")
    assert api.delete(f"{API}{token.pk}/").status_code == 204
    assert not works(key)
    assert api.get(f"{API}{token.pk}/").json()["is_active"] is False
    assert api.delete(f"{API}{token.pk}/").status_code == 204  # again: nothing more happens
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED).count() == 1


def test_a_token_may_revoke_itself(people):
    token, key = issue(people["staff"])
    assert caller(key).delete(f"{API}{token.pk}/").status_code == 204
    assert caller(key).get("/api/me/").status_code == 401


def test_nobody_sees_or_revokes_another_persons_token(api_as, as_role, people):
    token, key = issue(people["staff"])
    for role in ("chief", "admin", "ciso", "auditor"):
        api = api_as(role)
        assert api.get(f"{API}{token.pk}/").status_code == 404
        assert api.delete(f"{API}{token.pk}/").status_code == 404
        assert token.pk not in [row["id"] for row in api.get(API).json()["results"]]
        assert as_role(role).post(f"{PAGE}{token.pk}/revoke/").status_code == 404
    assert works(key)


def test_the_service_refuses_revocation_by_anyone_but_the_owner(people):
    token, _key = issue(people["staff"])
    with pytest.raises(tokens.PermissionDenied):
        tokens.revoke_token(token, by=people["admin"])


# --- revoked when the password changes, the account is deactivated, a role is removed ----


def revocations(user):
    return sorted(
        AuditEvent.objects.filter(
            action=AuditAction.TOKEN_REVOKED,
            target_id__in=[str(pk) for pk in user.api_tokens.values_list("pk", flat=True)],
        ).values_list("data__reason", flat=True)
    )


def test_a_password_change_through_the_password_change_form_revokes_every_token(people):
    user = people["staff"]
    keys = [issue(user, name=f"t{n}")[1] for n in range(2)]
    other = issue(people["chief"])[1]
    form = PasswordChangeForm(
        user,
        {
            "old_password": PASSWORD,
            "new_password1": "Atarashii-Pass-2026!",
            "new_password2": "Atarashii-Pass-2026!",
        },
    )
    assert form.is_valid(), form.errors
    form.save()
    assert not any(works(key) for key in keys)
    assert works(other)
    assert revocations(user) == ["password_changed", "password_changed"]


def test_a_password_change_on_the_admin_page_revokes_the_persons_tokens(client, people):
    user = people["staff"]
    _token, key = issue(user)
    superuser = people["admin"]
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    client.force_login(superuser)
    response = client.post(
        f"/admin/isms/user/{user.pk}/password/",
        {"password1": "Atarashii-Pass-2026!", "password2": "Atarashii-Pass-2026!"},
    )
    assert response.status_code == 302, response.content
    assert not works(key)


def test_set_password_and_save_revokes_every_token(people):
    user = people["staff"]
    _token, key = issue(user)
    user.set_password("Atarashii-Pass-2026!")
    user.save()
    assert not works(key)
    _token, key = issue(user)
    user.set_password("Mata-Atarashii-2026!")
    user.save(update_fields=["password"])
    assert not works(key)


def test_the_same_password_hashed_again_at_sign_in_keeps_the_tokens(people):
    # What check_password() does when the hasher's work factor has grown.
    user = people["staff"]
    _token, key = issue(user)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    assert works(key)


def test_an_account_without_a_password_given_another_unusable_one_keeps_its_tokens(people):
    # A directory or identity-provider account: the portal holds no password for it.
    user = people["staff"]
    user.set_unusable_password()
    user.save()
    _token, key = issue(user)
    user.set_unusable_password()
    user.save()
    assert works(key)
    user.set_password("Atarashii-Pass-2026!")
    user.save()
    assert not works(key)


def test_other_changes_to_the_person_keep_the_tokens(people):
    user = people["staff"]
    _token, key = issue(user)
    user.display_name = "新しい 名前"
    user.save()
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    assert works(key)


def test_deactivating_the_account_revokes_every_token(people):
    user = people["staff"]
    token, key = issue(user)
    user.is_active = False
    user.save()
    assert not works(key)
    token.refresh_from_db()
    assert token.revoked_reason == "deactivated"
    # Active again, the old token stays revoked.
    user.is_active = True
    user.save()
    assert not works(key)


def test_a_token_of_a_person_deactivated_behind_the_portals_back_is_refused_too(people):
    # A bulk update skips the save that revokes the tokens; the check at each request holds.
    user = people["staff"]
    _token, key = issue(user)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert caller(key).get("/api/me/").status_code == 401


def test_a_deactivated_person_cannot_be_issued_a_token(people):
    user = people["staff"]
    user.is_active = False
    user.save()
    with pytest.raises(tokens.PermissionDenied):
        issue(user)


def test_removing_a_role_revokes_the_persons_tokens(people):
    chief = people["chief"]
    _token, key = issue(chief)
    other = issue(people["head"])[1]
    roles.revoke_role(chief.role_assignments.get(role=Role.SECTION_CHIEF), by=people["admin"])
    assert not works(key)
    assert works(other)
    assert revocations(chief) == ["role_removed"]


def test_a_role_deleted_elsewhere_than_revoke_role_revokes_the_tokens_too(people):
    head = people["head"]
    _token, key = issue(head)
    RoleAssignment.objects.filter(user=head).delete()
    assert not works(key)


# --- the second factor ------------------------------------------------------------------


@pytest.fixture
def mfa_on(settings):
    settings.MFA_ENABLED = True


def test_issuing_needs_a_recent_second_factor_from_those_who_must_use_one(mfa_on, client, people):
    client.force_login(people["chief"])
    response = client.post(API, {"name": "step-up"}, content_type="application/json")
    assert response.status_code == 403
    # The page is not even reached: the person is first led to set up their second factor.
    refused = client.post(PAGE, {"name": "step-up", "lifetime_days": "30"})
    assert refused.status_code == 302
    assert refused["Location"].startswith("/mfa/")
    assert not ApiToken.objects.filter(user=people["chief"]).exists()
    session = client.session
    session[second_factor.SESSION_AT] = timezone.now().timestamp()
    session.save()
    response = client.post(API, {"name": "step-up"}, content_type="application/json")
    assert response.status_code == 201


def test_a_second_factor_older_than_the_step_up_window_is_not_enough(mfa_on, client, people):
    client.force_login(people["ciso"])
    session = client.session
    session[second_factor.SESSION_AT] = (
        timezone.now() - datetime.timedelta(minutes=16)
    ).timestamp()
    session.save()
    assert client.post(API, {"name": "x"}, content_type="application/json").status_code == 403


def test_the_password_endpoint_gives_no_token_to_those_who_must_use_a_second_factor(mfa_on, people):
    response = APIClient().post(
        "/api/auth/token/", {"username": "chief_joho", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "token" not in response.json()
    assert not ApiToken.objects.filter(user=people["chief"]).exists()


def test_staff_who_need_no_second_factor_are_issued_tokens_with_mfa_on(mfa_on, client, people):
    client.force_login(people["staff"])
    assert client.post(API, {"name": "x"}, content_type="application/json").status_code == 201


# --- the audit trail --------------------------------------------------------------------


def test_issue_and_revocation_are_in_the_audit_trail_with_the_reason(people):
    token, _key = issue(people["staff"], name="監査対象")
    tokens.revoke_token(token, by=people["staff"])
    issued = AuditEvent.objects.get(action=AuditAction.TOKEN_ISSUED)
    revoked = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert issued.actor == people["staff"] and revoked.actor == people["staff"]
    assert issued.data["name"] == "監査対象" and issued.data["prefix"] == token.prefix
    assert revoked.data["reason"] == "owner"
    assert issued.target_id == revoked.target_id == str(token.pk)


# --- who reaches the page and the API ---------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_signed_in_person_reaches_their_token_page_and_anonymous_visitors_sign_in(
    as_role, role
):
    response = as_role(role).get(PAGE)
    if role == "anonymous":
        assert is_login_redirect(response, PAGE)
    else:
        assert response.status_code == 200
        assert page(response).find("form", action=PAGE)


@pytest.mark.parametrize("role", ROLES)
def test_every_signed_in_person_lists_only_their_own_tokens_through_the_api(api_as, people, role):
    issue(people["other_staff"], name="someone else's")
    response = api_as(role).get(API)
    if role == "anonymous":
        assert response.status_code == 401
        assert api_as(role).post(API, {"name": "x"}, format="json").status_code == 401
        return
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["name"] for row in rows] == [f"tests ({role})"]


@pytest.mark.parametrize("role", ROLES)
def test_only_the_owner_revokes_a_token_on_the_page_and_anonymous_visitors_sign_in(
    as_role, people, role
):
    token, key = issue(people["staff"])
    url = f"{PAGE}{token.pk}/revoke/"
    response = as_role(role).post(url)
    if role == "anonymous":
        assert is_login_redirect(response, url)
    elif role == "staff":
        assert response.status_code == 302
        assert not works(key)
        return
    else:
        assert response.status_code == 404
    assert works(key)
