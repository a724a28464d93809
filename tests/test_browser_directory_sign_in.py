"""The directory sign-in in a real headless Chromium (issue 10): a member of staff signs in
on the login page with their password of the city's directory (a real slapd,
tests/ldap_server.py) and finds what waits for them on the home page; with the directory
down the page says so and the programme office's local account still signs in."""

import datetime

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from isms.models import AuditAction, AuditEvent

from .browser import SCREENS
from .conftest import PASSWORD, publish
from .ldap_server import DIRECTORY_PASSWORD, stopped

pytestmark = pytest.mark.browser


@pytest.fixture
def open_login(new_page, live_server):
    def open_login():
        page = new_page(live_server.url)
        page.goto("/accounts/login/")
        return page

    return open_login


def submit(page, username, password):
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")


def test_staff_sign_in_with_their_directory_password_and_see_what_waits_for_them(
    people_live, documents_live, directory, open_login, live_server
):
    people, standard = people_live, documents_live["standard"]
    revision = publish(
        standard,
        author=people["admin"],
        approver=people["ciso"],
        body="## 第1章\n\n職員向けの基準\n\n## 第2章\n\n離席時は画面をロックする。",
        deadline=timezone.localdate() + datetime.timedelta(days=14),
    )

    page = open_login()
    submit(page, "staff_joho", DIRECTORY_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/")
    # The directory's display name is what the portal now shows for them.
    expect(page.get_by_test_id("current-user")).to_contain_text("情報 太郎")
    panel = page.get_by_test_id("pending-panel")
    expect(panel).to_be_visible()
    # Named with its number and effective date (第N版（…施行）), like every revision.
    with translation.override("ja"):
        name = revision.full_name
    expect(panel.locator(f'a[href="/acknowledgements/revisions/{revision.pk}/"]')).to_have_text(
        name
    )
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENS / "directory-sign-in-home.png", full_page=True)
    event = AuditEvent.objects.get(action=AuditAction.SIGNIN_SUCCEEDED)
    assert (event.actor, event.data) == (people["staff"], {"method": "ldap"})


def test_someone_the_portal_does_not_know_is_told_so_on_the_login_page(
    people_live, directory, open_login, live_server
):
    page = open_login()
    submit(page, "newcomer", DIRECTORY_PASSWORD)
    expect(page.get_by_test_id("sign-in-problem")).to_contain_text("登録されていません")
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    page.screenshot(path=SCREENS / "directory-sign-in-refused.png", full_page=True)


def test_with_the_directory_down_the_page_says_so_and_the_emergency_account_signs_in(
    people_live, directory, open_login, live_server
):
    with stopped(directory):
        page = open_login()
        submit(page, "staff_joho", DIRECTORY_PASSWORD)
        expect(page.get_by_test_id("sign-in-problem")).to_contain_text("接続できません")
        page.screenshot(path=SCREENS / "directory-down.png", full_page=True)
        submit(page, "admin", PASSWORD)
        expect(page).to_have_url(f"{live_server.url}/")
        expect(page.get_by_test_id("current-user")).to_be_visible()
