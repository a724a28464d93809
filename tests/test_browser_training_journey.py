"""A member of staff takes this year's security training in a real headless Chromium.

情報政策課's staff_joho opens the course from the training page, answers the quiz wrongly,
sees the failure, which answer was wrong and the attempt, retries with the right answers,
passes (the quiz closes) and downloads the certificate; then the head of 総務部 sees the
completion count of 情報政策課 rise to 1, on a phone too.

The programme admin writes a course in the portal: content, a question added without
script, choices, a preview, publication after a confirmation; staff then take it.
Run alone with `pytest -m browser`; Debian's /usr/bin/chromium is used.

Assertions rest on URLs, CSS classes and data-testid attributes, not on translated text.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from isms.eras import fiscal_year
from training.models import Attempt, Choice, Course, Enrolment, Question
from training.services import publish_course

from .browser import PHONE, assert_fits_the_screen

pytestmark = pytest.mark.browser


@pytest.fixture
def course_live(people_live, settings, tmp_path, monkeypatch):
    """This year's all-staff course, two questions whose first choice is right, pass mark
    80, published (so committed) by the programme admin."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Publication queues the announcement after commit; this test has no worker to run it.
    queued = []
    monkeypatch.setattr("training.services.enqueue", lambda task, *args: queued.append(args))
    today = timezone.localdate()
    course = Course.objects.create(
        title="情報セキュリティ研修",
        content="## 目的\n\n標的型メールに注意する。",
        fiscal_year=fiscal_year(today),
        deadline=today + datetime.timedelta(days=30),
        pass_mark=80,
        created_by=people_live["admin"],
    )
    for n in (1, 2):
        question = Question.objects.create(course=course, text=f"問{n}", order=n)
        Choice.objects.create(question=question, text="正しい", is_correct=True)
        Choice.objects.create(question=question, text="誤り", is_correct=False)
    publish_course(course, by=people_live["admin"])
    assert queued == [(course.pk,)]
    return course


def answer(page, choices):
    """choices: the choice number (1 = right, 2 = wrong) for question 1, 2, ..."""
    for question, choice in enumerate(choices, start=1):
        page.get_by_test_id(f"choice-{question}-{choice}").check()
    page.get_by_test_id("submit-quiz").click()


def test_staff_fail_retry_pass_and_download_the_certificate_and_their_head_sees_it(
    people_live, course_live, org, log_in, live_server
):
    staff = people_live["staff"]
    enrolment = Enrolment.objects.get(course=course_live, user=staff)
    course_url = f"{live_server.url}/training/courses/{course_live.pk}/"

    page = log_in("staff_joho", accept_downloads=True)
    page.goto("/training/")
    page.get_by_test_id(f"course-{course_live.pk}").click()
    expect(page).to_have_url(course_url)
    expect(page.get_by_test_id("course-completed")).to_have_count(0)

    # One right, one wrong: 50%, below the pass mark of 80%.
    answer(page, [1, 2])
    expect(page.locator(".messages .message.error")).to_have_count(1)
    expect(page.locator(".messages .message.error")).to_contain_text("50%")
    # Which answer was wrong, in words; the retake is open.
    expect(page.get_by_test_id("mark-1")).to_have_attribute("data-mark", "right")
    expect(page.get_by_test_id("mark-2")).to_have_attribute("data-mark", "wrong")
    expect(page.get_by_test_id("submit-quiz")).to_be_enabled()
    expect(page.get_by_test_id("attempt")).to_have_count(1)
    expect(page.get_by_test_id("attempt")).to_have_class(re.compile(r"\bfailed\b"))
    expect(page.get_by_test_id("course-completed")).to_have_count(0)
    enrolment.refresh_from_db()
    assert enrolment.completed_at is None
    assert list(Attempt.objects.filter(enrolment=enrolment).values_list("score", "passed")) == [
        (50, False)
    ]

    page.get_by_test_id("choice-2-1").check()
    page.get_by_test_id("submit-quiz").click()
    expect(page.locator(".messages .message.success")).to_have_count(1)
    expect(page.get_by_test_id("course-completed")).to_be_visible()
    # Passed: the quiz is closed.
    expect(page.get_by_test_id("quiz")).to_have_count(0)
    expect(page.get_by_test_id("quiz-closed")).to_be_visible()
    expect(page.get_by_test_id("attempt")).to_have_count(2)
    expect(page.locator('[data-testid="attempt"].passed')).to_have_count(1)
    enrolment.refresh_from_db()
    assert enrolment.completed_at is not None
    assert enrolment.best_score == 100

    with page.expect_download() as download_info:
        page.get_by_test_id("certificate").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

    # The training page now links the certificate too.
    page.goto("/training/")
    expect(page.get_by_test_id(f"certificate-{enrolment.pk}")).to_be_visible()

    head = log_in("head_somu")
    head.goto("/training/status/")
    expect(head.get_by_test_id("completion-table")).to_be_visible()
    expect(head.get_by_test_id(f"completed-{org['joho'].pk}")).to_have_text("1")
    expect(head.get_by_test_id(f"completed-{org['somuka'].pk}")).to_have_text("0")
    # 教育部 is not the head's to see.
    expect(head.get_by_test_id(f"completed-{org['gakko'].pk}")).to_have_count(0)

    # On a phone the table becomes one card per section, nothing wider than the screen.
    phone = log_in("head_somu", **PHONE)
    phone.goto("/training/status/")
    expect(phone.get_by_test_id(f"completed-{org['joho'].pk}")).to_have_text("1")
    assert_fits_the_screen(phone)


def test_the_programme_admin_writes_previews_and_publishes_a_course_that_staff_take(
    people_live, log_in, live_server, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr("training.services.enqueue", lambda task, *args: None)
    deadline = timezone.localdate() + datetime.timedelta(days=30)

    admin = log_in("admin")
    admin.goto("/training/")
    admin.get_by_test_id("new-course").click()
    admin.fill('[name="title"]', "標的型メール訓練")
    admin.fill('[name="content"]', "## 目的\n\n不審なメールの添付ファイルを開かない。")
    admin.fill('[name="deadline"]', deadline.isoformat())
    admin.fill('[name="questions-0-text"]', "不審なメールが届いたら")
    admin.fill('[name="questions-0-choices-0-text"]', "情報政策課に連絡する")
    admin.check('[name="questions-0-choices-0-is_correct"]')
    admin.fill('[name="questions-0-choices-1-text"]', "添付ファイルを開いて確かめる")

    # A second question without script: the page comes back with everything typed.
    admin.get_by_test_id("add-question").click()
    expect(admin.locator('[name="questions-0-text"]')).to_have_value("不審なメールが届いたら")
    expect(admin.locator('[name="title"]')).to_have_value("標的型メール訓練")
    expect(admin.get_by_test_id("error-summary")).to_have_count(0)
    admin.fill('[name="questions-1-text"]', "パスワードを同僚に教えてよいか")
    admin.fill('[name="questions-1-choices-0-text"]', "よい")
    # No right answer marked yet: the error summary and the question say so.
    admin.get_by_test_id("save-and-preview").click()
    expect(admin.get_by_test_id("error-summary")).to_be_focused()
    expect(admin.get_by_test_id("question-2-error")).to_have_count(2)
    expect(admin.locator('[name="questions-1-choices-0-text"]')).to_have_value("よい")
    admin.fill('[name="questions-1-choices-1-text"]', "よくない")
    admin.check('[name="questions-1-choices-1-is_correct"]')
    admin.get_by_test_id("save-and-preview").click()

    course = Course.objects.get(title="標的型メール訓練")
    expect(admin).to_have_url(f"{live_server.url}/training/courses/{course.pk}/preview/")
    expect(admin.get_by_test_id("preview-notice")).to_be_visible()
    admin.get_by_test_id("choice-1-2").check()
    admin.get_by_test_id("choice-2-2").check()
    admin.get_by_test_id("check-answers").click()
    expect(admin.get_by_test_id("mark-1")).to_have_attribute("data-mark", "wrong")
    expect(admin.get_by_test_id("mark-2")).to_have_attribute("data-mark", "right")
    assert not Attempt.objects.exists()

    admin.get_by_test_id("publish-course").click()
    expect(admin.get_by_test_id("confirmation")).to_be_visible()
    course.refresh_from_db()
    assert not course.is_published
    admin.get_by_test_id("confirm").click()
    expect(admin).to_have_url(f"{live_server.url}/training/courses/{course.pk}/")
    course.refresh_from_db()
    assert course.is_published
    assert Enrolment.objects.filter(course=course, user=people_live["staff"]).exists()

    # Staff on a phone: a wrong answer is marked, the retake passes and closes the quiz.
    staff = log_in("staff_joho", **PHONE)
    staff.goto(f"/training/courses/{course.pk}/")
    answer(staff, [2, 2])
    expect(staff.get_by_test_id("mark-1")).to_have_attribute("data-mark", "wrong")
    assert_fits_the_screen(staff)
    answer(staff, [1, 2])
    expect(staff.get_by_test_id("quiz")).to_have_count(0)
    expect(staff.get_by_test_id("course-completed")).to_be_visible()

    # Published: the course can no longer be edited.
    admin.goto(f"/training/courses/{course.pk}/edit/")
    expect(admin).to_have_url(f"{live_server.url}/training/courses/{course.pk}/")
