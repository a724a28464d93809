"""User journeys in a real headless Chromium against a live server.

The policy workflow as the CISO's office walks it (draft, review, approval, publication),
and a member of staff acknowledging a material change while their department head watches
the count rise. Run alone with `pytest -m browser`; Debian's /usr/bin/chromium is used, no
browser is ever downloaded.

Assertions rest on URLs, form actions, CSS classes and data-testid attributes, not on
translated text, so they hold in Japanese and English alike.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from acknowledgements import services as acks
from acknowledgements.models import Acknowledgement
from isms.models import PolicyRevision, RevisionStatus

from .browser import PHONE, SCREENS, assert_fits_the_screen
from .conftest import publish

pytestmark = pytest.mark.browser


def post_button(page, action):
    """The button of the form posting to the given workflow action (submit, approve...)."""
    return page.locator(f'form[action$="/{action}/"] button')


def test_a_revision_goes_from_draft_to_published_through_the_ui(
    people_live, documents_live, log_in, live_server
):
    standard = documents_live["standard"]
    today = timezone.localdate()

    admin = log_in("admin")
    admin.goto("/manage/policies/")
    admin.click(f'a[href="/manage/policies/{standard.code}/new/"]')
    expect(admin).to_have_url(re.compile(rf"/manage/policies/{standard.code}/new/$"))
    # The form starts from the text in force.
    expect(admin.locator("#id_body")).to_have_value(re.compile("職員向けの基準"))
    admin.fill("#id_title", "対策基準(令和7年改定)")
    admin.fill("#id_effective_date", today.isoformat())
    admin.check("#id_is_material")
    admin.fill("#id_change_summary", "パスワードの長さを12文字以上に改めた。")
    admin.fill(
        "#id_body",
        "## 第1章\n\n職員向けの基準\n\n## 第2章\n\nパスワードは12文字以上とする。",
    )
    admin.click("form.card button[type=submit]")

    expect(admin).to_have_url(re.compile(r"/manage/revisions/\d+/$"))
    revision_id = int(re.search(r"/manage/revisions/(\d+)/$", admin.url).group(1))
    revision = PolicyRevision.objects.get(pk=revision_id)
    assert (revision.document_id, revision.number) == (standard.pk, 2)
    assert revision.status == RevisionStatus.DRAFT
    assert revision.is_material
    expect(admin.get_by_test_id("revision-status")).to_have_class(re.compile(r"\bdraft\b"))
    # The page shows what the draft changes against the revision in force.
    expect(admin.get_by_test_id("diff").locator(".diff-block.added").last).to_contain_text(
        "パスワードは12文字以上とする。"
    )

    post_button(admin, "submit").click()
    expect(admin.get_by_test_id("revision-status")).to_have_class(re.compile(r"\bin_review\b"))
    # The author cannot approve their own revision: no button for them.
    expect(post_button(admin, "approve")).to_have_count(0)

    ciso = log_in("ciso")
    ciso.goto(f"/manage/revisions/{revision_id}/")
    post_button(ciso, "approve").click()
    expect(ciso.get_by_test_id("revision-status")).to_have_class(re.compile(r"\bapproved\b"))
    # Only the programme admin publishes.
    expect(post_button(ciso, "publish")).to_have_count(0)

    admin.reload()
    expect(admin.get_by_test_id("revision-status")).to_have_class(re.compile(r"\bapproved\b"))
    post_button(admin, "publish").click()
    # Publishing cannot be undone: a page says what will happen, and only confirming there
    # publishes.
    expect(admin.get_by_test_id("confirmation")).to_be_visible()
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.APPROVED
    admin.get_by_test_id("confirm").click()
    expect(admin).to_have_url(f"{live_server.url}/manage/revisions/{revision_id}/")
    status = admin.get_by_test_id("revision-status")
    expect(status).to_have_class(re.compile(r"\bpublished\b"))
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.PUBLISHED
    assert revision.published_by == people_live["admin"]
    assert revision.approved_by == people_live["ciso"]
    # In the language the browser asked for, as the model names it (公開 in Japanese).
    expect(status).to_have_text(revision.get_status_display())
    expect(admin.locator("html")).to_have_attribute("lang", "ja")
    expect(admin.locator("code.hash")).to_have_text(revision.content_sha256)
    # Nothing left to press on a published revision.
    expect(admin.locator("section.actions form")).to_have_count(0)

    # Effective today, it is in force: the public page of the document shows it, and the
    # material change opened an acknowledgement campaign.
    admin.goto(f"/policies/{standard.code}/revisions/2/")
    expect(admin.locator("code.hash")).to_have_text(revision.content_sha256)
    assert standard.current_revision() == revision
    assert revision.campaign.deadline > today


def test_staff_acknowledge_a_change_and_their_head_sees_the_count(
    people_live, documents_live, log_in, live_server
):
    people, standard = people_live, documents_live["standard"]
    staff = people["staff"]
    first = standard.current_revision()
    acks.acknowledge(staff, first)
    second = publish(
        standard,
        author=people["admin"],
        approver=people["ciso"],
        body="## 第1章\n\n職員向けの基準\n\n## 第2章\n\nUSBメモリの持ち出しを禁止する。",
        deadline=timezone.localdate() + datetime.timedelta(days=14),
    )
    assert second.status == RevisionStatus.PUBLISHED and second.is_material

    head = log_in("head_somu", **PHONE)
    head.goto(f"/acknowledgements/status/{second.pk}/")
    expect(head.get_by_test_id("done-joho")).to_have_text("0")

    page = log_in("staff_joho", **PHONE)
    panel = page.get_by_test_id("pending-panel")
    expect(panel).to_be_visible()
    link = panel.locator(f'a[href="/acknowledgements/revisions/{second.pk}/"]')
    # Named with its number and effective date, not by its title alone.
    expect(link).to_contain_text(second.title)
    expect(link).to_contain_text("第2版")
    # The revision they already acknowledged no longer waits.
    expect(panel.locator(f'a[href="/acknowledgements/revisions/{first.pk}/"]')).to_have_count(0)
    link.click()

    expect(page).to_have_url(f"{live_server.url}/acknowledgements/revisions/{second.pk}/")
    diff = page.get_by_test_id("diff")
    expect(diff).to_be_visible()
    # Compared with revision 1, the one they acknowledged.
    expect(diff.get_by_test_id("diff-legend")).to_contain_text("第1版")
    expect(diff.get_by_test_id("diff-legend")).to_contain_text("第2版")
    expect(diff.locator(".diff-block.added").last).to_contain_text(
        "USBメモリの持ち出しを禁止する。"
    )
    # The rendered text: the new chapter is a heading, not "## 第2章".
    expect(diff.locator("h3.diff-block.added")).to_contain_text("第2章")
    expect(diff).not_to_contain_text("##")

    page.get_by_test_id("acknowledge").click()
    expect(page).to_have_url(re.compile(r"/acknowledgements/receipts/\d+/$"))
    receipt = page.get_by_test_id("receipt")
    expect(receipt).to_be_visible()
    expect(receipt.locator("code.hash")).to_have_text(second.content_sha256)
    ack = Acknowledgement.objects.get(user=staff, revision=second)
    assert page.url.endswith(f"/acknowledgements/receipts/{ack.pk}/")
    assert ack.content_sha256 == second.content_sha256
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENS / "receipt-phone.png", full_page=True)
    assert_fits_the_screen(page)

    # Nothing waits any more for this revision: the home page says so.
    page.goto("/")
    expect(
        page.get_by_test_id("pending-panel").locator(
            f'a[href="/acknowledgements/revisions/{second.pk}/"]'
        )
    ).to_have_count(0)

    head.reload()
    expect(head.get_by_test_id("done-joho")).to_have_text("1")
    head.screenshot(path=SCREENS / "status-phone.png", full_page=True)
    assert_fits_the_screen(head)


def test_the_diff_reads_on_a_phone_in_one_column_with_folded_paragraphs(
    people_live, documents_live, log_in, live_server
):
    people, standard = people_live, documents_live["standard"]
    articles = "\n\n".join(f"第{n}条 変更のない条文その{n}です。" for n in range(1, 14))
    old = publish(
        standard,
        author=people["admin"],
        approver=people["ciso"],
        body=f"## 第1章 総則\n\n{articles}\n\n## 第2章 管理\n\n職員は毎年研修を受ける。",
    )
    acks.acknowledge(people["staff"], old)
    new = publish(
        standard,
        author=people["admin"],
        approver=people["ciso"],
        body=f"## 第1章 総則\n\n{articles}\n\n## 第2章 管理\n\n職員は毎年4月に研修を受ける。",
    )

    page = log_in("staff_joho", **PHONE)
    page.goto(f"/acknowledgements/revisions/{new.pk}/")
    diff = page.get_by_test_id("diff")
    expect(diff).to_be_visible()
    # The inserted words, underlined, and said in words for screen readers.
    inserted = diff.locator(".diff-block.changed ins")
    expect(inserted).to_contain_text("4月に")
    assert inserted.evaluate("e => getComputedStyle(e).textDecorationLine") == "underline"
    expect(inserted.locator(".visually-hidden").first).to_have_text("挿入： ")
    # The unchanged chapter folded, saying how much it hides; it opens on demand.
    fold = diff.locator("details.diff-fold")
    expect(fold.locator("summary")).to_have_text("変更のない14段落")
    expect(fold.get_by_text("第13条 変更のない条文その13です。")).to_be_hidden()
    fold.locator("summary").click()
    expect(fold.get_by_text("第13条 変更のない条文その13です。")).to_be_visible()
    # The heading of the changed chapter stays above the change.
    expect(diff.locator(".diff-block.context")).to_contain_text("第2章 管理")
    # One column: the changed paragraph is as wide as the diff itself.
    widths = diff.locator(".diff-block.changed").evaluate(
        "e => [e.getBoundingClientRect().width, e.closest('.diff').getBoundingClientRect().width]"
    )
    assert widths[0] > widths[1] * 0.8
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENS / "diff-phone.png", full_page=True)
    assert_fits_the_screen(page)
