"""The client address: what an acknowledgement and the audit trail keep as evidence, what
django-axes locks out and what the token endpoint's limit counts.

`X-Forwarded-For` is written by the client; only the entries appended by the reverse
proxies the deployment trusts (`NUM_PROXIES`) say where a request came from. With no
trusted proxy the address is the connecting one (`REMOTE_ADDR`); with one, the entry that
proxy appended, the last one.
"""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from acknowledgements.models import Acknowledgement
from isms import tokens
from isms.clientip import client_ip
from isms.models import ApiToken, AuditEvent

from .factories import PASSWORD

TOKEN_URL = "/api/auth/token/"
LIMIT = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"].split("/")[0])

PROXY = "10.20.0.1"  # the city's reverse proxy, as the portal sees it
CLIENT = "192.0.2.10"  # a PC in the city's network
OTHER_CLIENT = "192.0.2.11"
SPOOFED = "203.0.113.66"  # what a client writes into X-Forwarded-For itself


@pytest.fixture(autouse=True)
def fresh_throttle():
    """The token throttle counts in Redis, which outlives the test database."""
    keys = [
        f"throttle_token_{address}"
        for address in (PROXY, CLIENT, OTHER_CLIENT, SPOOFED, "127.0.0.1")
    ]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


@pytest.fixture
def behind_one_proxy(settings):
    settings.NUM_PROXIES = 1


def through_proxy(client_address, *, claimed=SPOOFED):
    """What the portal receives when `client_address` sends a request that already carries
    `X-Forwarded-For: claimed` through the one reverse proxy."""
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{claimed}, {client_address}"}


def acknowledge(as_role, api_as, standard, where, **meta):
    if where == "page":
        as_role("staff").post(f"/acknowledgements/revisions/{standard.pk}/", **meta)
    else:
        response = api_as("staff").post(
            "/api/acknowledgements/", {"revision": standard.pk}, format="json", **meta
        )
        assert response.status_code == 201, response.content
    ack = Acknowledgement.objects.get(revision=standard, user__username="staff_joho")
    event = AuditEvent.objects.get(action="revision.acknowledged")
    return ack.ip_address, event.ip_address


# --- what the records keep ------------------------------------------------------------


@pytest.mark.parametrize("where", ["page", "api"])
def test_with_no_trusted_proxy_a_forwarded_address_is_ignored_and_the_connecting_one_recorded(
    as_role, api_as, standard, where
):
    meta = {"REMOTE_ADDR": CLIENT, "HTTP_X_FORWARDED_FOR": SPOOFED}
    assert acknowledge(as_role, api_as, standard, where, **meta) == (CLIENT, CLIENT)


@pytest.mark.parametrize("where", ["page", "api"])
def test_behind_one_proxy_the_address_it_appended_is_recorded_not_the_one_the_client_wrote(
    behind_one_proxy, as_role, api_as, standard, where
):
    meta = through_proxy(CLIENT)
    assert acknowledge(as_role, api_as, standard, where, **meta) == (CLIENT, CLIENT)


def test_behind_two_proxies_the_address_the_outer_one_appended_is_the_client(settings, rf):
    settings.NUM_PROXIES = 2
    request = rf.get(
        "/", REMOTE_ADDR="10.20.0.2", HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}, {PROXY}"
    )
    assert client_ip(request) == CLIENT


def test_a_request_that_bypassed_the_proxy_is_recorded_with_its_own_address(behind_one_proxy, rf):
    assert client_ip(rf.get("/", REMOTE_ADDR=CLIENT)) == CLIENT


def test_a_forwarded_entry_that_is_not_an_address_falls_back_to_the_connecting_one(
    behind_one_proxy, as_role, api_as, standard
):
    meta = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{CLIENT}, unknown"}
    assert acknowledge(as_role, api_as, standard, "page", **meta) == (PROXY, PROXY)


def test_a_failed_login_behind_the_proxy_is_held_against_the_real_client(behind_one_proxy, people):
    Client().post(
        reverse("login"),
        {"username": "staff_joho", "password": "wrong-password-123"},
        **through_proxy(CLIENT),
    )
    assert list(AccessAttempt.objects.values_list("username", "ip_address")) == [
        ("staff_joho", CLIENT)
    ]


def test_behind_the_proxy_a_lockout_of_one_pc_leaves_the_same_user_on_another_pc_alone(
    behind_one_proxy, people
):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        locked = Client().post(
            reverse("login"),
            {"username": "staff_joho", "password": "wrong-password-123"},
            **through_proxy(CLIENT),
        )
    assert locked.status_code == 429
    elsewhere = Client().post(
        reverse("login"),
        {"username": "staff_joho", "password": PASSWORD},
        **through_proxy(OTHER_CLIENT),
    )
    assert elsewhere.status_code == 302


def test_with_no_trusted_proxy_a_lockout_is_not_escaped_by_writing_another_forwarded_address(
    people,
):
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            reverse("login"),
            {"username": "staff_joho", "password": "wrong-password-123"},
            REMOTE_ADDR=CLIENT,
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    response = Client().post(
        reverse("login"),
        {"username": "staff_joho", "password": PASSWORD},
        REMOTE_ADDR=CLIENT,
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert response.status_code == 429


# --- the token endpoint's limit -------------------------------------------------------


def ask_for_tokens(count, **meta):
    """Status codes of `count` token requests with a wrong password for made-up users (so
    that django-axes' per-user lockout plays no part)."""
    api = APIClient()
    return [
        api.post(TOKEN_URL, {"username": f"nobody{n}", "password": "x"}, **meta).status_code
        for n in range(count)
    ]


def test_with_no_trusted_proxy_a_new_forwarded_address_each_time_does_not_escape_the_limit(db):
    api = APIClient()
    statuses = [
        api.post(
            TOKEN_URL,
            {"username": f"nobody{n}", "password": "x"},
            REMOTE_ADDR=CLIENT,
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(LIMIT + 1)
    ]
    assert statuses == [400] * LIMIT + [429]


def test_behind_the_proxy_the_limit_counts_per_client_and_a_spoofed_entry_does_not_reset_it(
    behind_one_proxy, db
):
    assert ask_for_tokens(LIMIT, **through_proxy(CLIENT)) == [400] * LIMIT
    # The same PC, claiming to be someone else in the header it writes: still the same PC.
    assert ask_for_tokens(1, **through_proxy(CLIENT, claimed="198.51.100.1")) == [429]
    # Another PC behind the same proxy has its own allowance.
    assert ask_for_tokens(1, **through_proxy(OTHER_CLIENT)) == [400]


def test_a_valid_token_in_the_authorization_header_does_not_escape_the_limit(people):
    _token, key = tokens.issue_token(people["staff"], name="script")
    statuses = ask_for_tokens(LIMIT + 1, HTTP_AUTHORIZATION=f"Token {key}")
    assert statuses == [400] * LIMIT + [429]


def test_a_made_up_authorization_header_is_counted_too_and_does_not_answer_401(people):
    statuses = ask_for_tokens(LIMIT + 1, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert statuses == [400] * LIMIT + [429]


def test_the_limit_still_hands_out_a_token_for_the_right_password_before_it_is_reached(
    people,
):
    response = APIClient().post(
        TOKEN_URL,
        {"username": "staff_joho", "password": PASSWORD},
        HTTP_AUTHORIZATION="Token stale-token-of-yesterday",
    )
    assert response.status_code == 200
    assert (
        tokens.key_hash(response.json()["token"])
        == ApiToken.objects.get(user=people["staff"]).key_hash
    )
