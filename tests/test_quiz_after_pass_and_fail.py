"""The quiz after an attempt (issue 12): once passed it is closed (the result shown, no form,
and a POST records nothing); after a fail each question says in words whether its answer was
right or wrong, without revealing the right choice of a wrong one, and the person retakes."""

import datetime

import pytest
from django.utils import timezone

from isms.eras import fiscal_year
from training.models import Choice, Course, Enrolment, Question
from training.services import publish_course

from .pages import ja, messages, page


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("training.services.enqueue", lambda task, *args: None)


def make_course(people, *, quiz=True):
    today = timezone.localdate()
    course = Course.objects.create(
        title="情報セキュリティ研修",
        content="## 目的",
        fiscal_year=fiscal_year(today),
        deadline=today + datetime.timedelta(days=30),
        pass_mark=80,
        created_by=people["admin"],
    )
    if quiz:
        for n in (1, 2):
            question = Question.objects.create(course=course, text=f"問{n}", order=n)
            Choice.objects.create(question=question, text="正しい", is_correct=True)
            Choice.objects.create(question=question, text="誤り", is_correct=False)
            Choice.objects.create(question=question, text="どちらでもない", is_correct=False)
    publish_course(course, by=people["admin"])
    return course


@pytest.fixture
def course(people):
    return make_course(people)


def answers(course, rights):
    """POST data: for question n, the right choice if rights[n] else a wrong one."""
    data = {}
    for question, right in zip(course.questions.order_by("order"), rights, strict=True):
        choice = question.choices.filter(is_correct=right).order_by("pk").first()
        data[f"q{question.pk}"] = str(choice.pk)
    return data


def marks(response):
    """{question number: "right" | "wrong"} as marked on the page, with the mark's words."""
    found = {}
    for n in (1, 2):
        mark = page(response).find(testid=f"mark-{n}")
        if mark is not None:
            found[n] = (mark.attrs["data-mark"], mark.text)
    return found


@pytest.fixture
def path(course):
    return f"/training/courses/{course.pk}/"


# --- after a pass ---------------------------------------------------------------------------


def test_after_a_pass_the_page_shows_the_result_and_no_quiz_form(client, people, course, path):
    client.force_login(people["staff"])

    passed = client.post(path, answers(course, [True, True]))
    again = client.get(path)

    for response in (passed, again):
        shown = page(response)
        assert shown.find("form", testid="quiz") is None
        assert shown.find("input", type="radio") is None
        assert shown.find(testid="submit-quiz") is None
        assert "100%" in shown.find(testid="quiz-closed").text
        assert shown.find(testid="course-completed") is not None


def test_a_post_after_a_pass_records_nothing(client, people, course, path):
    client.force_login(people["staff"])
    client.post(path, answers(course, [True, True]))
    enrolment = Enrolment.objects.get(course=course, user=people["staff"])
    before = (enrolment.completed_at, enrolment.best_score, enrolment.attempts.count())

    response = client.post(path, answers(course, [False, False]))

    assert response.status_code == 200
    enrolment.refresh_from_db()
    assert (enrolment.completed_at, enrolment.best_score, enrolment.attempts.count()) == before
    assert [level for level, _ in messages(response)] == ["info"]
    assert page(response).find("form", testid="quiz") is None


def test_a_course_without_a_quiz_shows_no_form_once_completed(client, people):
    reading = make_course(people, quiz=False)
    path = f"/training/courses/{reading.pk}/"
    client.force_login(people["staff"])

    done = client.post(path, {})
    again = client.post(path, {})

    assert page(done).find("form", testid="quiz") is None
    assert page(again).find("form", testid="quiz") is None
    enrolment = Enrolment.objects.get(course=reading, user=people["staff"])
    assert enrolment.attempts.count() == 1


# --- after a fail ---------------------------------------------------------------------------


def test_after_a_fail_each_question_says_in_words_whether_it_was_right(
    client, people, course, path
):
    client.force_login(people["staff"])

    failed = client.post(path, answers(course, [True, False]))

    assert failed.status_code == 200
    assert marks(failed) == {1: ("right", ja("Right")), 2: ("wrong", ja("Wrong"))}
    assert "1" in page(failed).find(testid="quiz-result").text
    # The retake is open, with the answers given still chosen.
    quiz = page(failed).find("form", testid="quiz")
    assert quiz is not None
    radios = quiz.find_all("input", type="radio")
    assert radios and not any("disabled" in radio.attrs for radio in radios)
    chosen = {r.attrs["name"]: r.attrs["value"] for r in radios if "checked" in r.attrs}
    assert chosen == answers(course, [True, False])


def test_a_wrong_answer_does_not_reveal_the_right_choice(client, people, course, path):
    client.force_login(people["staff"])

    failed = client.post(path, answers(course, [True, False]))

    second = page(failed).find("fieldset", testid="question-2")
    labels = second.find_all("label")
    # Only the person's own answer is pointed at; the right one is not singled out.
    pointed = [label.text for label in labels if label.find(cls="your-answer")]
    assert pointed == [f"誤り {ja('(your answer)')}"]
    assert all(label.find(cls="mark") is None for label in labels)
    assert "正しい" not in second.find("legend").text


def test_coming_back_after_a_fail_shows_the_marks_of_the_last_attempt(client, people, course, path):
    client.force_login(people["staff"])
    client.post(path, answers(course, [False, False]))
    client.post(path, answers(course, [False, True]))

    response = client.get(path)

    assert {n: mark for n, (mark, _) in marks(response).items()} == {1: "wrong", 2: "right"}


def test_a_retake_after_a_fail_passes_and_closes_the_quiz(client, people, course, path):
    client.force_login(people["staff"])
    client.post(path, answers(course, [True, False]))

    passed = client.post(path, answers(course, [True, True]))

    assert [level for level, _ in messages(passed)] == ["success"]
    assert page(passed).find("form", testid="quiz") is None
    assert marks(passed) == {}
    enrolment = Enrolment.objects.get(course=course, user=people["staff"])
    assert enrolment.completed_at is not None and enrolment.attempts.count() == 2


def test_an_unanswered_quiz_comes_back_with_the_error_and_no_marks(client, people, course, path):
    client.force_login(people["staff"])
    client.post(path, answers(course, [True, False]))
    first = course.questions.order_by("order").first()
    data = {f"q{first.pk}": answers(course, [True, True])[f"q{first.pk}"]}

    response = client.post(path, data)

    assert [level for level, _ in messages(response)] == ["error"]
    assert marks(response) == {}
    assert Enrolment.objects.get(course=course, user=people["staff"]).attempts.count() == 1
