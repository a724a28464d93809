import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from .factories import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def test_passwords_are_stored_with_argon2(people):
    people["staff"].set_password("a-new-long-password-42")
    assert people["staff"].password.startswith("argon2")


def test_logging_in_with_the_right_password_opens_the_portal(client, people):
    response = client.post(reverse("login"), {"username": "staff_joho", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == people["staff"]


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(client, people):
    for _ in range(5):
        response = client.post(reverse("login"), {"username": "staff_joho", "password": "wrong"})
    assert response.status_code == 429
    response = client.post(reverse("login"), {"username": "staff_joho", "password": PASSWORD})
    assert response.status_code == 429
    assert "30" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lockout_of_one_person_leaves_the_others_alone(client, people):
    for _ in range(5):
        client.post(reverse("login"), {"username": "staff_joho", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "chief_joho", "password": PASSWORD})
    assert response.status_code == 302


def test_forms_are_protected_against_cross_site_requests(people):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "staff_joho", "password": PASSWORD})
    assert response.status_code == 403


def test_pages_carry_a_content_security_policy_that_allows_only_the_portal_itself(client, db):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "http" not in policy.replace("https:", "")  # no outside origin is named
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_pages_load_nothing_from_outside_the_portal(client, documents, people):
    client.force_login(people["staff"])
    for url in ["/", "/policy/", "/policies/standard/", "/acknowledgements/", "/api/docs/"]:
        html = client.get(url).content.decode()
        for marker in ('src="http', "src='http", 'href="http', "href='http", "//cdn", "fonts."):
            assert marker not in html, f"{url} loads {marker}"


# --- Permissions-Policy and Cache-Control ----------------------------------------------

DENIED_FEATURES = ["camera", "microphone", "geolocation", "payment", "usb"]


def denied_features(response):
    """The browser features the response's Permissions-Policy switches off for everyone."""
    policy = response.get("Permissions-Policy", "")
    return {
        name.strip()
        for name, _sep, allowlist in (part.partition("=") for part in policy.split(","))
        if allowlist.strip() == "()"
    }


def never_stored(response):
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives


@pytest.fixture
def evidence(settings, tmp_path, org, people):
    """A PDF on a finding of 総務部's self-inspection, which head_somu may download."""
    from audits import services

    from .audit_helpers import open_cycle, record_finding, upload

    settings.MEDIA_ROOT = tmp_path / "media"
    cycle = open_cycle(people, [org["somu"]])
    finding = record_finding(cycle, org["somu"], by=people["admin"])
    return services.attach_evidence(upload(), by=people["head"], finding=finding)


def test_every_response_switches_off_camera_microphone_and_location(client, documents, people):
    anonymous = [client.get("/policy/"), client.get("/accounts/login/"), client.get("/nowhere/")]
    static = client.get("/static/css/portal.css")
    client.force_login(people["staff"])
    signed_in = [client.get("/"), client.get("/api/departments/")]
    for response in [*anonymous, static, *signed_in]:
        assert set(DENIED_FEATURES) <= denied_features(response), response.request["PATH_INFO"]


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/policies/standard/",
        "/acknowledgements/",
        "/assets/",
        "/notifications/",
        "/api/departments/",
        "/api/policies/",
        "/assets/export/?output=csv",
        "/assets/export/?output=xlsx",
        "/assets/template.csv",
    ],
)
def test_nothing_a_signed_in_person_gets_may_be_stored_by_a_browser_or_proxy(
    client, documents, people, catalogue, url
):
    client.force_login(people["head"])
    response = client.get(url)
    assert response.status_code == 200
    assert never_stored(response)
    assert "public" not in response["Cache-Control"]


def test_a_department_s_acknowledgement_csv_is_never_stored(client, standard, people):
    client.force_login(people["head"])
    response = client.get(f"/acknowledgements/status/{standard.pk}/?export=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert never_stored(response)


def test_an_evidence_download_is_never_stored(client, evidence, people):
    client.force_login(people["head"])
    for url in [f"/audits/evidence/{evidence.pk}/", f"/api/evidence/{evidence.pk}/download/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "attachment" in response["Content-Disposition"]
        assert never_stored(response), url


def test_an_api_answer_to_a_token_caller_is_never_stored(people):
    from rest_framework.test import APIClient

    from isms.tokens import issue_token

    _token, key = issue_token(people["staff"], name="tests")
    response = APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert never_stored(response)


def test_the_public_policy_stays_cacheable_for_anonymous_visitors(client, documents):
    response = client.get("/policy/")
    assert response.status_code == 200
    assert not never_stored(response)


def _run(command, **extra_env):
    # The settings a deployment runs with (manage.py's isms.settings), not the test settings
    # this process passes on in DJANGO_SETTINGS_MODULE.
    unset = ("DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_portal_refuses_to_start_without_a_secret_key_in_production():
    result = _run(["check"], DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_the_deployment_checklist_is_clean_with_production_settings():
    result = _run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="isms.city.example.jp",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
