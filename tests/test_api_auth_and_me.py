"""The API's front door: tokens, who am I, and what an anonymous caller gets."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from isms.models import ApiToken
from isms.tokens import key_hash

from .conftest import PASSWORD

TOKEN_URL = "/api/auth/token/"
# DRF's throttle keeps its counter in the cache under this key for APIClient's address.
THROTTLE_KEY = "throttle_token_127.0.0.1"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture(autouse=True)
def no_second_factor_rule(settings):
    # The password exchange itself; that a person who must use a second factor gets no
    # token from it is tested in tests/test_api_tokens.py.
    settings.MFA_ENABLED = False


@pytest.fixture(autouse=True)
def fresh_token_throttle():
    # The throttle lives in Redis, which outlives the test database: start and end clean.
    cache.delete(THROTTLE_KEY)
    yield
    cache.delete(THROTTLE_KEY)


def test_a_right_password_gives_a_token(api, people):
    response = api.post(TOKEN_URL, {"username": "staff_joho", "password": PASSWORD})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=people["staff"])
    key = response.json()["token"]
    assert response.json() == {"token": key}
    # Only the key's hash is stored.
    assert token.key_hash == key_hash(key)
    assert key not in token.key_hash


def test_asking_twice_gives_two_tokens_that_both_work(api, people):
    # The key of the first is not stored, so it cannot be handed out again (README, "API
    # tokens"): each request issues another token with the default lifetime.
    first = api.post(TOKEN_URL, {"username": "staff_joho", "password": PASSWORD}).json()
    second = api.post(TOKEN_URL, {"username": "staff_joho", "password": PASSWORD}).json()
    assert first["token"] != second["token"]
    assert ApiToken.objects.filter(user=people["staff"]).count() == 2
    for key in (first["token"], second["token"]):
        caller = APIClient()
        caller.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert caller.get("/api/me/").json()["username"] == "staff_joho"


def test_a_wrong_password_is_refused_with_400_and_no_token(api, people):
    response = api.post(TOKEN_URL, {"username": "staff_joho", "password": "not-the-password"})
    assert response.status_code == 400
    assert "token" not in response.json()
    assert response.json()["non_field_errors"]
    assert not ApiToken.objects.filter(user=people["staff"]).exists()


def test_an_unknown_user_is_refused_with_400(api, people):
    response = api.post(TOKEN_URL, {"username": "nobody", "password": PASSWORD})
    assert response.status_code == 400
    assert "token" not in response.json()


def test_a_missing_password_is_refused_with_400(api, people):
    response = api.post(TOKEN_URL, {"username": "staff_joho"})
    assert response.status_code == 400
    assert "password" in response.json()


@pytest.mark.parametrize(
    "field", [{"username": "x" * 10_000}, {"password": "x" * 10_000}, {"username": "a\x00b"}]
)
def test_an_oversized_or_nul_credential_is_refused_with_400(api, people, field):
    # A 10,000-character user name once reached the lockout log (varchar 255): a 500.
    response = api.post(TOKEN_URL, {"username": "staff_joho", "password": PASSWORD, **field})
    assert response.status_code == 400
    assert set(response.json()) == set(field)
    assert not ApiToken.objects.filter(user=people["staff"]).exists()


def test_an_inactive_user_gets_no_token(api, people):
    people["staff"].is_active = False
    people["staff"].save()
    response = api.post(TOKEN_URL, {"username": "staff_joho", "password": PASSWORD})
    assert response.status_code == 400
    assert not ApiToken.objects.filter(user=people["staff"]).exists()


def test_the_token_authenticates_me(api, people):
    key = api.post(TOKEN_URL, {"username": "chief_joho", "password": PASSWORD}).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.get("/api/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "chief_joho"
    assert response.json()["id"] == people["chief"].pk


def test_a_made_up_token_is_refused_with_401(api, people):
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = api.get("/api/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "username" not in response.json()
    assert response.json()["detail"]


def test_an_anonymous_caller_of_me_is_asked_to_authenticate_with_401(api, db):
    response = api.get("/api/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"]


def test_me_works_for_a_caller_signed_in_with_a_session_cookie(client, people):
    # The browser's session (the Swagger UI at /api/docs/), not a token.
    assert (
        client.post(
            "/accounts/login/", {"username": "chief_joho", "password": PASSWORD}
        ).status_code
        == 302
    )
    response = client.get("/api/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "chief_joho"
    assert response.json()["roles"] == [{"role": "section_chief", "department": "joho"}]


def test_a_session_caller_still_needs_the_csrf_token_to_change_anything(people, documents):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people["staff"])
    revision = documents["standard"].current_revision()
    response = browser.post(
        "/api/acknowledgements/", {"revision": revision.pk}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_me_shows_the_section_and_departmental_roles(api, people, org):
    api.force_authenticate(people["chief"])
    data = api.get("/api/me/").json()
    assert data["section"]["code"] == "joho"
    assert data["section"]["id"] == org["joho"].pk
    assert data["section"]["parent"] == org["somu"].pk
    assert data["roles"] == [{"role": "section_chief", "department": "joho"}]


def test_me_shows_citywide_roles_without_a_department(api, people):
    api.force_authenticate(people["ciso"])
    data = api.get("/api/me/").json()
    assert data["section"]["code"] == "mayor"
    assert data["roles"] == [{"role": "ciso", "department": None}]


def test_me_shows_no_roles_for_ordinary_staff(api, people):
    api.force_authenticate(people["staff_somuka"])
    data = api.get("/api/me/").json()
    assert data["username"] == "staff_somuka"
    assert data["section"]["code"] == "somuka"
    assert data["roles"] == []


def test_me_does_not_reveal_the_password_hash(api, people):
    api.force_authenticate(people["staff"])
    data = api.get("/api/me/").json()
    assert "password" not in data
    assert people["staff"].password not in str(data)


@pytest.mark.parametrize("url", ["/api/me/", "/api/departments/"])
def test_anonymous_callers_are_turned_away(api, db, url):
    response = api.get(url)
    assert response.status_code == 401
    assert "detail" in response.json()


def test_staff_can_read_the_organisation_tree(api, people, org):
    api.force_authenticate(people["staff"])
    response = api.get("/api/departments/")
    assert response.status_code == 200
    codes = {d["code"] for d in response.json()["results"]}
    assert codes == {d.code for d in org.values()}


def test_the_organisation_tree_filters_by_kind(api, people):
    api.force_authenticate(people["staff"])
    response = api.get("/api/departments/", {"kind": "department"})
    assert {d["code"] for d in response.json()["results"]} == {"somu", "kyoiku"}


def _fail(api, username="staff_joho"):
    return api.post(TOKEN_URL, {"username": username, "password": "wrong-password-123"})


def test_repeated_wrong_passwords_lock_the_user_out(api, people):
    limit = settings.AXES_FAILURE_LIMIT
    for _attempt in range(limit - 1):
        assert _fail(api).status_code == 400
    locked = _fail(api)
    assert locked.status_code == 429
    assert "detail" in locked.json()
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert AccessAttempt.objects.get(username="staff_joho").failures_since_start == limit
    # Even the right password is refused now, and no token is handed out.
    right = api.post(TOKEN_URL, {"username": "staff_joho", "password": PASSWORD})
    assert right.status_code == 429
    assert "token" not in right.json()
    assert not ApiToken.objects.filter(user=people["staff"]).exists()


def test_a_lockout_does_not_touch_other_users(api, people):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _fail(api)
    response = api.post(TOKEN_URL, {"username": "chief_joho", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token"]


def test_fewer_failures_than_the_limit_still_let_the_right_password_in(api, people):
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        _fail(api)
    response = api.post(TOKEN_URL, {"username": "staff_joho", "password": PASSWORD})
    assert response.status_code == 200
    assert key_hash(response.json()["token"]) == ApiToken.objects.get(user=people["staff"]).key_hash


def test_the_token_endpoint_is_throttled(api, people):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"]
    allowed = int(rate.split("/")[0])
    statuses = [
        api.post(TOKEN_URL, {"username": f"nobody{n}", "password": "x"}).status_code
        for n in range(allowed + 1)
    ]
    assert statuses[:allowed] == [400] * allowed
    assert statuses[allowed] == 429
