"""Two-step verification in a real headless Chromium (issue 10): the programme admin is made
to enrol an authenticator app at sign-in and gives a code again before publishing once the
last one is older than fifteen minutes; a passkey registered and used through Chromium's
virtual authenticator (the DevTools protocol's WebAuthn domain).

The live server is http://localhost:<port>: localhost is a secure context, which WebAuthn
needs, and a host name, which an RP ID must be."""

import re
import time
from base64 import b32decode

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from django_otp.oath import totp
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from isms import policy_actions, second_factor
from isms.models import AuditAction, AuditEvent, RevisionStatus

from .factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def mfa_live(settings, live_server):
    settings.MFA_ENABLED = True
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")
    return live_server


@pytest.fixture
def page_for(new_page, mfa_live):
    return lambda: new_page(mfa_live.url)


def sign_in(page, username):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")


def code_from(secret, drift=0):
    key = b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key, drift=drift):06d}"


def age_second_factor(page, minutes):
    """Move the time of the last second factor back, in the session the browser holds."""
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "sessionid"]
    session = SessionStore(session_key=cookie["value"])
    session[second_factor.SESSION_AT] = time.time() - minutes * 60
    session.save()


def test_the_admin_enrols_an_app_at_sign_in_and_gives_a_code_again_before_publishing(
    people_live, documents_live, page_for, mfa_live
):
    admin = people_live["admin"]
    revision = policy_actions.create_draft(
        documents_live["standard"],
        by=admin,
        body="## 第1章\n\n改定",
        change_summary="改定",
        effective_date=timezone.localdate(),
    )
    policy_actions.submit_for_review(revision, by=admin)
    policy_actions.approve(revision, by=people_live["ciso"])

    page = page_for()
    sign_in(page, "admin")
    # Made to enrol before anything else.
    expect(page).to_have_url(re.compile(r"/mfa/totp/\?next=%2F$"))
    expect(page.get_by_test_id("totp-qr").locator("svg")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.goto(f"/manage/revisions/{revision.pk}/")
    expect(page).to_have_url(re.compile(r"/mfa/totp/"))
    page.fill("#id_name", "業務用スマートフォン")
    page.fill("#id_code", code_from(secret))
    page.click("form button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/manage/revisions/{revision.pk}/$"))

    # Sixteen minutes later, publishing asks for a code first and comes back to the page
    # that says what publishing does (tests/test_publish_confirmation.py).
    age_second_factor(page, 16)
    page.locator('form[action$="/publish/"] button').click()
    expect(page).to_have_url(re.compile(r"/mfa/verify/\?next="))
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.APPROVED
    page.fill("#id_code", code_from(secret, drift=1))
    page.click("form button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/manage/revisions/{revision.pk}/publish/\?deadline="))
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("revision-status")).to_have_class(re.compile(r"\bpublished\b"))
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.PUBLISHED


def test_a_passkey_is_registered_and_signs_in_through_the_virtual_authenticator(
    people_live, page_for, mfa_live
):
    page = page_for()
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )

    sign_in(page, "ciso")
    expect(page).to_have_url(re.compile(r"/mfa/totp/"))
    page.click("#passkey-register-button")
    expect(page).to_have_url(f"{mfa_live.url}/")
    expect(page.get_by_test_id("current-user")).to_be_visible()
    assert WebAuthnCredential.objects.filter(user=people_live["ciso"], confirmed=True).exists()
    assert AuditEvent.objects.filter(
        action=AuditAction.MFA_ENROLLED, actor=people_live["ciso"], data__method="webauthn"
    ).exists()

    page.locator('form[action$="/logout/"] button').click()
    sign_in(page, "ciso")
    expect(page).to_have_url(re.compile(r"/mfa/verify/\?next=%2F$"))
    page.click("#passkey-verification-button")
    expect(page).to_have_url(f"{mfa_live.url}/")
    page.goto("/manage/policies/")
    expect(page).to_have_url(re.compile(r"/manage/policies/$"))
