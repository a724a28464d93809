"""training.tasks: sync_enrolments, remind_training and notify_course_published, and the quiz
whose pass ends the reminders."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Value
from django.db.models.functions import Concat
from django.utils import timezone

from isms.eras import fiscal_year, to_era
from isms.models import Notification, User
from training import services as courses
from training import tasks
from training.models import Choice, Course, Enrolment, Question
from training.tasks import notify_course_published, remind_training, sync_enrolments

from .factories import password_hash
from .reminder_helpers import (
    assert_links_to,
    assert_rerun_sends_nothing,
    give_addresses,
    in_english,
    mail_by_username,
    mail_to,
    queries_besides_mail_stamps,
    speaks_english,
)

# SQLite splits a bulk insert by its limit on query parameters: the count would grow with
# the people there, as it does not on PostgreSQL, the database the portal runs on.
SQLITE_SPLITS_INSERTS = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite splits bulk inserts"
)

EVERYONE = {
    "staff_joho",
    "staff_somuka",
    "chief_joho",
    "head_somu",
    "head_kyoiku",
    "staff_kyoiku",
    "auditor",
    "ciso",
    "admin",
}
TITLE = "情報セキュリティ基礎研修"


@pytest.fixture(autouse=True)
def addresses(people):
    give_addresses(people)


def days(n):
    return datetime.timedelta(days=n)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def make_course(people, today):
    def make(*, title=TITLE, deadline=None, published=True, departments=(), **fields):
        fields.setdefault("fiscal_year", fiscal_year(today))
        course = Course.objects.create(
            title=title,
            content="## 研修\n\n本文",
            deadline=deadline or today + days(40),
            is_published=published,
            published_at=timezone.now() if published else None,
            created_by=people["admin"],
            **fields,
        )
        course.departments.set(departments)
        return course

    return make


@pytest.fixture
def course(make_course):
    """A published all-staff course of this fiscal year, everyone enrolled, with a quiz of two
    questions (pass mark 80%)."""
    course = make_course()
    for number in (1, 2):
        question = Question.objects.create(course=course, text=f"問{number}", order=number)
        Choice.objects.create(question=question, text="正しい", is_correct=True)
        Choice.objects.create(question=question, text="誤り", is_correct=False)
    sync_enrolments()
    return course


def enrolled(course):
    return dict(Enrolment.objects.filter(course=course).values_list("user__username", "due_on"))


def answers(course, *, right):
    """Answers to the quiz with the first `right` questions answered correctly."""
    chosen = {}
    for index, question in enumerate(course.questions.all()):
        chosen[question.pk] = question.choices.get(is_correct=index < right).pk
    return chosen


def titles(stage, deadline, title=TITLE):
    era = to_era(deadline)
    return {
        "opened": f"【研修の受講依頼】{title}",
        "due_soon": f"【再通知】{title}を{era}までに受講してください",
        "overdue": f"【期限超過】{title}を受講してください（期限：{era}）",
    }[stage]


# --- enrolment ------------------------------------------------------------------------------


def test_sync_enrols_the_audience_of_this_years_published_courses_once(make_course, today):
    course = make_course()
    unpublished = make_course(title="準備中", published=False)
    last_year = make_course(title="昨年度", fiscal_year=fiscal_year(today) - 1)

    assert sync_enrolments() == len(EVERYONE)
    assert enrolled(course) == dict.fromkeys(EVERYONE, course.deadline)
    assert enrolled(unpublished) == {} and enrolled(last_year) == {}

    assert sync_enrolments() == 0
    assert Enrolment.objects.count() == len(EVERYONE)


def test_sync_enrols_a_department_course_within_that_department(make_course, org):
    course = make_course(audience="departments", departments=[org["kyoiku"]])
    sync_enrolments()
    assert set(enrolled(course)) == {"staff_kyoiku", "head_kyoiku"}


def test_sync_enrols_a_role_course_for_the_holders_of_the_roles(make_course):
    course = make_course(audience="roles", roles=["section_chief", "department_head"])
    sync_enrolments()
    assert set(enrolled(course)) == {"chief_joho", "head_somu", "head_kyoiku"}


def test_sync_leaves_out_people_who_left(make_course, people):
    User.objects.filter(pk=people["staff_somuka"].pk).update(is_active=False)
    course = make_course()
    sync_enrolments()
    assert set(enrolled(course)) == EVERYONE - {"staff_somuka"}


def test_the_new_staff_course_goes_to_recent_joiners_due_after_their_own_period(
    make_course, people, today, settings
):
    course = make_course(title="新規採用職員研修", for_new_staff=True)
    recent = today - days(10)
    User.objects.filter(pk=people["staff"].pk).update(joined_on=recent)
    User.objects.filter(pk=people["staff_somuka"].pk).update(
        joined_on=today - days(settings.NEW_STAFF_COURSE_DAYS + 1)
    )
    assert sync_enrolments() == 1
    assert enrolled(course) == {"staff_joho": recent + days(settings.NEW_STAFF_COURSE_DAYS)}
    assert sync_enrolments() == 0

    # Someone who joins a week later gets it the next morning.
    newcomer = User.objects.create(
        username="newcomer", section=people["staff"].section, joined_on=today
    )
    assert courses.sync_enrolments(today=today + days(1)) == 1
    assert enrolled(course)[newcomer.username] == today + days(settings.NEW_STAFF_COURSE_DAYS)


def test_someone_joining_after_publication_gets_time_for_the_yearly_course(
    make_course, people, today, settings
):
    course = make_course(deadline=today + days(10))
    Course.objects.filter(pk=course.pk).update(published_at=timezone.now() - days(60))
    newcomer = User.objects.create(
        username="newcomer", section=people["staff"].section, joined_on=today - days(1)
    )
    sync_enrolments()
    due = enrolled(course)
    assert due[newcomer.username] == today - days(1) + days(settings.NEW_STAFF_COURSE_DAYS)
    assert due["staff_joho"] == course.deadline


# --- reminders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_left", "stage"),
    [(40, "opened"), (8, "opened"), (7, "due_soon"), (0, "due_soon"), (-1, "overdue")],
)
def test_the_stage_follows_the_due_date(course, mailoutbox, days_left, stage):
    today = course.deadline - days(days_left)
    remind_training(today=today)
    assert mail_by_username(mailoutbox) == dict.fromkeys(EVERYONE, [titles(stage, course.deadline)])
    assert set(Notification.objects.values_list("kind", flat=True)) == {f"course.{stage}"}
    assert_rerun_sends_nothing(remind_training, mailoutbox, today=today)


def test_a_course_reminder_is_in_the_persons_language_and_links_to_the_course(
    course, people, mailoutbox
):
    staff = speaks_english(people["staff"])
    remind_training(today=course.deadline - days(2))
    (mail,) = mail_to(mailoutbox, staff)
    assert mail.subject == f"Reminder: complete {TITLE} by {in_english(course.deadline)}"
    assert mail.body.startswith("Security training is assigned to you.")
    assert_links_to(mail, f"/training/courses/{course.pk}/")
    (japanese,) = mail_to(mailoutbox, people["chief"])
    assert japanese.subject == titles("due_soon", course.deadline)
    assert japanese.body.startswith("情報セキュリティ研修の受講対象になりました。")
    assert Notification.objects.get(recipient=staff).url == f"/training/courses/{course.pk}/"


def test_each_stage_goes_out_once(course, mailoutbox):
    for today, stage in [
        (course.deadline - days(40), "opened"),
        (course.deadline - days(39), None),
        (course.deadline - days(6), "due_soon"),
        (course.deadline - days(1), None),
        (course.deadline + days(1), "overdue"),
        (course.deadline + days(2), None),
    ]:
        mailoutbox.clear()
        remind_training(today=today)
        expected = dict.fromkeys(EVERYONE, [titles(stage, course.deadline)]) if stage else {}
        assert mail_by_username(mailoutbox) == expected, today


def test_someone_with_a_later_due_date_gets_their_own_stage(course, people, mailoutbox):
    own_due = course.deadline + days(30)
    Enrolment.objects.filter(course=course, user=people["staff"]).update(due_on=own_due)
    remind_training(today=course.deadline + days(1))
    sent = mail_by_username(mailoutbox)
    assert sent["staff_joho"] == [titles("opened", own_due)]
    assert sent["chief_joho"] == [titles("overdue", course.deadline)]


def test_passing_the_quiz_ends_the_reminders_and_failing_does_not(course, people, mailoutbox):
    staff, chief = people["staff"], people["chief"]
    remind_training(today=course.deadline - days(40))
    failed = courses.submit_attempt(
        Enrolment.objects.get(course=course, user=chief), answers(course, right=1), by=chief
    )
    passed = courses.submit_attempt(
        Enrolment.objects.get(course=course, user=staff), answers(course, right=2), by=staff
    )
    assert (failed.passed, passed.passed) == (False, True)
    mailoutbox.clear()

    remind_training(today=course.deadline - days(3))
    sent = mail_by_username(mailoutbox)
    assert "staff_joho" not in sent
    assert sent["chief_joho"] == [titles("due_soon", course.deadline)]
    mailoutbox.clear()
    remind_training(today=course.deadline + days(1))
    assert "staff_joho" not in mail_by_username(mailoutbox)


def test_people_who_left_are_not_reminded(course, people, mailoutbox, settings):
    User.objects.filter(pk=people["staff_somuka"].pk).update(is_active=False)
    remind_training(today=course.deadline - days(3))
    assert set(mail_by_username(mailoutbox)) == EVERYONE - {"staff_somuka"}
    remind_training(today=course.deadline + days(settings.ESCALATION_AFTER_DAYS))
    (digest,) = [m for m in mail_to(mailoutbox, people["head"]) if "未完了者" in m.subject]
    assert "staff_somuka" not in digest.body


def test_the_queued_notice_and_the_daily_sweep_send_once(course, mailoutbox):
    assert notify_course_published(course.pk) == len(EVERYONE)
    assert mail_by_username(mailoutbox) == dict.fromkeys(
        EVERYONE, [titles("opened", course.deadline)]
    )
    assert_rerun_sends_nothing(remind_training, mailoutbox)
    assert_rerun_sends_nothing(notify_course_published, mailoutbox, course.pk)


def test_publishing_a_course_enrols_its_audience_and_queues_the_notice(
    make_course, people, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        tasks.notify_course_published, "apply_async", lambda args, **kw: queued.append(args)
    )
    draft = make_course(published=False)
    with django_capture_on_commit_callbacks(execute=True):
        courses.publish_course(draft, by=people["admin"])
    assert set(enrolled(draft)) == EVERYONE
    assert queued == [(draft.pk,)]


def test_department_heads_get_a_digest_of_who_has_not_completed(
    course, people, mailoutbox, settings
):
    staff = people["staff"]
    courses.submit_attempt(
        Enrolment.objects.get(course=course, user=staff), answers(course, right=2), by=staff
    )
    # A newcomer whose own period has not ended is not late.
    Enrolment.objects.filter(course=course, user=people["staff_somuka"]).update(
        due_on=course.deadline + days(20)
    )
    today = course.deadline + days(settings.ESCALATION_AFTER_DAYS)
    remind_training(today=today)

    escalated = Notification.objects.filter(kind="escalation")
    assert sorted(escalated.values_list("recipient__username", flat=True)) == [
        "head_kyoiku",
        "head_somu",
    ]
    (somu,) = [m for m in mail_to(mailoutbox, people["head"]) if m.subject.startswith("【未完了者")]
    assert somu.subject == f"【未完了者のお知らせ】{TITLE}"
    names = sorted(line[2:] for line in somu.body.splitlines() if line.startswith("- "))
    assert names == ["情報政策課 admin さん", "情報政策課 chief_joho さん", "総務部 head_somu さん"]
    assert_links_to(somu, "/training/status/")
    (kyoiku,) = [m for m in mail_to(mailoutbox, people["other_head"]) if "未完了者" in m.subject]
    assert "staff_kyoiku" in kyoiku.body and "chief_joho" not in kyoiku.body

    assert_rerun_sends_nothing(remind_training, mailoutbox, today=today)
    assert_rerun_sends_nothing(remind_training, mailoutbox, today=today + days(1))


def test_no_digest_before_escalation_after_days(course, mailoutbox, settings):
    remind_training(today=course.deadline + days(settings.ESCALATION_AFTER_DAYS - 1))
    assert not Notification.objects.filter(kind="escalation").exists()


# --- the quiz -------------------------------------------------------------------------------


@pytest.mark.parametrize(("right", "score"), [(0, 0), (1, 50), (2, 100)])
def test_the_score_is_the_share_of_right_answers(course, right, score):
    assert courses.grade(course, answers(course, right=right)) == score


def test_a_course_without_a_quiz_scores_full_marks(make_course):
    assert courses.grade(make_course(title="資料のみ"), {}) == 100


def test_a_right_choice_given_for_another_question_does_not_count(course):
    first, second = course.questions.all()
    wrong = {
        first.pk: second.choices.get(is_correct=True).pk,
        second.pk: second.choices.get(is_correct=True).pk,
    }
    assert courses.grade(course, wrong) == 50


def test_a_failed_attempt_can_be_retried_until_passed(course, people):
    staff = people["staff"]
    enrolment = Enrolment.objects.get(course=course, user=staff)
    first = courses.submit_attempt(enrolment, answers(course, right=1), by=staff)
    enrolment.refresh_from_db()
    assert (first.score, first.passed) == (50, False)
    assert enrolment.completed_at is None and enrolment.best_score == 50

    second = courses.submit_attempt(enrolment, answers(course, right=2), by=staff)
    enrolment.refresh_from_db()
    assert (second.score, second.passed) == (100, True)
    assert enrolment.completed_at == second.finished_at
    assert enrolment.best_score == 100

    # A worse attempt afterwards changes neither the completion nor the best score.
    courses.submit_attempt(enrolment, answers(course, right=0), by=staff)
    enrolment.refresh_from_db()
    assert enrolment.completed_at == second.finished_at and enrolment.best_score == 100
    assert enrolment.attempts.count() == 3


@pytest.mark.parametrize(("pass_mark", "passed"), [(50, True), (51, False)])
def test_the_pass_mark_is_inclusive(course, people, pass_mark, passed):
    Course.objects.filter(pk=course.pk).update(pass_mark=pass_mark)
    staff = people["staff"]
    enrolment = Enrolment.objects.get(course=course, user=staff)
    attempt = courses.submit_attempt(enrolment, answers(course, right=1), by=staff)
    enrolment.refresh_from_db()
    assert attempt.passed is passed
    assert (enrolment.completed_at is not None) is passed


def test_every_question_must_be_answered(course, people):
    staff = people["staff"]
    enrolment = Enrolment.objects.get(course=course, user=staff)
    partial = dict(list(answers(course, right=2).items())[:1])
    with pytest.raises(ValidationError):
        courses.submit_attempt(enrolment, partial, by=staff)
    assert not enrolment.attempts.exists()


def test_nobody_takes_a_quiz_for_someone_else(course, people):
    enrolment = Enrolment.objects.get(course=course, user=people["staff"])
    with pytest.raises(PermissionDenied):
        courses.submit_attempt(enrolment, answers(course, right=2), by=people["chief"])
    enrolment.refresh_from_db()
    assert enrolment.completed_at is None


# --- batches --------------------------------------------------------------------------------


@pytest.mark.parametrize("crowd", [40, pytest.param(480, marks=SQLITE_SPLITS_INSERTS)])
def test_enrolment_and_reminders_run_a_fixed_number_of_queries(
    make_course, org, mailoutbox, django_assert_max_num_queries, crowd
):
    User.objects.bulk_create(
        User(username=f"crowd-{n:03d}", section=org["joho"], password=password_hash())
        for n in range(crowd)
    )
    User.objects.filter(username__startswith="crowd-").update(
        email=Concat("username", Value("@city.example.jp"))
    )
    course = make_course()
    with django_assert_max_num_queries(5):
        assert sync_enrolments() == crowd + len(EVERYONE)
    with queries_besides_mail_stamps(24) as stamps:
        sent = remind_training(today=course.deadline + days(10))  # reminders and digests
    assert sent == crowd + len(EVERYONE) + 2
    assert len(mailoutbox) == sent == len(stamps)
