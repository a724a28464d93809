"""The dashboard in a real headless Chromium: Chart.js (served by the portal) draws every
chart under the Content-Security-Policy, from the figures json_script wrote, at 1366 px and
at 390 px, for the CISO (the city) and for a head (their department); nothing is logged as
an error and no CSP directive is violated. The README's dashboard screenshots come from here.

Run alone with `pytest -m browser tests/test_browser_dashboard.py`.
"""

import pytest
from playwright.sync_api import expect

from .browser import PHONE, SCREENS, assert_fits_the_screen
from .test_dashboard import world  # noqa: F401 - fixture: the figures the charts draw

pytestmark = pytest.mark.browser

SCREENSHOTS = SCREENS
DESKTOP = {"viewport": {"width": 1366, "height": 768}}
# Collected before any script of the page runs (an init script is not subject to the CSP).
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
CANVASES = """() => [...document.querySelectorAll("canvas[data-figures]")].map((canvas) => ({
  id: canvas.id,
  width: canvas.getBoundingClientRect().width,
  height: canvas.getBoundingClientRect().height,
  drawn: Boolean(window.Chart && window.Chart.getChart(canvas)),
}))"""


def open_dashboard(log_in, username, options):
    page = log_in(username, **options)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(WATCH_CSP)
    page.goto("/dashboard/")
    expect(page.locator("h1")).to_be_visible()
    return page, errors


def assert_drawn(page, errors, expected_charts):
    canvases = page.evaluate(CANVASES)
    assert [c["id"] for c in canvases] == [f"chart-{key}" for key in expected_charts]
    for canvas in canvases:
        assert canvas["drawn"], f"{canvas['id']}: no Chart instance"
        assert canvas["width"] > 0 and canvas["height"] > 0, canvas
    # Drawn, so each chart's table folds away, one click from being read.
    for details in page.locator("details.chart-table").all():
        expect(details).not_to_have_attribute("open", "")
    assert page.evaluate("window.__violations") == []
    assert errors == []


@pytest.mark.usefixtures("people_live", "world")
def test_the_ciso_sees_every_chart_drawn_on_a_desktop_and_on_a_phone(log_in):
    charts = ["acknowledgements", "training", "findings", "overdue", "assets"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page, errors = open_dashboard(log_in, "ciso", DESKTOP)
    assert_drawn(page, errors, charts)
    page.screenshot(path=SCREENSHOTS / "dashboard.png", full_page=True)

    page, errors = open_dashboard(log_in, "ciso", PHONE)
    assert_drawn(page, errors, charts)
    assert_fits_the_screen(page)
    # The table stays one tap away on a phone, in its own scrolling box.
    page.locator("details.chart-table summary").first.click()
    expect(page.get_by_test_id("table-acknowledgements")).to_be_visible()
    assert_fits_the_screen(page)
    page.locator("details.chart-table summary").first.click()
    page.screenshot(path=SCREENSHOTS / "dashboard-phone.png", full_page=True)


@pytest.mark.usefixtures("people_live", "world")
def test_a_head_sees_their_departments_charts_on_a_desktop_and_on_a_phone(log_in):
    charts = ["acknowledgements", "training", "findings", "overdue", "assets"]
    for options in (DESKTOP, PHONE):
        page, errors = open_dashboard(log_in, "head_somu", options)
        expect(page.get_by_test_id("dashboard-scope")).to_have_text("総務部")
        assert_drawn(page, errors, charts)
        assert_fits_the_screen(page)
        labels = page.evaluate(
            "JSON.parse(document.getElementById('chart-acknowledgements-figures').textContent)"
            ".labels"
        )
        assert labels == ["総務部", "情報政策課", "総務課"]
