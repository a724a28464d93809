"""Two-step verification (issue 10): enrolling an authenticator app with real codes from its
secret, recovery codes, being made to give a second factor before any page, and the
step-ups of publishing, role changes and closing a finding (isms/mfa.py,
isms/views/mfa.py)."""

import datetime
import json
import time

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audits import services as audit_services
from audits.models import FindingStatus
from isms import policy_actions, roles, second_factor
from isms.models import AuditAction, AuditEvent, Role

from .audit_helpers import open_cycle, record_finding
from .conftest import ROLES
from .factories import PASSWORD

MUST = {"chief", "head", "other_head", "auditor", "ciso", "admin"}


@pytest.fixture(autouse=True)
def mfa_on(settings):
    settings.MFA_ENABLED = True
    # No throttling between attempts unless a test is about it.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def code_for(device, offset=0):
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset)
    return f"{code:06d}"


def add_app(user):
    return TOTPDevice.objects.create(user=user, name="スマートフォン", confirmed=True)


def sign_in(client, user):
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    return client


def verified(client, user):
    """Signed in and past the second step, with the authenticator app."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or add_app(user)
    sign_in(client, user)
    response = client.post(reverse("mfa-verify"), {"code": code_for(device)})
    assert response.status_code == 302
    return client


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def age_second_factor(client, minutes):
    session = client.session
    session[second_factor.SESSION_AT] = time.time() - minutes * 60
    session.save()


# Enrolment ------------------------------------------------------------------------------


def test_the_programme_admin_is_led_to_enrolment_at_their_first_sign_in(client, people):
    sign_in(client, people["admin"])
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa-totp"))


def test_an_app_is_enrolled_with_a_real_code_from_its_secret(client, people):
    admin = people["admin"]
    sign_in(client, admin)
    page = client.get(reverse("mfa-totp"))
    assert page.status_code == 200
    assert b"<svg" in page.content  # the QR code, inline: nothing loaded from elsewhere
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    assert page.context["secret"].encode() in page.content

    response = client.post(
        reverse("mfa-totp"), {"name": "業務用スマートフォン", "code": code_for(device)}
    )
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed and device.name == "業務用スマートフォン"
    (event,) = events(AuditAction.MFA_ENROLLED)
    assert event.actor == admin and event.data["method"] == "totp"
    # The code just given counts: the portal is open now.
    assert client.get("/").status_code == 200


def test_a_wrong_code_does_not_enrol_the_app(client, people):
    sign_in(client, people["admin"])
    client.get(reverse("mfa-totp"))
    device = TOTPDevice.objects.get(user=people["admin"])
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa-totp"), {"name": "", "code": wrong})
    assert response.status_code == 200
    device.refresh_from_db()
    assert not device.confirmed
    assert events(AuditAction.MFA_ENROLLED) == []
    assert client.get("/").status_code == 302


def test_the_scanned_secret_stays_the_same_between_visits(client, people):
    sign_in(client, people["chief"])
    first = client.get(reverse("mfa-totp")).context["secret"]
    assert client.get(reverse("mfa-totp")).context["secret"] == first


# Verification at sign-in ----------------------------------------------------------------


def test_a_person_with_an_app_must_give_a_code_before_any_page(client, people):
    admin = people["admin"]
    device = add_app(admin)
    sign_in(client, admin)
    response = client.get("/manage/policies/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('mfa-verify')}?next=%2Fmanage%2Fpolicies%2F"

    response = client.post(
        f"{reverse('mfa-verify')}?next=/manage/policies/", {"code": code_for(device)}
    )
    assert response.status_code == 302 and response["Location"] == "/manage/policies/"
    assert client.session[second_factor.SESSION_SOURCE] == "totp"
    assert client.get("/manage/policies/").status_code == 200


def test_a_wrong_code_is_refused_and_recorded(client, people):
    admin = people["admin"]
    device = add_app(admin)
    sign_in(client, admin)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa-verify"), {"code": wrong})
    assert response.status_code == 200
    assert second_factor.SESSION_AT not in client.session
    assert client.get("/").status_code == 302
    (event,) = events(AuditAction.MFA_VERIFICATION_FAILED)
    assert event.actor == admin


def test_after_a_wrong_code_even_the_right_one_waits_django_otps_throttle(client, people, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    admin = people["admin"]
    device = add_app(admin)
    sign_in(client, admin)
    client.post(reverse("mfa-verify"), {"code": f"{(int(code_for(device)) + 1) % 1_000_000:06d}"})
    response = client.post(reverse("mfa-verify"), {"code": code_for(device)})
    assert response.status_code == 200
    assert second_factor.SESSION_AT not in client.session
    assert events(AuditAction.MFA_VERIFICATION_FAILED)[-1].data["throttled"] is True


def test_a_code_is_accepted_only_once(client, people):
    admin = people["admin"]
    device = add_app(admin)
    code = code_for(device)
    sign_in(client, admin)
    assert client.post(reverse("mfa-verify"), {"code": code}).status_code == 302
    client.post(reverse("logout"))
    sign_in(client, admin)
    assert client.post(reverse("mfa-verify"), {"code": code}).status_code == 200


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_every_privileged_role_gives_a_second_factor_and_staff_do_not(client, people, role):
    sign_in(client, people[role])
    response = client.get("/")
    if role in MUST:
        assert response.status_code == 302
        assert response["Location"].startswith("/mfa/")
    else:
        assert response.status_code == 200


def test_staff_who_added_an_app_are_asked_for_it_too(client, people):
    add_app(people["staff"])
    sign_in(client, people["staff"])
    assert client.get("/")["Location"].startswith(reverse("mfa-verify"))


def test_a_second_factor_from_the_identity_provider_counts(client, people):
    client.force_login(people["admin"])
    session = client.session
    session[second_factor.SESSION_AT] = time.time()
    session[second_factor.SESSION_SOURCE] = "idp"
    session.save()
    assert client.get("/").status_code == 200
    assert client.get("/manage/policies/").status_code == 200


def test_the_django_admin_asks_for_a_second_factor(client, people):
    superuser = people["staff"]
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    sign_in(client, superuser)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/mfa/")
    verified(client, superuser)
    assert client.get("/admin/").status_code == 200


def test_without_mfa_for_the_admin_a_superuser_without_a_role_is_not_asked(
    client, people, settings
):
    settings.MFA_REQUIRED_FOR_ADMIN = False
    superuser = people["staff"]
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    sign_in(client, superuser)
    assert client.get("/admin/").status_code == 200


def test_what_stays_open_before_the_second_factor(client, people):
    sign_in(client, people["admin"])
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get(reverse("mfa-totp")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302


def test_the_api_answers_403_instead_of_redirecting_a_session(client, people):
    sign_in(client, people["admin"])
    response = client.get("/api/me/", HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert "detail" in response.json()


def test_an_api_caller_with_a_token_is_not_redirected(api_as):
    # A token caller reaches the API as before; the step-ups answer 403 where they apply.
    response = api_as("admin").get("/api/me/")
    assert response.status_code == 200


# Recovery codes -------------------------------------------------------------------------


def test_recovery_codes_are_shown_once_and_each_works_once(client, people):
    admin = people["admin"]
    verified(client, admin)
    response = client.post(reverse("mfa-recovery-codes"))
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(code in response.content.decode() for code in codes)
    (event,) = events(AuditAction.MFA_RECOVERY_CODES_GENERATED)
    assert event.actor == admin
    assert codes[0] not in client.get(reverse("mfa-settings")).content.decode()

    for attempt in range(2):
        client.post(reverse("logout"))
        sign_in(client, admin)
        response = client.post(reverse("mfa-verify"), {"code": codes[0]})
        if attempt == 0:
            assert response.status_code == 302
            assert client.session[second_factor.SESSION_SOURCE] == "recovery"
        else:
            assert response.status_code == 200
            assert second_factor.SESSION_AT not in client.session
    assert StaticDevice.objects.get(user=admin).token_set.count() == 9


def test_new_recovery_codes_replace_the_old_ones(client, people):
    admin = people["admin"]
    verified(client, admin)
    old = client.post(reverse("mfa-recovery-codes")).context["codes"]
    new = client.post(reverse("mfa-recovery-codes")).context["codes"]
    client.post(reverse("logout"))
    sign_in(client, admin)
    assert client.post(reverse("mfa-verify"), {"code": old[1]}).status_code == 200
    assert client.post(reverse("mfa-verify"), {"code": new[1]}).status_code == 302


def test_recovery_codes_need_an_app_or_a_passkey_first(client, people):
    sign_in(client, people["admin"])
    client.post(reverse("mfa-recovery-codes"))
    assert not StaticDevice.objects.filter(user=people["admin"]).exists()


# Removing a device ----------------------------------------------------------------------


def test_a_privileged_person_cannot_remove_their_last_device(client, people):
    admin = people["admin"]
    verified(client, admin)
    device = TOTPDevice.objects.get(user=admin)
    client.post(reverse("mfa-remove"), {"device": device.persistent_id})
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    second = add_app(admin)
    client.post(reverse("mfa-remove"), {"device": second.persistent_id})
    assert not TOTPDevice.objects.filter(pk=second.pk).exists()
    (event,) = events(AuditAction.MFA_REMOVED)
    assert event.data["method"] == "totp"


def test_staff_may_remove_their_only_device(client, people):
    staff = people["staff"]
    verified(client, staff)
    device = TOTPDevice.objects.get(user=staff)
    client.post(reverse("mfa-remove"), {"device": device.persistent_id})
    assert not TOTPDevice.objects.filter(user=staff).exists()


def test_removing_a_device_needs_a_fresh_second_factor(client, people):
    admin = people["admin"]
    verified(client, admin)
    second = add_app(admin)
    age_second_factor(client, 16)
    response = client.post(reverse("mfa-remove"), {"device": second.persistent_id})
    assert response["Location"].startswith(reverse("mfa-verify"))
    assert TOTPDevice.objects.filter(pk=second.pk).exists()


def test_nobody_removes_someone_elses_device(client, people):
    other = add_app(people["ciso"])
    verified(client, people["admin"])
    client.post(reverse("mfa-remove"), {"device": other.persistent_id})
    assert TOTPDevice.objects.filter(pk=other.pk).exists()


# Step-up --------------------------------------------------------------------------------


@pytest.fixture
def approved(documents, people):
    revision = policy_actions.create_draft(
        documents["standard"],
        by=people["admin"],
        body="## 第1章\n\n改定",
        change_summary="改定",
        effective_date=timezone.localdate() + datetime.timedelta(days=1),
    )
    policy_actions.submit_for_review(revision, by=people["admin"])
    return policy_actions.approve(revision, by=people["ciso"])


def publish_page(client, revision):
    page = f"/manage/revisions/{revision.pk}/"
    return client.post(
        f"{page}publish/",
        {"deadline": "", "confirmed": "yes"},
        HTTP_REFERER=f"http://testserver{page}",
    )


def test_publishing_needs_a_second_factor_within_fifteen_minutes(client, people, approved):
    verified(client, people["admin"])
    age_second_factor(client, 16)
    response = publish_page(client, approved)
    page = f"/manage/revisions/{approved.pk}/"
    # Back to the page with the form once the code is given.
    assert (
        response["Location"]
        == f"{reverse('mfa-verify')}?next=http%3A%2F%2Ftestserver{page.replace('/', '%2F')}"
    )
    approved.refresh_from_db()
    assert approved.status == "approved"

    device = TOTPDevice.objects.get(user=people["admin"])
    client.post(response["Location"], {"code": code_for(device, offset=1)})
    publish_page(client, approved)
    approved.refresh_from_db()
    assert approved.status == "published"


def test_a_recent_factor_lets_the_service_publish(client, people, approved):
    verified(client, people["admin"])
    request = client.get("/").wsgi_request
    policy_actions.publish(approved, by=people["admin"], request=request)
    approved.refresh_from_db()
    assert approved.status == "published"


def test_a_stale_factor_refuses_publishing_in_the_service(rf, people, approved):
    request = rf.post("/")
    request.session = {second_factor.SESSION_AT: time.time() - 16 * 60}
    with pytest.raises(second_factor.SecondFactorRequired):
        policy_actions.publish(approved, by=people["admin"], request=request)


def test_assigning_and_revoking_a_role_needs_a_recent_factor(rf, people):
    request = rf.post("/")
    request.user = people["admin"]
    request.session = {}
    with pytest.raises(second_factor.SecondFactorRequired):
        roles.assign_role(people["staff"], Role.AUDITOR, by=people["admin"], request=request)
    second_factor.record(request, "totp")
    assignment = roles.assign_role(
        people["staff"], Role.AUDITOR, by=people["admin"], request=request
    )
    request.session[second_factor.SESSION_AT] = time.time() - 16 * 60
    with pytest.raises(second_factor.SecondFactorRequired):
        roles.revoke_role(assignment, by=people["admin"], request=request)
    # The imports and the management commands pass no request and are never asked.
    roles.revoke_role(assignment, by=people["admin"])


def test_assigning_a_role_in_the_django_admin_asks_for_a_fresh_factor(client, people):
    admin = people["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    verified(client, admin)
    age_second_factor(client, 16)
    response = client.post(
        "/admin/isms/roleassignment/add/",
        {"user": people["staff"].pk, "role": Role.AUDITOR, "department": ""},
        HTTP_REFERER="http://testserver/admin/isms/roleassignment/add/",
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa-verify"))
    assert not people["staff"].role_assignments.exists()


@pytest.fixture
def planned_finding(org, people):
    cycle = open_cycle(people, [org["somu"]])
    audit_services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    finding = record_finding(cycle, org["somu"], by=people["auditor"])
    audit_services.add_corrective_action(
        finding,
        by=people["head"],
        owner=people["chief"],
        plan="更新する",
        due_on=timezone.localdate(),
    )
    return finding


def test_closing_a_finding_needs_a_recent_factor(client, people, planned_finding):
    auditor = people["auditor"]
    verified(client, auditor)
    age_second_factor(client, 16)
    url = f"/audits/findings/{planned_finding.pk}/"
    # Even a confirmed close (the confirmation page's POST) asks for the factor again.
    response = client.post(
        f"{url}close/", {"confirmed": "yes"}, HTTP_REFERER=f"http://testserver{url}"
    )
    assert response["Location"].startswith(reverse("mfa-verify"))
    planned_finding.refresh_from_db()
    assert planned_finding.status == FindingStatus.ACTION_PLANNED

    age_second_factor(client, 1)
    client.post(f"{url}close/", {"confirmed": "yes"})
    planned_finding.refresh_from_db()
    assert planned_finding.status == FindingStatus.CLOSED


def test_the_api_refuses_closing_without_a_recent_factor_with_403(api_as, people, planned_finding):
    response = api_as("auditor").post(f"/api/findings/{planned_finding.pk}/close/")
    assert response.status_code == 403
    planned_finding.refresh_from_db()
    assert planned_finding.status == FindingStatus.ACTION_PLANNED


# The pages against every role -----------------------------------------------------------

PAGES = ["mfa-settings", "mfa-totp", "mfa-verify"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", PAGES)
def test_every_role_reaches_its_own_pages_and_anonymous_visitors_sign_in(
    client, people, role, name
):
    if role != "anonymous":
        verified(client, people[role])
    response = client.get(reverse(name))
    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", ["mfa-recovery-codes", "mfa-remove"])
def test_the_changes_are_posted_by_signed_in_people_only(client, people, role, name):
    if role != "anonymous":
        verified(client, people[role])
    response = client.post(reverse(name), {"device": "otp_totp.totpdevice/0"})
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code in (200, 302)
        assert not response.get("Location", "").startswith(reverse("login"))


# Passkeys and the page's security headers -----------------------------------------------


def test_adding_a_passkey_next_to_an_app_needs_a_fresh_second_factor(client, people):
    verified(client, people["admin"])
    begin = reverse("otp_webauthn:credential-registration-begin")
    assert client.post(begin, content_type="application/json").status_code == 200
    age_second_factor(client, 16)
    response = client.post(begin, content_type="application/json")
    assert response.status_code == 403


def test_the_enrolment_page_keeps_the_strict_content_security_policy(client, people):
    sign_in(client, people["admin"])
    response = client.get(reverse("mfa-totp"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    html = response.content.decode()
    # The QR code is drawn inline, with no style attribute for the policy to block.
    assert "<svg" in html and "style=" not in html
    assert "<script>" not in html


def test_the_passkey_scripts_speak_japanese(client, people):
    client.force_login(people["staff"])
    catalogue = client.get(reverse("otp_webauthn:js-i18n-catalog")).content.decode()
    # The catalogue is a script: its strings are JSON, non-ASCII escaped.
    assert json.dumps("パスキーを登録")[1:-1] in catalogue


def test_the_django_admin_never_shows_a_persons_totp_secret(client, people):
    admin = people["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    device = add_app(people["ciso"])
    verified(client, admin)
    page = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert page.status_code == 200
    assert device.key not in page.content.decode()
