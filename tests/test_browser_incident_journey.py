"""An incident walked end to end in a real headless Chromium against a live server.

A member of staff reports a lost USB stick holding personal data from a phone-sized window;
the CSIRT triages it and the Personal Information Protection Commission's obligation appears
with its clock; the test moves the clock and runs the reminder job, which tells the CSIRT
once; the prompt report is marked sent; the incident is contained, eradicated, recovered
and reviewed, a lesson goes to the policy review backlog, and a draft revision of the
standard cites it. Run alone with `pytest -m browser`; Debian's /usr/bin/chromium is used.

Assertions rest on URLs, values, data-testid attributes and model state, not on translated
text.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents import tasks
from incidents.models import Incident, ObligationStage, Status
from isms import policy_actions, review
from isms.models import Notification, Role
from isms.roles import assign_role

from .browser import PHONE, SCREENS, assert_fits_the_screen
from .factories import UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def csirt_live(people_live, org):
    person = UserFactory(username="csirt_joho", display_name="CSIRT 対応", section=org["joho"])
    assign_role(person, Role.CSIRT)
    return person


def test_a_lost_usb_stick_is_reported_handled_reported_to_the_ppc_and_feeds_the_policy_review(
    people_live, documents_live, csirt_live, log_in, live_server
):
    people, csirt = people_live, csirt_live

    # A member of staff reports from a phone, through the link in the header.
    staff = log_in("staff_joho", **PHONE)
    staff.get_by_test_id("header-action").click()
    expect(staff).to_have_url(f"{live_server.url}/incidents/report/")
    form = staff.get_by_test_id("incident-report-form")
    form.locator("#id_title").fill("個人情報を含むUSBメモリを紛失")
    form.locator("#id_personal_data").check()
    form.locator("#id_description").fill("市営バスの車内で紛失。住民120名分の氏名と住所。")
    assert_fits_the_screen(staff)
    staff.get_by_test_id("submit-report").click()
    incident = Incident.objects.get()
    expect(staff).to_have_url(f"{live_server.url}/incidents/{incident.pk}/")
    expect(staff.get_by_test_id("incident-status")).to_have_class(re.compile(r"\breported\b"))
    assert (incident.reported_by, incident.department, incident.personal_data) == (
        people["staff"],
        people["staff"].section,
        True,
    )
    staff.screenshot(path=SCREENS / "incident-reported-phone.png", full_page=True)

    # The CSIRT triages it; the PPC obligation appears with its clock.
    team = log_in("csirt_joho")
    team.goto(f"/incidents/{incident.pk}/")
    triage = team.get_by_test_id("triage-form")
    triage.locator("#id_category").select_option(label="操作・設定ミス・紛失")
    triage.locator("#id_severity").select_option("high")
    triage.locator("#id_owner").select_option(str(csirt.pk))
    triage.locator("#id_affected_people").fill("120")
    triage.locator("button").click()
    expect(team.get_by_test_id("incident-status")).to_have_class(re.compile(r"\btriaged\b"))
    expect(team.get_by_test_id("incident-owner")).to_contain_text("CSIRT 対応")
    obligations = team.get_by_test_id("obligation")
    ppc = obligations.filter(has_text="個人情報保護委員会").first
    expect(ppc).to_be_visible()
    prompt = ObligationStage.objects.get(
        obligation__incident=incident,
        obligation__rule__name__startswith="個人情報の漏えい等",
        stage_rule__order=1,
    )
    incident.refresh_from_db()
    assert prompt.due_at == incident.triaged_at + datetime.timedelta(days=5)
    expect(ppc.get_by_test_id("stage-due").first).not_to_be_empty()

    # The clock moves to a day before the deadline: the job tells the CSIRT, once.
    one_day_before = prompt.due_at - datetime.timedelta(days=1)
    tasks.remind_reporting_clocks(now=one_day_before)
    tasks.remind_reporting_clocks(now=one_day_before)
    reminders = Notification.objects.filter(recipient=csirt, kind="incident_report.due_soon")
    assert reminders.count() >= 1
    assert reminders.filter(task_key=f"incident-report:{prompt.pk}").count() == 1

    # The prompt report is sent: its reminder is done.
    team.reload()
    row = team.get_by_test_id("report-stage").filter(has_text="速報").first
    row.locator("select").first.select_option("sent")
    row.get_by_test_id("advance-stage").click()
    prompt.refresh_from_db()
    assert prompt.status == "sent" and prompt.sent_at is not None
    assert reminders.get(task_key=f"incident-report:{prompt.pk}").done_at is not None

    # Contained, eradicated, recovered.
    for step in (Status.CONTAINED, Status.ERADICATED, Status.RECOVERED):
        move = team.get_by_test_id("move-form")
        move.locator("#id_to").select_option(step)
        move.locator("#id_note").fill(f"{step} の記録")
        move.locator("button").click()
        expect(team.get_by_test_id("incident-status")).to_have_class(re.compile(rf"\b{step}\b"))

    # The post-incident review; one change goes to the policy review backlog.
    review_form = team.get_by_test_id("review-form")
    review_form.locator("#id_causes").fill("暗号化されていないUSBメモリを持ち出した。")
    review_form.locator("#id_change_1").fill("USBメモリは暗号化したもの以外の利用を禁止する。")
    review_form.locator("#id_policy_1").check()
    review_form.locator("button").click()
    expect(team.get_by_test_id("incident-status")).to_have_class(re.compile(r"\breviewed\b"))
    expect(team.get_by_test_id("post-review")).to_be_visible()
    move = team.get_by_test_id("move-form")
    move.locator("#id_to").select_option(Status.CLOSED)
    move.locator("button").click()
    expect(team.get_by_test_id("incident-status")).to_have_class(re.compile(r"\bclosed\b"))

    # The reporter follows the progress, not the handling.
    staff.reload()
    expect(staff.get_by_test_id("incident-status")).to_have_class(re.compile(r"\bclosed\b"))
    expect(staff.get_by_test_id("obligations")).to_have_count(0)

    # The CISO's office cites the lesson in a draft of the standard.
    lesson = incident.review.lessons.get(to_policy_review=True)
    (item,) = review.items_of(lesson)
    draft = policy_actions.create_draft(
        documents_live["standard"],
        by=people["admin"],
        body="## 第1章\n\n職員向けの基準\n\n## 第2章\n\n暗号化されたUSBメモリ以外は使わない。",
        effective_date=timezone.localdate() + datetime.timedelta(days=14),
        change_summary="インシデントの教訓を受け、外部記録媒体の扱いを定めた。",
    )
    admin = log_in("admin")
    admin.goto("/policy-review/")
    expect(
        admin.get_by_test_id("backlog").locator(f'a[href="/incidents/{incident.pk}/"]')
    ).to_have_count(1)
    cite = admin.get_by_test_id("cite-form")
    cite.locator("#id_revision").select_option(str(draft.pk))
    cite.locator(f'input[name="items"][value="{item.pk}"]').check()
    cite.locator("button").click()
    expect(admin).to_have_url(f"{live_server.url}/policy-review/")
    assert list(item.cited_by.all()) == [draft]
    admin.goto(f"/manage/revisions/{draft.pk}/")
    expect(
        admin.get_by_test_id("review-items").locator(f'a[href="/incidents/{incident.pk}/"]')
    ).to_have_count(1)
