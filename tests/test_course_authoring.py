"""Writing a course in the portal (issue 12): the CISO's office writes the content, the files,
the questions and their choices on one page, adds questions without JavaScript, checks the
course in a preview that records nothing, and publishes it after a confirmation that says who
will be enrolled. Nothing typed is lost when the page comes back with errors."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from isms.eras import fiscal_year
from training.models import Attempt, Choice, Course, CourseAudience, CourseFile, Enrolment, Question

from .conftest import ROLES
from .pages import is_login_redirect, page

# The programme office: the CISO and the programme admin (training.access.can_manage_courses).
AUTHORS = {"ciso", "admin"}
NEW = "/training/courses/new/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    """Publication queues the announcement; these tests have no worker."""
    monkeypatch.setattr("training.services.enqueue", lambda task, *args: None)


@pytest.fixture
def draft(people):
    """A draft course with one question (first choice right)."""
    today = timezone.localdate()
    course = Course.objects.create(
        title="下書きの研修",
        content="## 目的\n\n下書き",
        fiscal_year=fiscal_year(today),
        deadline=today + datetime.timedelta(days=30),
        created_by=people["admin"],
    )
    question = Question.objects.create(course=course, text="問1", order=1)
    Choice.objects.create(question=question, text="正しい", is_correct=True)
    Choice.objects.create(question=question, text="誤り", is_correct=False)
    return course


def management(prefix, total, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def new_course_data(questions, *, action="save", **course):
    """The POST of the authoring page for a new course: `questions` is a list of
    (text, [(choice text, correct), ...])."""
    today = timezone.localdate()
    data = {
        "title": "標的型メール訓練",
        "content": "## 目的\n\n不審なメールを開かない。",
        "fiscal_year": str(fiscal_year(today)),
        "deadline": (today + datetime.timedelta(days=30)).isoformat(),
        "pass_mark": "80",
        "audience": CourseAudience.ALL_STAFF,
        "action": action,
        **management("files", 1),
        "files-0-name": "",
        **management("questions", len(questions)),
    }
    data.update(course)
    for n, (text, choices) in enumerate(questions):
        data[f"questions-{n}-text"] = text
        data.update(management(f"questions-{n}-choices", len(choices)))
        for m, (choice, correct) in enumerate(choices):
            data[f"questions-{n}-choices-{m}-text"] = choice
            if correct:
                data[f"questions-{n}-choices-{m}-is_correct"] = "on"
    return data


TWO_QUESTIONS = [
    ("添付ファイルを開く前に確認することは", [("差出人", True), ("天気", False), ("", False)]),
    ("パスワードを共有してよいか", [("よい", False), ("よくない", True)]),
]


def field_value(response, name):
    node = page(response).find(name=name)
    if node is None:
        return None
    if node.tag == "textarea":
        return node.text
    return node.attrs.get("value")


def summary_links(response):
    summary = page(response).find(testid="error-summary")
    assert summary is not None, "the page shows no error summary"
    return [a.attrs["href"] for a in summary.find_all("a")]


# --- who may write courses -----------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("where", ["new", "edit", "preview", "publish"])
def test_only_the_programme_office_opens_the_authoring_pages(role, where, as_role, draft):
    path = {
        "new": NEW,
        "edit": f"/training/courses/{draft.pk}/edit/",
        "preview": f"/training/courses/{draft.pk}/preview/",
        "publish": f"/training/courses/{draft.pk}/publish/",
    }[where]

    response = as_role(role).get(path)

    if role == "anonymous":
        assert is_login_redirect(response, path)
    elif role in AUTHORS:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_only_the_programme_office_saves_a_course(role, as_role, people):
    response = as_role(role).post(NEW, new_course_data(TWO_QUESTIONS))

    if role == "anonymous":
        assert is_login_redirect(response, NEW)
    elif role in AUTHORS:
        assert response.status_code == 302
        assert Course.objects.filter(title="標的型メール訓練").count() == 1
        return
    else:
        assert response.status_code == 403
    assert not Course.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_only_the_programme_office_publishes_after_confirming(role, as_role, draft):
    path = f"/training/courses/{draft.pk}/publish/"

    response = as_role(role).post(path, {"confirmed": "yes"})

    draft.refresh_from_db()
    if role == "anonymous":
        assert is_login_redirect(response, path)
    elif role in AUTHORS:
        assert response.status_code == 302
        assert draft.is_published
        return
    else:
        assert response.status_code == 403
    assert not draft.is_published
    assert not Enrolment.objects.filter(course=draft).exists()


def test_the_training_page_offers_the_office_a_new_course_and_the_drafts_to_edit(as_role, draft):
    shown = page(as_role("admin").get("/training/"))

    assert shown.find("a", testid="new-course").attrs["href"] == NEW
    assert shown.find("a", testid=f"edit-{draft.pk}").attrs["href"] == (
        f"/training/courses/{draft.pk}/edit/"
    )
    assert page(as_role("staff").get("/training/")).find(testid="new-course") is None


# --- writing -------------------------------------------------------------------------------


def test_a_course_is_written_with_its_file_questions_and_choices_on_one_page(client, people):
    client.force_login(people["admin"])
    data = new_course_data(TWO_QUESTIONS)
    data["files-0-file"] = SimpleUploadedFile("slides.pdf", b"%PDF-1.4 slides")

    response = client.post(NEW, data)

    course = Course.objects.get(title="標的型メール訓練")
    assert response.status_code == 302
    assert response["Location"] == f"/training/courses/{course.pk}/edit/"
    assert not course.is_published
    assert course.created_by == people["admin"]
    assert (course.pass_mark, course.audience) == (80, CourseAudience.ALL_STAFF)
    questions = list(course.questions.order_by("order"))
    assert [(q.order, q.text) for q in questions] == [
        (1, "添付ファイルを開く前に確認することは"),
        (2, "パスワードを共有してよいか"),
    ]
    # The empty third choice row is left out.
    assert list(questions[0].choices.values_list("text", "is_correct")) == [
        ("差出人", True),
        ("天気", False),
    ]
    (material,) = CourseFile.objects.filter(course=course)
    assert material.name == "slides.pdf"  # the file's own name when none is given
    assert material.file.read() == b"%PDF-1.4 slides"


def test_the_edit_page_shows_the_draft_as_saved_with_blank_rows_to_add_choices(as_role, draft):
    response = as_role("ciso").get(f"/training/courses/{draft.pk}/edit/")

    assert field_value(response, "title") == "下書きの研修"
    assert field_value(response, "questions-0-text") == "問1"
    assert field_value(response, "questions-0-choices-0-text") == "正しい"
    choice = page(response).find("input", name="questions-0-choices-0-is_correct")
    assert "checked" in choice.attrs
    # Two choices saved: two blank rows make four.
    assert field_value(response, "questions-0-choices-TOTAL_FORMS") == "4"


def test_editing_a_draft_changes_removes_and_adds_choices(client, people, draft):
    client.force_login(people["ciso"])
    question = draft.questions.get()
    right, wrong = question.choices.order_by("pk")
    path = f"/training/courses/{draft.pk}/edit/"
    data = new_course_data([], title="改めた研修")
    data.update(management("questions", 1, initial=1))
    data.update(
        {
            "questions-0-id": str(question.pk),
            "questions-0-course": str(draft.pk),
            "questions-0-text": "問1（改）",
            **management("questions-0-choices", 3, initial=2),
            "questions-0-choices-0-id": str(right.pk),
            "questions-0-choices-0-question": str(question.pk),
            "questions-0-choices-0-text": "正しい",
            "questions-0-choices-0-is_correct": "on",
            "questions-0-choices-1-id": str(wrong.pk),
            "questions-0-choices-1-question": str(question.pk),
            "questions-0-choices-1-text": "誤り",
            "questions-0-choices-1-DELETE": "on",
            "questions-0-choices-2-text": "新しい誤り",
        }
    )

    response = client.post(path, data)

    assert response.status_code == 302, page(response).find(testid="error-summary").text
    draft.refresh_from_db()
    assert draft.title == "改めた研修"
    question.refresh_from_db()
    assert question.text == "問1（改）"
    assert list(question.choices.values_list("text", "is_correct")) == [
        ("正しい", True),
        ("新しい誤り", False),
    ]


def test_add_a_question_shows_one_more_and_keeps_everything_typed_without_saving(client, people):
    client.force_login(people["admin"])
    data = new_course_data(
        [("まだ書きかけの問い", [("ひとつ目", False)])],
        action="add_question",
        title="",  # not written yet: not an error on adding a question
    )

    response = client.post(NEW, data)

    assert response.status_code == 200
    assert not Course.objects.exists()
    assert page(response).find(testid="error-summary") is None
    assert field_value(response, "questions-TOTAL_FORMS") == "2"
    assert field_value(response, "questions-0-text") == "まだ書きかけの問い"
    assert field_value(response, "questions-0-choices-0-text") == "ひとつ目"
    # (the page reader collapses white space)
    assert field_value(response, "content") == " ".join(data["content"].split())
    assert page(response).find(testid="question-2") is not None
    assert field_value(response, "questions-1-choices-TOTAL_FORMS") == "4"
    assert "autofocus" in page(response).find("textarea", name="questions-1-text").attrs

    # Saving what was typed then says what is missing.
    data = new_course_data([("まだ書きかけの問い", [("ひとつ目", False)]), ("", [])], title="")
    response = client.post(NEW, data)
    assert response.status_code == 200
    assert not Course.objects.exists()
    assert "#id_title" in summary_links(response)
    assert "#questions-0-fieldset" in summary_links(response)


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choices", "error"),
    [
        ([("ひとつだけ", True)], "too_few"),
        ([("一", False), ("二", False)], "no_correct"),
    ],
    ids=["one-choice", "none-correct"],
)
def test_a_question_needs_two_choices_and_a_correct_one_shown_beside_it(
    choices, error, client, people
):
    client.force_login(people["admin"])
    data = new_course_data([TWO_QUESTIONS[0], ("問題のある問い", choices)])

    response = client.post(NEW, data)

    assert response.status_code == 200
    assert not Course.objects.exists()
    assert summary_links(response) == ["#questions-1-fieldset"]
    beside = page(response).find(testid="question-2-error")
    assert beside is not None and "error" in beside.classes
    assert page(response).find(testid="question-1-error") is None
    # Everything typed is still there.
    assert field_value(response, "questions-1-text") == "問題のある問い"
    assert field_value(response, "questions-1-choices-0-text") == choices[0][0]
    assert field_value(response, "questions-0-choices-1-text") == "天気"
    assert field_value(response, "title") == "標的型メール訓練"


@pytest.mark.parametrize("mark", ["101", "-1", "八十", "²"])
def test_a_pass_mark_outside_0_to_100_is_an_error_beside_the_field(mark, client, people):
    client.force_login(people["admin"])

    response = client.post(NEW, new_course_data(TWO_QUESTIONS, pass_mark=mark))

    assert response.status_code == 200
    assert not Course.objects.exists()
    assert summary_links(response) == ["#id_pass_mark"]
    assert page(response).find(id="id_pass_mark_error") is not None
    assert field_value(response, "pass_mark") == mark


def test_an_audience_of_roles_needs_a_role(client, people):
    client.force_login(people["admin"])

    response = client.post(NEW, new_course_data(TWO_QUESTIONS, audience=CourseAudience.ROLES))

    assert response.status_code == 200
    assert summary_links(response) == ["#id_roles"]
    assert not Course.objects.exists()


def test_text_sent_where_a_file_belongs_is_an_error(client, people):
    client.force_login(people["admin"])
    data = new_course_data(TWO_QUESTIONS)
    data["files-0-file"] = "not a file"

    response = client.post(NEW, data)

    assert response.status_code == 200
    assert not Course.objects.exists()
    assert "#id_files-0-file" in summary_links(response)


def test_a_published_course_can_no_longer_be_changed(client, people, draft):
    client.force_login(people["admin"])
    client.post(f"/training/courses/{draft.pk}/publish/", {"confirmed": "yes"})
    path = f"/training/courses/{draft.pk}/edit/"

    shown = client.get(path)
    posted = client.post(path, new_course_data(TWO_QUESTIONS, title="変えた"))

    assert shown.status_code == posted.status_code == 302
    assert posted["Location"] == f"/training/courses/{draft.pk}/"
    draft.refresh_from_db()
    assert draft.title == "下書きの研修"
    assert draft.questions.count() == 1


def test_the_edit_page_runs_a_fixed_number_of_queries_whatever_the_questions(
    client, people, draft, django_assert_max_num_queries
):
    for n in range(2, 21):
        question = Question.objects.create(course=draft, text=f"問{n}", order=n)
        Choice.objects.bulk_create(
            Choice(question=question, text=f"選択肢{m}", is_correct=m == 1) for m in range(1, 5)
        )
    client.force_login(people["admin"])

    with django_assert_max_num_queries(12):
        response = client.get(f"/training/courses/{draft.pk}/edit/")

    assert page(response).find(testid="question-20") is not None


# --- preview -------------------------------------------------------------------------------


def test_the_preview_shows_the_course_and_quiz_and_checks_answers_without_recording(
    client, people, draft
):
    client.force_login(people["ciso"])
    path = f"/training/courses/{draft.pk}/preview/"
    question = draft.questions.get()
    wrong = question.choices.get(is_correct=False)

    shown = client.get(path)
    checked = client.post(path, {f"q{question.pk}": str(wrong.pk)})

    assert page(shown).find(testid="preview-content").text.startswith("目的")
    assert page(shown).find("input", type="radio", name=f"q{question.pk}") is not None
    assert checked.status_code == 200
    assert page(checked).find(testid="mark-1").attrs["data-mark"] == "wrong"
    assert "0%" in page(checked).find(testid="preview-result").text
    assert not Attempt.objects.exists()
    assert not Enrolment.objects.exists()


# --- publication ---------------------------------------------------------------------------


def test_publishing_asks_first_and_says_who_will_be_enrolled(client, people, draft, org):
    client.force_login(people["admin"])
    path = f"/training/courses/{draft.pk}/publish/"
    Course.objects.filter(pk=draft.pk).update(audience=CourseAudience.DEPARTMENTS)
    draft.departments.set([org["joho"]])

    asked = client.post(path)

    assert asked.status_code == 200
    confirmation = page(asked).find(testid="confirmation")
    assert confirmation is not None
    # 情報政策課: staff_joho, chief_joho and admin.
    lines = [li.text for li in confirmation.find_all("li")]
    assert any(line.startswith("3") and "情報政策課" in line for line in lines), lines
    form = confirmation.find("form")
    assert form.attrs["action"] == path
    assert form.find("input", name="confirmed").attrs["value"] == "yes"
    draft.refresh_from_db()
    assert not draft.is_published
    assert not Enrolment.objects.filter(course=draft).exists()

    done = client.post(path, {"confirmed": "yes"})

    assert done.status_code == 302
    draft.refresh_from_db()
    assert draft.is_published
    assert set(Enrolment.objects.filter(course=draft).values_list("user__username", flat=True)) == {
        "staff_joho",
        "chief_joho",
        "admin",
    }
