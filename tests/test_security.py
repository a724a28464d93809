import os
import secrets
import subprocess
import sys
from pathlib import Path

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


def _run(command, **extra_env):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
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
