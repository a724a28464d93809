"""What the browser journeys share: Debian's headless Chromium driven by Playwright, a
login through the real form, and the personas committed for the live server's thread.
The fixtures are made available to every test file by tests/conftest.py."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .accessibility_gate import RECORDER, Recorder
from .factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots for people to look at, outside the repository.
# SCREENSHOTS_DIR=docs/screenshots refreshes the ones the README shows (README, "Screenshots").
SCREENS = Path(os.environ.get("SCREENSHOTS_DIR", "/tmp/isms-screens")).resolve()
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed (bin/setup-system installs it)")
    # Playwright's sync API keeps an asyncio loop running in this thread, which Django's
    # ORM would otherwise refuse to be called from (the test body creates and reads rows).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def people_live(transactional_db, people):
    """The personas, committed, so the live server's thread sees them."""
    return people


@pytest.fixture
def documents_live(transactional_db, documents):
    return documents


@pytest.fixture
def new_page(browser, request):
    """new_page(base_url, **context options) -> a page in a fresh browser context of a
    Japanese reader in Tokyo; the contexts close after the test.

    Every page shown in these contexts goes through the accessibility gate after a passing
    test body (tests/accessibility_gate.py)."""
    contexts = []
    request.node.stash[RECORDER] = recorded = []

    def new_page(base_url, **context_options):
        context = browser.new_context(
            base_url=base_url, locale="ja-JP", timezone_id="Asia/Tokyo", **context_options
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        recorder = Recorder(javascript=context_options.get("java_script_enabled", True))
        recorder.attach(context)
        recorded.append((context, recorder))
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture
def log_in(new_page, live_server):
    """log_in("admin", **context options) -> a page in a fresh browser context, logged in
    through the form."""

    def log_in(username, **context_options):
        page = new_page(live_server.url, **context_options)
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        expect(page).to_have_url(f"{live_server.url}/")
        # Attached, not visible: on a phone the account links fold behind the menu button.
        expect(page.get_by_test_id("current-user")).to_be_attached()
        return page

    return log_in


def assert_fits_the_screen(page):
    """Wide content (tables, hashes) scrolls inside its own box, not the whole page."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide on a phone"
