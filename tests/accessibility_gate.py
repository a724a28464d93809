"""The accessibility gate of the browser journeys (issue 12).

Every page a browser test visits is checked again when the test body has passed: in
Japanese and in English, 1366 px and 390 px wide, with axe-core (bundled by the PyPI
package axe-playwright-python). A critical or serious violation, a page wider than a phone,
a page that no longer answers as it did or a Content-Security-Policy error in the console
fails the test, with one report of everything found.

How it hooks in: tests/browser.py's `new_page` fixture gives every browser context a
`Recorder`, which notes each main-frame HTML answer (after redirects, so a form post that
redirects records the page it lands on); the hook `pytest_runtest_call` (imported by
tests/conftest.py) runs `check` right after a passing test body, while the live server, the
settings the test changed and the browser contexts (their sessions) are all still there.

axe is injected with page.evaluate, which the DevTools protocol runs outside the page's
Content-Security-Policy, so the portal's CSP (no inline script, no eval) stays as it is.

Set AXE_LOG=/some/file.jsonl to append every finding as a JSON line (for a report across
the whole suite); then the pages a failing test reached are checked and logged too.
"""

import json
import os
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from django.conf import settings

LANGUAGES = ("ja", "en")
WIDTHS = {1366: 768, 390: 844}
FAILING_IMPACTS = ("critical", "serious")
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    # Only what fails the gate is worth serialising back to Python.
    "resultTypes": ["violations"],
}
# Answers that say the test itself moved the page on (a one-time page used up, a draft
# published, an enrolment done), not that something broke: such a page is listed as
# skipped. Anything else that differs from what the test saw, a 500 above all, fails.
MOVED_ON = {403, 404, 405, 410}

RECORDER = pytest.StashKey["list"]()


@dataclass
class Visit:
    url: str
    status: int


@dataclass
class Recorder:
    """What one browser context showed in its main frames, in the order it was shown."""

    visits: dict = field(default_factory=dict)  # path+query -> Visit (the first one)
    csp_errors: list = field(default_factory=list)
    # A context without JavaScript cannot run axe (nor a timer): its pages are checked in
    # a sibling context holding the same cookies, so the same session.
    javascript: bool = True

    def attach(self, context):
        context.on("response", self.on_response)
        context.on("console", self.on_console)

    def on_response(self, response):
        request = response.request
        if request.resource_type != "document" or not request.is_navigation_request():
            return
        frame = request.frame
        if frame.parent_frame is not None:
            return
        if 300 <= response.status < 400:
            return  # the page it redirects to is recorded in its turn
        if "text/html" not in (response.header_value("content-type") or ""):
            return  # downloads: PDF certificates, CSV exports
        key = path_and_query(response.url)
        self.visits.setdefault(key, Visit(response.url, response.status))

    def on_console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_errors.append(f"{message.page.url if message.page else '?'}: {message.text}")


def path_and_query(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Finding:
    url: str
    rule: str
    impact: str
    help: str
    targets: list
    variants: list = field(default_factory=list)
    help_url: str = ""


class Report:
    def __init__(self):
        self.findings = {}  # (url, rule, targets) -> Finding
        self.problems = []  # plain sentences: wrong status, wrong language, too wide...
        self.skipped = []
        self.checked = 0

    def violation(self, url, variant, violation):
        for node in violation["nodes"]:
            targets = [" ".join(map(str, t)) if isinstance(t, list) else t for t in node["target"]]
            key = (url, violation["id"], tuple(targets))
            finding = self.findings.setdefault(
                key,
                Finding(
                    url,
                    violation["id"],
                    violation["impact"],
                    violation["help"],
                    targets,
                    help_url=violation.get("helpUrl", ""),
                ),
            )
            finding.variants.append(variant)

    def text(self, seconds):
        lines = [
            f"Accessibility gate: {len(self.findings)} axe violation(s) (critical/serious) and "
            f"{len(self.problems)} other problem(s); {self.checked} page views checked "
            f"in {seconds:.1f}s (loading {TIMES['load']:.1f}s, axe {TIMES['axe']:.1f}s)"
        ]
        by_url = {}
        for finding in self.findings.values():
            by_url.setdefault(finding.url, []).append(finding)
        for url, findings in by_url.items():
            lines.append(f"\n{url}")
            for f in findings:
                lines.append(
                    f"  {f.rule} ({f.impact}) [{', '.join(f.variants)}]: {f.help}\n"
                    f"      at {' | '.join(f.targets)}"
                )
        if self.problems:
            lines.append("\nOther problems:")
            lines.extend(f"  {problem}" for problem in self.problems)
        if self.skipped:
            lines.append("\nSkipped (the test moved these pages on):")
            lines.extend(f"  {skip}" for skip in self.skipped)
        return "\n".join(lines)

    def log(self, test_id, seconds):
        path = os.environ.get("AXE_LOG")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as out:
            summary = {"checked": self.checked, "seconds": round(seconds, 1), **TIMES}
            out.write(json.dumps({"test": test_id, "kind": "summary", **summary}) + "\n")
            for f in self.findings.values():
                out.write(json.dumps({"test": test_id, "kind": "axe", **f.__dict__}) + "\n")
            for problem in self.problems:
                out.write(json.dumps({"test": test_id, "kind": "problem", "text": problem}) + "\n")
            for skip in self.skipped:
                out.write(json.dumps({"test": test_id, "kind": "skipped", "text": skip}) + "\n")


# Where the gate's time goes (page loads, axe itself), shown in its report.
TIMES = {"load": 0.0, "axe": 0.0}


def run_axe(page):
    # Injected into the page's own world through the DevTools protocol, which the page's
    # Content-Security-Policy does not govern (a <script> tag would be refused);
    # check_context adds it as an init script; this is for any other page.
    started = time.monotonic()
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    violations = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    TIMES["axe"] += time.monotonic() - started
    return violations["violations"]


def check_page(page, report, url, variant, width):
    """axe and, on a phone, the page's width, for the page now loaded."""
    for violation in run_axe(page):
        if violation["impact"] in FAILING_IMPACTS:
            report.violation(url, variant, violation)
    if width < 1000:
        scroll, client = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        if scroll > min(client, width):
            report.problems.append(
                f"{url} [{variant}]: the page scrolls sideways ({scroll}px wide, screen {width}px)"
            )
    report.checked += 1


def settle(page):
    """Two animation frames: the layout after a resize has been drawn."""
    # With a timer besides: a page Chromium deems hidden gets no frames, and an evaluate
    # never times out.
    page.evaluate(
        "new Promise(r => { requestAnimationFrame(() => requestAnimationFrame(r));"
        " setTimeout(r, 250); })"
    )


def check_context(context, recorder, report):
    if not recorder.visits:
        return
    if recorder.javascript:
        check_pages(context, recorder, report)
        return
    sibling = context.browser.new_context(storage_state=context.storage_state())
    sibling.set_default_timeout(10_000)
    try:
        check_pages(sibling, recorder, report)
    finally:
        sibling.close()


def check_pages(context, recorder, report):
    page = context.new_page()
    # Parsed as each page starts, outside its CSP: cheaper than sending it each time.
    page.add_init_script(AXE_SCRIPT)
    errors = []
    page.on(
        "console",
        lambda m: (
            errors.append(f"{page.url}: {m.text}")
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(next(iter(recorder.visits.values())).url))
    # Each page is loaded once per language at phone width, the width where layout goes
    # wrong (a chart sized at load, a wide table), then widened and checked again: half
    # the loads of four separate visits, the same CSS.
    (phone, phone_height), (desktop, desktop_height) = sorted(WIDTHS.items())
    live = dict(recorder.visits)
    try:
        for language in LANGUAGES:
            context.add_cookies(
                [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": origin}]
            )
            first = language == LANGUAGES[0]
            for key, visit in list(live.items()):
                page.set_viewport_size({"width": phone, "height": phone_height})
                t = time.monotonic()
                response = page.goto(origin + key)
                TIMES["load"] += time.monotonic() - t
                if not still_the_same(page, response, key, visit, language, first, report):
                    del live[key]
                    continue
                check_page(page, report, key, f"{language} {phone}px", phone)
                page.set_viewport_size({"width": desktop, "height": desktop_height})
                settle(page)
                check_page(page, report, key, f"{language} {desktop}px", desktop)
    finally:
        page.close()
    # The test's contexts report their console to the recorder as well: each message once.
    report.problems.extend(
        f"console: {error}" for error in dict.fromkeys(recorder.csp_errors + errors)
    )


def still_the_same(page, response, key, visit, language, first, report):
    """Whether the page answers as it did in the test (and in the right language); the
    first language decides whether a page the test moved on is skipped."""
    status = response.status if response else 0
    redirected = response is not None and response.request.redirected_from is not None
    if status == visit.status and not redirected:
        lang = page.evaluate("document.documentElement.lang")
        if lang != language:
            report.problems.append(f"{key} [{language}]: <html lang={lang!r}>")
        return True
    if first and visit.status == 200 and (redirected or status in MOVED_ON):
        now = f"now redirects to {path_and_query(page.url)}" if redirected else f"now {status}"
        report.skipped.append(f"{key}: {now}")
    else:
        report.problems.append(
            f"{key} [{language}]: answered {visit.status} in the test, {status} now"
            + (f" (redirected to {path_and_query(page.url)})" if redirected else "")
        )
    return False


def check(item):
    """Runs after a passing test body; fails the test with the report."""
    recorders = item.stash.get(RECORDER, None)
    if not recorders:
        return
    started = time.monotonic()
    TIMES.update(load=0.0, axe=0.0)
    report = Report()
    for context, recorder in recorders:
        check_context(context, recorder, report)
    seconds = time.monotonic() - started
    report.log(item.nodeid, seconds)
    if report.findings or report.problems:
        pytest.fail(report.text(seconds), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        result = yield
    except (Exception, pytest.fail.Exception):
        # The yield raises when the test body failed: its own failure is what counts. With
        # AXE_LOG set, the pages it reached are still checked and logged (a survey of the
        # whole suite while journeys are being reworked), never turning the failure green.
        if os.environ.get("AXE_LOG"):
            try:
                check(item)
            except (Exception, pytest.fail.Exception):  # noqa: S110 - logged to AXE_LOG
                pass
        raise
    check(item)
    return result
