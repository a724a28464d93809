"""The accessibility gate itself (tests/accessibility_gate.py): it reports what axe finds on
a deliberately broken page, in both languages and at both widths, fails a test with one
readable report, tells a page the test moved on from a page that broke, and runs under the
portal's Content-Security-Policy without a console error. The shell's own pages (sign-in,
account, errors, personnel, acknowledgement status) are walked here so the gate sees them.
"""

import datetime
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .accessibility_gate import RECORDER, Recorder, Report, check, check_context
from .browser import PHONE
from .conftest import PASSWORD, publish

pytestmark = pytest.mark.browser

# No lang, an image without text, an unlabelled field, a line no phone can hold.
BROKEN = (
    "<!doctype html><html><head><title>broken</title></head><body><main>"
    '<h1>broken</h1><img src="/static/none.png"><input type="text" name="q">'
    f"<pre>{'x' * 300}</pre></main></body></html>"
)


@pytest.fixture
def context(browser, live_server):
    """A context of its own, outside new_page: the hook must not check it again."""
    context = browser.new_context(base_url=live_server.url, locale="ja-JP")
    context.set_default_timeout(10_000)
    recorder = Recorder()
    recorder.attach(context)
    yield context, recorder
    context.close()


def serve(context, path, *answers):
    """Answers the path with each (status, body) in turn, the last one from then on; the
    body of a 302 is where it redirects to."""
    answers = list(answers)

    def fulfil(route):
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        if status == 302:
            route.fulfill(status=302, headers={"location": body})
        else:
            route.fulfill(status=status, content_type="text/html; charset=utf-8", body=body)

    context.route(lambda url: urlsplit(url).path == path, fulfil)


def test_the_gate_reports_a_broken_page_in_both_languages_and_at_both_widths(context):
    context, recorder = context
    serve(context, "/broken/", (200, BROKEN))
    context.new_page().goto("/broken/?page=1")

    report = Report()
    check_context(context, recorder, report)

    rules = {finding.rule: finding for finding in report.findings.values()}
    assert {"image-alt", "label", "html-has-lang"} <= set(rules)
    assert rules["image-alt"].impact == "critical"
    assert rules["image-alt"].url == "/broken/?page=1"
    assert rules["image-alt"].targets == ["img"]
    assert rules["image-alt"].variants == ["ja 390px", "ja 1366px", "en 390px", "en 1366px"]
    assert report.checked == 4
    too_wide = [problem for problem in report.problems if "scrolls sideways" in problem]
    assert len(too_wide) == 2 and all("390px]" in problem for problem in too_wide)
    # The page ignores the language asked for.
    assert any("<html lang=''>" in problem for problem in report.problems)


def test_the_gate_fails_the_test_with_one_report_naming_page_rule_and_element(context):
    context, recorder = context
    serve(context, "/broken/", (200, BROKEN))
    context.new_page().goto("/broken/")

    class Item:
        nodeid = "a journey"
        stash = pytest.Stash()

    Item.stash[RECORDER] = [(context, recorder)]
    with pytest.raises(pytest.fail.Exception) as failure:
        check(Item)

    text = str(failure.value)
    assert text.startswith("Accessibility gate:")
    assert "\n/broken/\n" in text
    assert "image-alt (critical) [ja 390px, ja 1366px, en 390px, en 1366px]" in text
    assert "at img" in text
    assert "/broken/ [ja 390px]: the page scrolls sideways (" in text


def test_pages_seen_without_javascript_are_checked_in_the_same_session(
    browser, live_server, people_live
):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    recorder = Recorder(javascript=False)
    recorder.attach(context)
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", "staff_joho")
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        page.goto("/accounts/")

        report = Report()
        check_context(context, recorder, report)
    finally:
        context.close()

    # Signed in still: the account page answered, it did not send to the login page.
    assert report.skipped == [] and report.problems == []
    assert report.checked == 4 * len(recorder.visits) == 12


def test_a_page_the_test_moved_on_is_skipped_and_a_page_that_broke_fails(context):
    context, recorder = context
    page = context.new_page()
    serve(context, "/one-time/", (200, BROKEN), (404, "<html lang=ja></html>"))
    serve(context, "/moved/", (200, BROKEN), (302, "/one-time/"))
    serve(context, "/crashes/", (200, BROKEN), (500, "<html lang=ja></html>"))
    for path in ("/one-time/", "/moved/", "/crashes/"):
        page.goto(path)

    report = Report()
    check_context(context, recorder, report)

    assert report.skipped == ["/one-time/: now 404", "/moved/: now redirects to /one-time/"]
    assert report.problems == ["/crashes/ [ja]: answered 200 in the test, 500 now"]
    assert report.findings == {} and report.checked == 0


def test_axe_runs_under_the_portals_content_security_policy_without_a_console_error(
    context, live_server
):
    context, recorder = context
    response = context.new_page().goto("/accounts/login/")
    policy = response.header_value("content-security-policy")
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy

    report = Report()
    check_context(context, recorder, report)

    assert report.checked == 4
    assert report.problems == []
    assert report.findings == {}


# The shell's pages, walked for the gate (it fails these tests on any violation). ---------


def test_the_sign_in_pages_and_the_not_found_page_pass_the_gate(new_page, live_server):
    page = new_page(live_server.url)
    page.goto("/accounts/login/")
    expect(page.locator("#id_username")).to_be_visible()
    page.goto("/accounts/password/reset/")
    page.goto("/no-such-page/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")


def test_a_members_own_pages_and_the_forbidden_page_pass_the_gate(people_live, log_in):
    page = log_in("staff_joho")
    for path in (
        "/accounts/",
        "/accounts/password/change/",
        "/accounts/sessions/",
        "/accounts/tokens/",
        "/mfa/",
        "/notifications/",
        "/acknowledgements/",
    ):
        assert page.goto(path).status == 200, path
    assert page.goto("/people/imports/").status == 403


def test_the_personnel_and_acknowledgement_status_pages_pass_the_gate(
    people_live, documents_live, log_in
):
    people, standard = people_live, documents_live["standard"]
    revision = publish(
        standard,
        author=people["admin"],
        approver=people["ciso"],
        body="## 第1章\n\n職員向けの基準\n\n## 第2章\n\nUSBメモリの持ち出しを禁止する。",
        deadline=timezone.localdate() + datetime.timedelta(days=14),
    )
    admin = log_in("admin")
    for path in (
        "/people/imports/",
        "/organisation/",
        f"/organisation/{people['staff'].section.code}/",
        f"/people/{people['staff'].pk}/postings/",
        "/acknowledgements/status/",
        f"/acknowledgements/status/{revision.pk}/",
    ):
        assert admin.goto(path).status == 200, path
    head = log_in("head_somu", **PHONE)
    assert head.goto(f"/acknowledgements/status/{revision.pk}/").status == 200
