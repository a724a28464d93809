"""Signing in through the city's OpenID Connect identity provider (issue 10): a real,
certified provider on loopback (tests/oidc_server.py), the authorisation-code flow with
PKCE, the directory's matching rules, the provider's second factor, and logout at both
ends."""

import copy
import json
import os
import re
import subprocess
import sys
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse
from playwright.sync_api import expect

from isms import second_factor
from isms.models import AuditAction, AuditEvent, User

from .oidc_server import ACCOUNTS


def form_of(page):
    """The action and the fields of the (first) form of a page."""
    action = unescape(re.search(r'<form[^>]*action="([^"]*)"', page.text).group(1))
    fields = {
        unescape(name): unescape(value)
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text)
    }
    return urljoin(page.url, action), fields


def follow_until(browser, response, prefix):
    """Follows redirects by hand until the next one leads to `prefix`; returns that URL."""
    while response.is_redirect:
        location = urljoin(response.url, response.headers["Location"])
        if location.startswith(prefix):
            return location
        response = browser.get(location, allow_redirects=False)
    raise AssertionError(f"no redirect to {prefix}: {response.status_code} {response.url}")


def to_provider_sign_in(browser, live_server, next_url=""):
    """From the portal's button to the provider's sign-in page; returns (auth URL, page)."""
    start = f"{live_server.url}{reverse('oidc-signin')}"
    if next_url:
        start += f"?next={next_url}"
    response = browser.get(start, allow_redirects=False)
    assert response.status_code == 302
    authorisation = response.headers["Location"]
    page = browser.get(authorisation)
    assert "Test provider sign-in" in page.text
    return authorisation, page


def give_password(browser, page, login, password=None):
    action, _ = form_of(page)
    password = password or ACCOUNTS[login]["password"]
    return browser.post(action, data={"login": login, "password": password}, allow_redirects=False)


def sign_in(live_server, login, browser=None, next_url=""):
    """A person signing in with the provider's button; returns the browser and last page."""
    browser = browser or requests.Session()
    _, page = to_provider_sign_in(browser, live_server, next_url)
    callback = follow_until(browser, give_password(browser, page, login), live_server.url)
    return browser, browser.get(callback)


def signed_in(browser, live_server):
    response = browser.get(f"{live_server.url}/notifications/", allow_redirects=False)
    return response.status_code == 200


def portal_session(browser):
    return SessionStore(session_key=browser.cookies.get("sessionid"))


@pytest.fixture
def staff(people_live):
    """staff_joho, known to the personnel records by the staff number the provider gives."""
    person = people_live["staff"]
    person.staff_number = ACCOUNTS["joho.taro"]["claims"]["staff_number"]
    person.save()
    return person


def test_a_member_of_staff_signs_in_through_the_provider_and_lands_where_they_were_going(
    oidc_settings, staff, live_server
):
    browser, page = sign_in(live_server, "joho.taro", next_url="/notifications/")
    assert page.status_code == 200
    assert page.url == f"{live_server.url}/notifications/"
    assert 'action="/accounts/logout/"' in page.text
    assert signed_in(browser, live_server)


def test_the_request_to_the_provider_carries_a_pkce_challenge_state_and_nonce(
    oidc_settings, oidc_provider, staff, live_server
):
    browser = requests.Session()
    authorisation, _ = to_provider_sign_in(browser, live_server)
    assert authorisation.startswith(oidc_provider.discovery()["authorization_endpoint"])
    query = parse_qs(urlsplit(authorisation).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43  # base64url of a SHA-256 digest
    assert query["state"][0] and query["nonce"][0]
    assert query["response_type"] == ["code"]
    assert set(query["scope"][0].split()) >= {"openid", "email", "profile"}
    # What the portal keeps to check the answer: the verifier behind that challenge.
    (kept,) = portal_session(browser)["oidc_states"].values()
    assert len(kept["code_verifier"]) >= 43


def test_an_answer_with_a_state_this_browser_never_sent_is_refused(
    oidc_settings, staff, live_server
):
    browser = requests.Session()
    _, page = to_provider_sign_in(browser, live_server)
    callback = follow_until(browser, give_password(browser, page, "joho.taro"), live_server.url)
    query = parse_qs(urlsplit(callback).query)
    forged = f"{live_server.url}/oidc/callback/?code={query['code'][0]}&state=forged-state"
    assert browser.get(forged).status_code == 400
    assert not signed_in(browser, live_server)
    assert not AuditEvent.objects.filter(action=AuditAction.SIGNIN_SUCCEEDED).exists()


def test_an_answer_meant_for_another_browser_is_refused(oidc_settings, staff, live_server):
    # Someone else's browser started the sign-in; the code reaches a browser that did not.
    victim = requests.Session()
    _, page = to_provider_sign_in(victim, live_server)
    callback = follow_until(victim, give_password(victim, page, "joho.taro"), live_server.url)
    attacker = requests.Session()
    to_provider_sign_in(attacker, live_server)
    assert attacker.get(callback).status_code == 400
    assert not signed_in(attacker, live_server)


def test_a_sign_in_given_up_at_the_provider_comes_back_to_the_login_page_with_a_message(
    oidc_settings, staff, live_server
):
    browser = requests.Session()
    authorisation, _ = to_provider_sign_in(browser, live_server)
    state = parse_qs(urlsplit(authorisation).query)["state"][0]
    page = browser.get(f"{live_server.url}/oidc/callback/?error=access_denied&state={state}")
    assert page.url == f"{live_server.url}/accounts/login/"
    assert "テスト県共通認証でのサインインに失敗しました" in page.text
    assert not signed_in(browser, live_server)


def test_the_provider_claims_are_mapped_and_the_person_found_by_staff_number(
    oidc_settings, staff, org, live_server
):
    # The provider's login name (joho.taro) is not the portal's (staff_joho): the staff
    # number says who it is.
    sign_in(live_server, "joho.taro")
    staff.refresh_from_db()
    assert staff.username == "staff_joho"
    assert staff.display_name == "情報 太郎"
    assert staff.email == "joho.taro@city.example"
    assert staff.section.code == "somuka"
    assert User.objects.filter(username="joho.taro").count() == 0


def test_the_claim_names_are_settings(oidc_settings, staff, live_server):
    oidc_settings.OIDC_CLAIM_DISPLAY_NAME = "email"
    oidc_settings.OIDC_CLAIM_SECTION = ""
    sign_in(live_server, "joho.taro")
    staff.refresh_from_db()
    assert staff.display_name == "joho.taro@city.example"
    assert staff.section.code == "joho"  # the section claim is not read


def test_a_person_the_portal_does_not_know_is_refused_with_a_message(
    oidc_settings, people_live, live_server
):
    browser, page = sign_in(live_server, "shinnin.hanako")
    assert page.url == f"{live_server.url}/accounts/login/"
    refusal = "テスト県共通認証でサインインしましたが、ポータルにあなたのアカウントがありません"
    assert refusal in page.text
    assert not signed_in(browser, live_server)
    assert not User.objects.filter(staff_number="200199").exists()


def test_the_refusal_is_in_english_for_an_english_browser(oidc_settings, people_live, live_server):
    browser = requests.Session()
    browser.cookies.set("django_language", "en")
    browser, page = sign_in(live_server, "shinnin.hanako", browser=browser)
    assert "but the portal has no account for you" in page.text


def test_refused_sign_ins_through_the_provider_never_lock_the_office_address_out(
    oidc_settings, staff, live_server
):
    for _ in range(oidc_settings.AXES_FAILURE_LIMIT + 1):
        sign_in(live_server, "shinnin.hanako")
    assert AuditEvent.objects.filter(action=AuditAction.SIGNIN_FAILED).count() == (
        oidc_settings.AXES_FAILURE_LIMIT + 1
    )
    browser, _ = sign_in(live_server, "joho.taro")
    assert signed_in(browser, live_server)
    assert not AuditEvent.objects.filter(action=AuditAction.SIGNIN_LOCKED_OUT).exists()


def test_a_person_the_portal_does_not_know_is_created_when_the_setting_allows(
    oidc_settings, people_live, org, live_server
):
    oidc_settings.SIGNIN_CREATE_UNKNOWN_PEOPLE = True
    browser, _ = sign_in(live_server, "shinnin.hanako")
    assert signed_in(browser, live_server)
    person = User.objects.get(staff_number="200199")
    assert (person.username, person.display_name) == ("shinnin.hanako", "新任 花子")
    assert person.section.code == "joho"
    assert not person.has_usable_password()


def test_a_person_deactivated_in_the_portal_is_refused(oidc_settings, staff, live_server):
    staff.is_active = False
    staff.save()
    browser, page = sign_in(live_server, "joho.taro")
    assert "無効" in page.text
    assert not signed_in(browser, live_server)


def test_a_second_factor_at_the_provider_counts_in_the_portal(
    oidc_settings, people_live, live_server
):
    chief = people_live["chief"]
    chief.staff_number = ACCOUNTS["chief.mfa"]["claims"]["staff_number"]
    chief.save()
    browser, _ = sign_in(live_server, "chief.mfa")
    session = portal_session(browser)
    assert session[second_factor.SESSION_SOURCE] == "idp"
    assert session["_auth_user_id"] == str(chief.pk)


def test_a_password_only_sign_in_at_the_provider_is_no_second_factor(
    oidc_settings, staff, live_server
):
    browser, _ = sign_in(live_server, "joho.taro")
    assert signed_in(browser, live_server)
    assert second_factor.SESSION_AT not in portal_session(browser)


def test_an_acr_counts_only_when_the_installation_lists_it(oidc_settings, people_live, live_server):
    oidc_settings.OIDC_MFA_ACR_VALUES = []
    oidc_settings.OIDC_MFA_AMR_VALUES = ["hwk"]  # the provider says pwd + otp
    chief = people_live["chief"]
    chief.staff_number = ACCOUNTS["chief.mfa"]["claims"]["staff_number"]
    chief.save()
    browser, _ = sign_in(live_server, "chief.mfa")
    assert signed_in(browser, live_server)
    assert second_factor.SESSION_AT not in portal_session(browser)


def test_the_audit_trail_records_the_sign_in_as_oidc(oidc_settings, staff, live_server):
    sign_in(live_server, "joho.taro")
    (event,) = AuditEvent.objects.filter(action=AuditAction.SIGNIN_SUCCEEDED)
    assert event.actor == staff
    assert event.data == {"method": "oidc"}


def test_logging_out_ends_the_portal_session_and_the_provider_session(
    oidc_settings, oidc_provider, staff, live_server
):
    browser, page = sign_in(live_server, "joho.taro")
    id_token = portal_session(browser)["oidc_id_token"]
    response = browser.post(
        f"{live_server.url}/accounts/logout/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        allow_redirects=False,
    )
    assert not signed_in(browser, live_server)
    assert AuditEvent.objects.filter(action=AuditAction.SIGNED_OUT, actor=staff).exists()

    end_session = urljoin(response.url, response.headers["Location"])
    assert end_session.startswith(oidc_provider.discovery()["end_session_endpoint"])
    query = parse_qs(urlsplit(end_session).query)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == [f"{live_server.url}/policy/"]
    # The provider asks whether to sign out there too; yes, and back to the portal.
    confirm = browser.get(end_session)
    action, fields = form_of(confirm)
    back = browser.post(action, data={**fields, "logout": "yes"})
    assert back.url == f"{live_server.url}/policy/"
    # The provider has forgotten the person: the next sign-in asks for the password again.
    to_provider_sign_in(browser, live_server)


def test_without_logging_out_the_provider_signs_the_person_in_again_without_a_password(
    oidc_settings, staff, live_server
):
    # The counterpart of the test above: what the provider's end-session changed.
    browser, _ = sign_in(live_server, "joho.taro")
    browser.post(
        f"{live_server.url}/accounts/logout/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        allow_redirects=False,
    )
    response = browser.get(f"{live_server.url}{reverse('oidc-signin')}", allow_redirects=False)
    callback = follow_until(browser, response, live_server.url)
    browser.get(callback)
    assert signed_in(browser, live_server)


def test_a_local_sign_out_does_not_go_to_the_provider(oidc_settings, client, people):
    client.force_login(people["staff"], backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(reverse("logout"))
    assert response.url == reverse("public-policy")


def test_the_login_page_offers_the_provider_only_when_configured(client, settings, db):
    assert "oidc/signin" not in client.get(reverse("login")).content.decode()
    settings.OIDC_ISSUER = "https://id.pref.example"
    settings.OIDC_CLIENT_ID = "isms"
    settings.OIDC_PROVIDER_NAME = "県共通認証"
    page = client.get(reverse("login") + "?next=/assets/").content.decode()
    assert 'href="/oidc/signin/?next=%2Fassets%2F"' in page
    assert "県共通認証でサインイン" in page


@pytest.mark.parametrize("name", ["oidc-signin", "oidc-callback"])
def test_the_provider_pages_do_not_exist_without_a_provider(client, db, name):
    assert client.get(reverse(name)).status_code == 404


def test_a_local_password_still_works_when_the_provider_is_unreachable(client, settings, people):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens there
    settings.OIDC_CLIENT_ID = "isms"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS[:-1],
        "isms.oidc_signin.ProviderBackend",
        settings.AUTHENTICATION_BACKENDS[-1],
    ]
    from .factories import PASSWORD

    response = client.post(reverse("login"), {"username": "staff_joho", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")
    page = client.get(reverse("oidc-signin"), follow=True)
    assert page.redirect_chain[-1][0] == reverse("login")
    assert "接続できません" in page.content.decode()


@pytest.mark.browser
def test_in_a_browser_a_member_of_staff_signs_in_with_the_button_and_out_at_both_ends(
    oidc_settings, oidc_provider, staff, new_page, live_server
):
    # As isms/settings/base.py allows when OIDC_ISSUER is set: the logout form's redirect
    # to the provider (the settings of this test run were read without a provider).
    policy = copy.deepcopy(oidc_settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"].append(oidc_provider.issuer)
    oidc_settings.CONTENT_SECURITY_POLICY = policy
    page = new_page(live_server.url)
    page.goto("/accounts/login/")
    page.get_by_role("link", name="テスト県共通認証でサインイン").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(oidc_provider.issuer)}/interaction/"))
    page.fill("input[name=login]", "joho.taro")
    page.fill("input[name=password]", ACCOUNTS["joho.taro"]["password"])
    page.click("form button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_test_id("current-user")).to_be_visible()

    page.click('form[action="/accounts/logout/"] button')
    expect(page).to_have_url(re.compile(rf"^{re.escape(oidc_provider.issuer)}/session/end"))
    page.click("button[name=logout][value=yes]")
    expect(page).to_have_url(f"{live_server.url}/policy/")
    expect(page.get_by_test_id("current-user")).to_have_count(0)


def settings_with(environment):
    """The portal's settings as a fresh process reads them from `environment`."""
    program = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'backends': s.AUTHENTICATION_BACKENDS, "
        "'form_action': [str(v) for v in s.CONTENT_SECURITY_POLICY['DIRECTIVES']"
        "['form-action']]}))"
    )
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OIDC_")},
        "DJANGO_SETTINGS_MODULE": "isms.settings.test",
        **environment,
    }
    output = subprocess.run(
        [sys.executable, "-c", program],
        env=environment,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.splitlines()[-1])


def test_the_environment_switches_the_provider_on_and_lets_logout_reach_it():
    on = settings_with(
        {"OIDC_ISSUER": "https://login.pref.example.jp/realms/city", "OIDC_CLIENT_ID": "isms"}
    )
    assert "isms.oidc_signin.ProviderBackend" in on["backends"]
    assert "https://login.pref.example.jp" in on["form_action"]
    off = settings_with({})
    assert "isms.oidc_signin.ProviderBackend" not in off["backends"]
    assert off["form_action"] == ["'self'"]
