"""A self-inspection walked end to end in a real headless Chromium against a live server.

総務部 answers its checklist and submits it; the auditor turns the one non-compliant answer
into a finding and asks for a policy review; the department head records a corrective
action; the auditor verifies and closes the finding; the CISO's office cites it from the
policy review backlog in a draft of the standard, whose page then names it (seed 7 and
8). Run alone with `pytest -m browser`; Debian's /usr/bin/chromium is used, no browser is
ever downloaded.

Assertions rest on URLs, values, CSS classes, data-testid attributes and model state, not
on translated text.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from audits import services
from audits.models import (
    CycleKind,
    Finding,
    FindingStatus,
    Result,
    Severity,
    SubmissionStatus,
)
from audits.starter_checklist import load_starter_checklist
from isms import policy_actions, review
from isms.models import AuditEvent, RevisionStatus

from .browser import PHONE, SCREENS, assert_fits_the_screen

pytestmark = pytest.mark.browser


@pytest.fixture
def inspection_live(people_live, org):
    """A self-inspection of 総務部 on the starter checklist, the auditor assigned."""
    admin = people_live["admin"]
    today = timezone.localdate()
    cycle = services.open_cycle(
        by=admin,
        departments=[org["somu"]],
        name="令和7年度 情報セキュリティ自己点検",
        kind=CycleKind.SELF_INSPECTION,
        fiscal_year=2025,
        checklist=load_starter_checklist(),
        starts_on=today,
        due_on=today + datetime.timedelta(days=60),
    )
    services.assign_auditor(cycle, org["somu"], people_live["auditor"], by=admin)
    return cycle.inspections.get()


def test_a_non_compliant_answer_becomes_a_closed_finding_that_a_draft_revision_cites(
    people_live, documents_live, inspection_live, log_in, live_server
):
    people, inspection = people_live, inspection_live
    items = list(inspection.cycle.checklist.items.order_by("pk"))
    assert len(items) >= 40
    bad = items[3]
    inspection_url = f"/audits/inspections/{inspection.pk}/"

    # The chief of 情報政策課 answers 総務部's checklist on a phone, one part at a time.
    chief = log_in("chief_joho", **PHONE)
    chief.goto(inspection_url)
    expect(chief.get_by_test_id("inspection-status")).to_have_class(re.compile(r"\bopen\b"))
    parts = list(dict.fromkeys(item.area for item in items))
    expect(chief.get_by_test_id("parts").locator("li")).to_have_count(len(parts))
    expect(chief.get_by_test_id("submit-inspection")).to_have_count(0)
    chief.get_by_test_id(f"part-{parts[0]}").locator("a").click()
    left_out = items[-1]  # the last item of the last part, left for later
    for number, area in enumerate(parts):
        expect(chief).to_have_url(f"{live_server.url}{inspection_url}parts/{area}/")
        in_part = [item for item in items if item.area == area]
        expect(chief.locator('select[data-testid^="result-"]')).to_have_count(len(in_part))
        for item in in_part:
            if item == left_out:
                continue
            value = Result.NOT_COMPLIANT if item == bad else Result.COMPLIANT
            chief.get_by_test_id(f"result-{item.number}").select_option(value)
        if bad in in_part:
            chief.locator(f'textarea[name="comment-{bad.pk}"]').fill("緊急連絡網が前年度のまま")
        if number == 0:
            SCREENS.mkdir(parents=True, exist_ok=True)
            chief.screenshot(path=SCREENS / "audit-inspection-part-phone.png", full_page=True)
            assert_fits_the_screen(chief)
        chief.get_by_test_id("save-next").click()
    # After the last part: the summary, with the one unanswered item linked to its place.
    expect(chief).to_have_url(f"{live_server.url}{inspection_url}")
    unanswered = chief.get_by_test_id("unanswered").locator("a")
    expect(unanswered).to_have_count(1)
    expect(chief.get_by_test_id("submit-inspection")).to_have_count(0)
    unanswered.click()
    expect(chief).to_have_url(re.compile(rf"/parts/{left_out.area}/#item-{left_out.pk}$"))
    # The other answers of the part were saved: a comment without a result is refused
    # beside the field, and what was typed stays.
    chief.locator(f'textarea[name="comment-{left_out.pk}"]').fill("確認中")
    chief.get_by_test_id("save-part").click()
    summary = chief.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    expect(summary.locator(f'a[href="#id_result-{left_out.pk}"]')).to_have_count(1)
    expect(chief.locator(f'textarea[name="comment-{left_out.pk}"]')).to_have_value("確認中")
    chief.get_by_test_id(f"result-{left_out.number}").select_option(Result.COMPLIANT)
    chief.get_by_test_id("save-next").click()

    # Submitted from the summary only, after a confirmation that says what will happen.
    expect(chief).to_have_url(f"{live_server.url}{inspection_url}")
    expect(chief.get_by_test_id("unanswered")).to_have_count(0)
    chief.get_by_test_id("submit-inspection").click()
    expect(chief.get_by_test_id("confirmation")).to_be_visible()
    inspection.refresh_from_db()
    assert inspection.status == SubmissionStatus.OPEN
    chief.get_by_test_id("confirm").click()

    expect(chief).to_have_url(f"{live_server.url}{inspection_url}")
    status = chief.get_by_test_id("inspection-status")
    expect(status).to_have_class(re.compile(r"\bsubmitted\b"))
    inspection.refresh_from_db()
    assert inspection.status == SubmissionStatus.SUBMITTED
    assert inspection.submitted_by == people["chief"]
    expect(status).to_have_text(inspection.get_status_display())
    answers = dict(inspection.answers.values_list("item__number", "result"))
    assert len(answers) == len(items)
    assert answers.pop(bad.number) == Result.NOT_COMPLIANT
    assert set(answers.values()) == {Result.COMPLIANT}
    assert inspection.answers.get(item=left_out).comment == "確認中"
    # Locked: nothing left to choose or submit.
    expect(chief.locator("select")).to_have_count(0)
    expect(chief.get_by_test_id("submit-inspection")).to_have_count(0)
    chief.screenshot(path=SCREENS / "audit-inspection-phone.png", full_page=True)
    assert_fits_the_screen(chief)

    # The auditor turns the one non-compliant answer into a finding.
    auditor = log_in("auditor", **PHONE)
    auditor.goto(inspection_url)
    to_finding = auditor.locator('form[data-testid^="to-finding-"]')
    expect(to_finding).to_have_count(1)
    form = auditor.get_by_test_id(f"to-finding-{bad.number}")
    form.locator('select[name="severity"]').select_option(Severity.MINOR)
    form.locator("button").click()

    expect(auditor).to_have_url(re.compile(r"/audits/findings/\d+/$"))
    finding = Finding.objects.get()
    assert auditor.url == f"{live_server.url}/audits/findings/{finding.pk}/"
    assert finding.source_answer.item == bad
    assert (finding.department.code, finding.severity) == ("somu", Severity.MINOR)
    assert finding.description == "緊急連絡網が前年度のまま"
    assert finding.created_by == people["auditor"]
    expect(auditor.get_by_test_id("finding-status")).to_have_class(re.compile(r"\bopen\b"))
    expect(auditor.get_by_test_id("needs-policy-review")).to_have_count(0)
    # Nothing to close before the department has planned an action.
    expect(auditor.get_by_test_id("close-finding")).to_have_count(0)

    # ...and asks for a policy review in the finding's edit form.
    edit = auditor.locator("form", has=auditor.locator("#id_needs_policy_review"))
    edit.locator("#id_needs_policy_review").check()
    edit.locator("button").click()
    expect(auditor.get_by_test_id("needs-policy-review")).to_be_visible()
    finding.refresh_from_db()
    assert finding.needs_policy_review
    assert finding.status == FindingStatus.OPEN

    # The head of 総務部 records the corrective action on the finding's page.
    due = timezone.localdate() + datetime.timedelta(days=30)
    head = log_in("head_somu")
    head.goto(f"/audits/findings/{finding.pk}/")
    action_form = head.locator('form[action$="/corrective-action/"]')
    action_form.locator("#id_owner").fill("chief_joho")
    action_form.locator("#id_plan").fill("緊急連絡網を更新し、課内に周知する。")
    action_form.locator("#id_due_on").fill(due.isoformat())
    action_form.locator("button").click()
    expect(head.get_by_test_id("finding-status")).to_have_class(re.compile(r"\baction_planned\b"))
    expect(head.get_by_test_id("corrective-action")).to_have_count(1)
    expect(head.get_by_test_id("corrective-action")).to_contain_text("緊急連絡網を更新し")
    # The department does not close its own finding.
    expect(head.get_by_test_id("close-finding")).to_have_count(0)
    action = finding.corrective_actions.get()
    assert (action.owner, action.due_on, action.created_by) == (
        people["chief"],
        due,
        people["head"],
    )

    # The auditor verifies and closes it, after a confirmation.
    auditor.reload()
    auditor.get_by_test_id("close-finding").click()
    expect(auditor.get_by_test_id("confirmation")).to_be_visible()
    auditor.get_by_test_id("confirm").click()
    expect(auditor.get_by_test_id("finding-status")).to_have_class(re.compile(r"\bclosed\b"))
    expect(auditor.get_by_test_id("close-finding")).to_have_count(0)
    finding.refresh_from_db()
    assert finding.status == FindingStatus.CLOSED
    assert finding.closed_at is not None

    # The CISO's office sees it on the policy review backlog, drafts the standard and cites
    # the finding in the draft.
    admin = log_in("admin")
    admin.goto("/policy-review/")
    backlog = admin.get_by_test_id("backlog")
    finding_link = backlog.locator(f'a[href="/audits/findings/{finding.pk}/"]')
    expect(finding_link).to_have_count(1)
    standard = documents_live["standard"]
    draft = policy_actions.create_draft(
        standard,
        by=people["admin"],
        body="## 第1章\n\n職員向けの基準\n\n## 第2章\n\n緊急連絡網は年度ごとに見直す。",
        effective_date=timezone.localdate() + datetime.timedelta(days=14),
        change_summary="自己点検の指摘を受け、連絡網の見直しを定めた。",
    )
    assert draft.status == RevisionStatus.DRAFT
    admin.reload()
    (item,) = review.items_of(finding)
    cite = admin.get_by_test_id("cite-form")
    cite.locator("#id_revision").select_option(str(draft.pk))
    cite.locator(f'input[name="items"][value="{item.pk}"]').check()
    cite.locator("button").click()

    expect(admin).to_have_url(f"{live_server.url}/policy-review/")
    row = admin.get_by_test_id("backlog").locator(
        "tr", has=admin.locator(f'a[href="/audits/findings/{finding.pk}/"]')
    )
    # The draft is named with a link to its manage page.
    expect(row.locator(f'a[href="/manage/revisions/{draft.pk}/"]')).to_have_count(1)
    assert list(item.cited_by.all()) == [draft]
    cited = AuditEvent.objects.get(action="revision.review_items_cited")
    assert (cited.actor, cited.target_id) == (people["admin"], str(draft.pk))

    # The draft's manage page names the finding it addresses.
    admin.goto(f"/manage/revisions/{draft.pk}/")
    panel = admin.get_by_test_id("review-items")
    expect(panel).to_have_count(1)
    expect(panel.locator("a")).to_have_count(1)
    expect(panel.locator("a")).to_have_attribute("href", f"/audits/findings/{finding.pk}/")
    expect(admin).to_have_title(re.compile(re.escape(draft.title)))

    # And the finding's page names the revision.
    auditor.reload()
    expect(
        auditor.get_by_test_id("addressed-by").locator(
            f'a[href="/policies/{standard.code}/revisions/{draft.number}/"]'
        )
    ).to_have_count(1)

    # The cycle report, on the auditor's phone.
    auditor.goto(f"/audits/cycles/{inspection.cycle_id}/report/")
    expect(auditor.get_by_test_id("heatmap")).to_be_visible()
    expect(auditor.get_by_test_id("heatmap").locator("tbody tr")).to_have_count(1)
    # A legend, and every rate cell with a symbol and a word besides its colour.
    expect(auditor.get_by_test_id("heat-legend").locator("li")).to_have_count(4)
    for cell in auditor.get_by_test_id("heatmap").locator("td.rate").all():
        expect(cell.locator(".visually-hidden")).to_have_count(1)
    # The table scrolls in its own box, which the keyboard reaches.
    wrap = auditor.locator("div.table-wrap", has=auditor.get_by_test_id("heatmap"))
    expect(wrap).to_have_attribute("tabindex", "0")
    expect(wrap).to_have_attribute("role", "region")
    auditor.screenshot(path=SCREENS / "audit-report-phone.png", full_page=True)
    assert_fits_the_screen(auditor)

    # Every step is on the audit trail, by the person who took it.
    trail = {
        (e.action, e.actor.username)
        for e in AuditEvent.objects.filter(
            action__regex=r"^(cycle|inspection|finding|review|revision\.review_items)"
        )
    }
    assert trail == {
        ("cycle.opened", "admin"),
        ("cycle.auditor_assigned", "admin"),
        ("inspection.submitted", "chief_joho"),
        ("finding.recorded", "auditor"),
        ("finding.edited", "auditor"),
        ("finding.action_planned", "head_somu"),
        ("finding.closed", "auditor"),
        ("review.item_raised", "auditor"),
        ("revision.review_items_cited", "admin"),
    }
