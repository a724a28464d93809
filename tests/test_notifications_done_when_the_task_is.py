"""A notification asking for an action shows as done once the action is done (issue 12):
acknowledging a revision, passing a course, submitting a self-inspection. It stays in the
list, greyed and marked 対応済み, and leaves the unread badge. Only the notifications of that
task, and of the people it was done for, change; the reminder ledger is untouched."""

import datetime

import pytest
from django.utils import timezone

from acknowledgements import services as acks
from acknowledgements.tasks import remind_acknowledgements
from audits import services as audit_services
from audits.tasks import remind_self_inspections
from isms.models import Notification, SentReminder
from training import services as courses
from training.models import Choice, Course, Enrolment, Question
from training.tasks import remind_training, sync_enrolments

from .audit_helpers import answer_all, inspection, open_cycle
from .pages import page
from .reminder_helpers import assert_rerun_sends_nothing, give_addresses


def days(n):
    return datetime.timedelta(days=n)


@pytest.fixture(autouse=True)
def addresses(people):
    give_addresses(people)


def listed(client):
    """(title, done) of each notification on the list."""
    items = page(client.get("/notifications/")).find("ul", testid="notifications")
    return [
        (li.find("strong").text, "done" in li.classes, "unread" in li.classes, li.text)
        for li in items.find_all("li", testid="notification")
    ]


def badge(client):
    count = page(client.get("/notifications/")).find("a", testid="notification-badge")
    count = count.find("span", cls="count")
    return int(count.text) if count else 0


# --- acknowledgement ----------------------------------------------------------------------------


@pytest.fixture
def reminded(standard, procedure, mailoutbox):
    """Everyone was asked to acknowledge the standard (and 総務部 the procedure)."""
    remind_acknowledgements(today=standard.campaign.deadline - days(30))
    return standard


def test_acknowledging_marks_the_request_done_and_takes_it_off_the_badge(as_role, reminded, people):
    client = as_role("staff")
    assert badge(client) == 2

    client.post(f"/acknowledgements/revisions/{reminded.pk}/")

    rows = {title: (done, unread, text) for title, done, unread, text in listed(client)}
    standard = next(t for t in rows if "対策基準" in t)
    procedure = next(t for t in rows if "運用手順" in t)
    done, unread, text = rows[standard]
    assert done and not unread and "対応済み" in text
    assert rows[procedure][:2] == (False, True)
    assert badge(client) == 1


def test_it_is_done_only_for_the_person_who_acknowledged(as_role, reminded, people):
    acks.acknowledge(people["staff"], reminded)

    assert badge(as_role("chief")) == 2
    assert not any(done for _, done, _, _ in listed(as_role("chief")))


def test_a_done_notification_stays_done_after_mark_all_as_read(as_role, reminded, people):
    client = as_role("staff")
    client.post(f"/acknowledgements/revisions/{reminded.pk}/")
    client.post("/notifications/read/")

    assert badge(client) == 0
    assert sum(done for _, done, _, _ in listed(client)) == 1


def test_the_ledger_still_sends_each_reminder_once(reminded, people, mailoutbox):
    acks.acknowledge(people["staff"], reminded)
    ledger = SentReminder.objects.count()

    assert_rerun_sends_nothing(
        remind_acknowledgements, mailoutbox, today=reminded.campaign.deadline - days(30)
    )
    assert SentReminder.objects.count() == ledger
    # The next stage is not sent to someone who has done it, and is to the others.
    mailoutbox.clear()
    remind_acknowledgements(today=reminded.campaign.deadline - days(3))
    to = {m.to[0].split("@")[0] for m in mailoutbox if "対策基準" in m.subject}
    assert "staff_joho" not in to and "chief_joho" in to


# --- a course -------------------------------------------------------------------------------------


@pytest.fixture
def course(people):
    today = timezone.localdate()
    course = Course.objects.create(
        title="情報セキュリティ基礎研修",
        content="## 研修",
        deadline=today + days(40),
        fiscal_year=today.year if today.month >= 4 else today.year - 1,
        is_published=True,
        published_at=timezone.now(),
        created_by=people["admin"],
    )
    question = Question.objects.create(course=course, text="問1", order=1)
    Choice.objects.create(question=question, text="正しい", is_correct=True)
    Choice.objects.create(question=question, text="誤り", is_correct=False)
    sync_enrolments()
    remind_training(today=today)
    return course


def take(course, user, *, right):
    question = course.questions.get()
    choice = question.choices.get(is_correct=right)
    enrolment = Enrolment.objects.get(course=course, user=user)
    return courses.submit_attempt(enrolment, {question.pk: choice.pk}, by=user)


def test_passing_a_course_marks_its_reminder_done_and_failing_does_not(as_role, course, people):
    take(course, people["chief"], right=False)
    take(course, people["staff"], right=True)

    (staff,) = [row for row in listed(as_role("staff")) if "基礎研修" in row[0]]
    (chief,) = [row for row in listed(as_role("chief")) if "基礎研修" in row[0]]
    assert staff[1] and "対応済み" in staff[3]
    assert not chief[1] and chief[2]


# --- a self-inspection ----------------------------------------------------------------------------


def test_submitting_a_self_inspection_marks_it_done_for_every_one_asked_to_answer(
    as_role, org, people
):
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    remind_self_inspections(today=cycle.starts_on)
    somu = inspection(cycle, org["somu"])
    answer_all(somu, by=people["head"])

    audit_services.submit(somu, by=people["head"])

    for role in ("head", "chief"):
        ((title, done, unread, text),) = listed(as_role(role))
        assert done and not unread and "対応済み" in text
    ((_, done, unread, _),) = listed(as_role("other_head"))
    assert (done, unread) == (False, True)
    assert Notification.objects.filter(task_key=f"inspection:{somu.pk}").count() == 2
