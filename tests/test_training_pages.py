"""Security training pages: the person's course list, taking a course and its quiz, the
certificate, publishing a course to its audience, course materials, and completion per
section for heads and the CISO's office (with CSV and Excel exports)."""

import csv
import datetime
import io

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone, translation
from openpyxl import load_workbook

from isms.eras import fiscal_year, to_era
from isms.models import Role, User
from training.models import (
    Attempt,
    Choice,
    Course,
    CourseAudience,
    CourseFile,
    Enrolment,
    Question,
)
from training.services import publish_course
from training.views import COMPLETION_COLUMNS

from .factories import password_hash
from .pages import is_login_redirect, messages, page

# Every persona, and the anonymous visitor.
PERSONAS = [
    "anonymous",
    "staff",
    "staff_somuka",
    "chief",
    "head",
    "other_head",
    "other_staff",
    "auditor",
    "ciso",
    "admin",
]
MANAGERS = {"admin", "ciso"}
# The personas in 情報政策課, the audience of the `joho_course`.
IN_JOHO = {"staff", "chief", "admin"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Course files are written to a directory of this test, not to the project's media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def make_course(people):
    """make_course(...) -> a course of this fiscal year, with a two-question quiz whose
    first choice is the right one, published by the programme admin unless told not to."""

    def make(
        *,
        title="情報セキュリティ研修",
        quiz=True,
        pass_mark=80,
        audience=CourseAudience.ALL_STAFF,
        departments=(),
        roles=(),
        publish=True,
    ):
        today = timezone.localdate()
        course = Course.objects.create(
            title=title,
            content="## 目的\n\n標的型メールに注意する。",
            fiscal_year=fiscal_year(today),
            deadline=today + datetime.timedelta(days=30),
            audience=audience,
            roles=list(roles),
            pass_mark=pass_mark,
            created_by=people["admin"],
        )
        course.departments.set(departments)
        if quiz:
            for n in (1, 2):
                question = Question.objects.create(course=course, text=f"問{n}", order=n)
                Choice.objects.create(question=question, text="正しい", is_correct=True)
                Choice.objects.create(question=question, text="誤り", is_correct=False)
        if publish:
            publish_course(course, by=people["admin"])
            course.refresh_from_db()
        return course

    return make


@pytest.fixture
def course(make_course):
    """The all-staff course of this year, published: every persona is enrolled."""
    return make_course()


@pytest.fixture
def joho_course(make_course, org):
    """A course for 情報政策課 only: staff, chief and admin are enrolled, nobody else."""
    return make_course(
        title="情報政策課研修", audience=CourseAudience.DEPARTMENTS, departments=[org["joho"]]
    )


def answers(course, *, right):
    """The quiz form's POST data: every question answered, rightly or wrongly."""
    data = {}
    for question in course.questions.all():
        choice = question.choices.get(is_correct=right)
        data[f"q{question.pk}"] = str(choice.pk)
    return data


def enrolment_of(course, person):
    return Enrolment.objects.get(course=course, user=person)


def complete(course, person, client):
    client.force_login(person)
    response = client.post(f"/training/courses/{course.pk}/", answers(course, right=True))
    assert response.status_code == 200
    enrolment = enrolment_of(course, person)
    assert enrolment.completed_at is not None
    return enrolment


def body(response):
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


# --- my courses ----------------------------------------------------------------------------


def test_the_training_page_lists_the_persons_courses_with_due_dates_in_the_era(
    as_role, make_course, org
):
    mine = make_course(title="全職員研修")
    other = make_course(
        title="教育部研修", audience=CourseAudience.DEPARTMENTS, departments=[org["kyoiku"]]
    )
    draft = make_course(title="未公開の研修", publish=False)

    response = as_role("staff").get("/training/")

    assert response.status_code == 200
    table = page(response).find("table", testid="my-courses")
    listed = {
        a.attrs["data-testid"]: a.attrs["href"]
        for a in table.find_all("a")
        if a.attrs.get("data-testid", "").startswith("course-")
    }
    assert listed == {f"course-{mine.pk}": f"/training/courses/{mine.pk}/"}
    assert table.find(testid=f"due-{mine.pk}").text == to_era(mine.deadline)
    assert table.find(testid=f"course-{other.pk}") is None
    assert table.find(testid=f"course-{draft.pk}") is None


def test_a_completed_course_links_its_certificate_on_the_training_page(as_role, course, people):
    enrolment = complete(course, people["staff"], as_role("staff"))

    response = as_role("staff").get("/training/")

    certificate = page(response).find("a", testid=f"certificate-{enrolment.pk}")
    assert certificate is not None
    assert certificate.attrs["href"] == f"/training/certificates/{enrolment.pk}/"


def test_the_training_page_sends_anonymous_visitors_to_log_in(as_role, course):
    assert is_login_redirect(as_role("anonymous").get("/training/"), "/training/")


def test_only_managers_see_the_courses_not_yet_published(as_role, make_course):
    draft = make_course(title="未公開の研修", publish=False)
    href = f"/training/courses/{draft.pk}/"

    for role in ("admin", "ciso"):
        assert href in [a.attrs.get("href") for a in page(as_role(role).get("/training/")).iter()]
    for role in ("staff", "head", "auditor"):
        shown = [a.attrs.get("href") for a in page(as_role(role).get("/training/")).iter()]
        assert href not in shown


# --- who may open a course -----------------------------------------------------------------


@pytest.mark.parametrize("role", PERSONAS)
def test_a_course_opens_for_its_audience_and_for_the_managers_previewing_it(
    role, client, people, joho_course
):
    path = f"/training/courses/{joho_course.pk}/"
    client.logout()
    if role != "anonymous":
        client.force_login(people[role])

    response = client.get(path)

    if role == "anonymous":
        assert is_login_redirect(response, path)
    elif role in IN_JOHO | MANAGERS:
        assert response.status_code == 200
        quiz = page(response).find("form", testid="quiz")
        # Only the enrolled take the quiz; a manager previewing sees the course without it.
        assert (quiz is not None) == (role in IN_JOHO)
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("role", ["staff", "head", "auditor", "admin", "ciso"])
def test_an_unpublished_course_is_previewed_by_the_managers_only(role, as_role, make_course):
    draft = make_course(publish=False)

    response = as_role(role).get(f"/training/courses/{draft.pk}/")

    if role in MANAGERS:
        assert response.status_code == 200
        publish = page(response).find("form", action=f"/training/courses/{draft.pk}/publish/")
        assert publish is not None
    else:
        assert response.status_code == 404


def test_a_manager_previewing_a_course_cannot_submit_its_quiz(client, people, joho_course):
    client.force_login(people["ciso"])

    response = client.post(f"/training/courses/{joho_course.pk}/", answers(joho_course, right=True))

    assert response.status_code == 404
    assert not Attempt.objects.exists()


def test_a_missing_course_is_not_found(as_role, course):
    assert as_role("admin").get(f"/training/courses/{course.pk + 999}/").status_code == 404


# --- taking the quiz -----------------------------------------------------------------------


def test_a_wrong_answer_fails_and_a_retry_with_the_right_answers_passes(client, people, course):
    staff = people["staff"]
    client.force_login(staff)
    path = f"/training/courses/{course.pk}/"
    first, second = course.questions.all()
    half_right = {
        f"q{first.pk}": str(first.choices.get(is_correct=True).pk),
        f"q{second.pk}": str(second.choices.get(is_correct=False).pk),
    }

    failed = client.post(path, half_right)

    assert failed.status_code == 200
    assert [level for level, _ in messages(failed)] == ["error"]
    assert "50%" in messages(failed)[0][1]
    enrolment = enrolment_of(course, staff)
    assert enrolment.completed_at is None
    assert enrolment.best_score == 50
    attempt = Attempt.objects.get(enrolment=enrolment)
    assert (attempt.score, attempt.passed) == (50, False)
    assert page(failed).find(testid="course-completed") is None
    shown = page(failed).find("ul", testid="attempts").find_all("li")
    assert len(shown) == 1 and "50%" in shown[0].text

    passed = client.post(path, answers(course, right=True))

    assert passed.status_code == 200
    assert [level for level, _ in messages(passed)] == ["success"]
    enrolment.refresh_from_db()
    assert enrolment.completed_at is not None
    assert enrolment.best_score == 100
    assert sorted(enrolment.attempts.values_list("score", "passed")) == [
        (50, False),
        (100, True),
    ]
    completed = page(passed).find(testid="course-completed")
    assert completed is not None
    certificate = completed.find("a", testid="certificate")
    assert certificate.attrs["href"] == f"/training/certificates/{enrolment.pk}/"
    assert len(page(passed).find("ul", testid="attempts").find_all("li")) == 2


def test_answers_sent_after_passing_keep_the_best_score_and_the_completion(client, people, course):
    enrolment = complete(course, people["staff"], client)
    completed_at = enrolment.completed_at

    client.post(f"/training/courses/{course.pk}/", answers(course, right=False))

    enrolment.refresh_from_db()
    assert (enrolment.best_score, enrolment.completed_at) == (100, completed_at)
    # The quiz is closed once passed (tests/test_quiz_after_pass_and_fail.py).
    assert enrolment.attempts.count() == 1


def test_the_pass_mark_of_the_course_decides(client, people, make_course):
    lenient = make_course(pass_mark=50)
    client.force_login(people["staff"])
    first, second = lenient.questions.all()

    client.post(
        f"/training/courses/{lenient.pk}/",
        {
            f"q{first.pk}": str(first.choices.get(is_correct=True).pk),
            f"q{second.pk}": str(second.choices.get(is_correct=False).pk),
        },
    )

    enrolment = enrolment_of(lenient, people["staff"])
    assert enrolment.completed_at is not None
    assert enrolment.best_score == 50


@pytest.mark.parametrize("answered", [0, 1], ids=["nothing-answered", "one-left"])
def test_unanswered_questions_are_an_error_and_no_attempt(answered, client, people, course):
    client.force_login(people["staff"])
    data = dict(list(answers(course, right=True).items())[:answered])

    response = client.post(f"/training/courses/{course.pk}/", data)

    assert response.status_code == 200
    assert [level for level, _ in messages(response)] == ["error"]
    assert not Attempt.objects.exists()
    enrolment = enrolment_of(course, people["staff"])
    assert (enrolment.completed_at, enrolment.best_score) == (None, None)


def test_an_answer_that_is_not_a_choice_counts_as_unanswered(client, people, course):
    client.force_login(people["staff"])
    data = answers(course, right=True)
    data[next(iter(data))] = "not-a-number"

    response = client.post(f"/training/courses/{course.pk}/", data)

    assert response.status_code == 200
    assert [level for level, _ in messages(response)] == ["error"]
    assert not Attempt.objects.exists()


def test_a_choice_of_another_question_is_refused_and_no_attempt_is_counted(client, people, course):
    client.force_login(people["staff"])
    first, second = course.questions.all()
    right_of_first = str(first.choices.get(is_correct=True).pk)

    response = client.post(
        f"/training/courses/{course.pk}/",
        {f"q{first.pk}": right_of_first, f"q{second.pk}": right_of_first},
    )

    # Not a choice of that question: the quiz is shown again with the error.
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    enrolment = enrolment_of(course, people["staff"])
    assert enrolment.best_score is None
    assert not enrolment.attempts.exists()


def test_a_course_without_a_quiz_is_completed_by_confirming(client, people, make_course):
    reading = make_course(quiz=False)
    client.force_login(people["staff"])
    path = f"/training/courses/{reading.pk}/"
    form = page(client.get(path)).find("form", testid="quiz")
    assert form.find(testid="submit-quiz") is not None
    assert form.find("input", type="radio") is None

    response = client.post(path, {})

    assert response.status_code == 200
    enrolment = enrolment_of(reading, people["staff"])
    assert enrolment.completed_at is not None
    assert enrolment.best_score == 100
    assert page(response).find(testid="course-completed") is not None


def test_one_person_completing_a_course_completes_nobody_else(client, people, course):
    complete(course, people["staff"], client)

    assert set(
        Enrolment.objects.filter(course=course, completed_at__isnull=False).values_list(
            "user__username", flat=True
        )
    ) == {"staff_joho"}


# --- certificates --------------------------------------------------------------------------

# The owner (staff_joho), the overseers of 情報政策課 and the city-wide oversight roles.
CERTIFICATE_READERS = {"staff", "chief", "head", "auditor", "ciso", "admin"}


@pytest.mark.parametrize("role", PERSONAS)
def test_the_certificate_is_a_pdf_for_its_owner_their_head_and_the_oversight_roles(
    role, client, people, course
):
    enrolment = complete(course, people["staff"], client)
    path = f"/training/certificates/{enrolment.pk}/"
    client.logout()
    if role != "anonymous":
        client.force_login(people[role])

    response = client.get(path)

    if role == "anonymous":
        assert is_login_redirect(response, path)
    elif role in CERTIFICATE_READERS:
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert "attachment" in response["Content-Disposition"]
        assert body(response).startswith(b"%PDF")
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("role", ["staff", "head", "ciso", "admin"])
def test_an_uncompleted_enrolment_has_no_certificate(role, as_role, people, course):
    enrolment = enrolment_of(course, people["staff"])

    response = as_role(role).get(f"/training/certificates/{enrolment.pk}/")

    assert response.status_code == 404


def test_a_failed_attempt_gives_no_certificate(client, people, course):
    client.force_login(people["staff"])
    client.post(f"/training/courses/{course.pk}/", answers(course, right=False))
    enrolment = enrolment_of(course, people["staff"])

    assert client.get(f"/training/certificates/{enrolment.pk}/").status_code == 404


# --- publishing ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", PERSONAS)
def test_only_the_admin_and_the_ciso_publish_a_course(role, client, people, make_course):
    draft = make_course(publish=False)
    path = f"/training/courses/{draft.pk}/publish/"
    client.logout()
    if role != "anonymous":
        client.force_login(people[role])

    response = client.post(path, {"confirmed": "yes"})

    draft.refresh_from_db()
    if role == "anonymous":
        assert is_login_redirect(response, path)
    elif role in MANAGERS:
        assert response.status_code == 302
        assert response["Location"] == f"/training/courses/{draft.pk}/"
        assert draft.is_published and draft.published_at is not None
        assert Enrolment.objects.filter(course=draft).exists()
        return
    else:
        assert response.status_code == 403
    assert not draft.is_published
    assert not Enrolment.objects.filter(course=draft).exists()


def test_publishing_only_asks_for_confirmation_until_confirmed(as_role, make_course):
    draft = make_course(publish=False)
    path = f"/training/courses/{draft.pk}/publish/"

    for response in (as_role("admin").get(path), as_role("admin").post(path)):
        assert response.status_code == 200
        assert page(response).find(testid="confirmation") is not None
    draft.refresh_from_db()
    assert not draft.is_published
    assert not Enrolment.objects.filter(course=draft).exists()


def test_publishing_twice_is_refused_without_enrolling_anyone_again(as_role, course):
    before = Enrolment.objects.filter(course=course).count()

    response = as_role("admin").post(f"/training/courses/{course.pk}/publish/", follow=True)

    assert response.status_code == 200
    assert [level for level, _ in messages(response)] == ["error"]
    assert Enrolment.objects.filter(course=course).count() == before


def enrolled(course):
    return set(Enrolment.objects.filter(course=course).values_list("user__username", flat=True))


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (
            {"audience": CourseAudience.ALL_STAFF},
            {
                "staff_joho",
                "staff_somuka",
                "chief_joho",
                "head_somu",
                "head_kyoiku",
                "staff_kyoiku",
                "auditor",
                "ciso",
                "admin",
            },
        ),
        (
            {"audience": CourseAudience.ROLES, "roles": [Role.DEPARTMENT_HEAD]},
            {"head_somu", "head_kyoiku"},
        ),
        (
            {"audience": CourseAudience.ROLES, "roles": [Role.SECTION_CHIEF, Role.AUDITOR]},
            {"chief_joho", "auditor"},
        ),
        (
            {"audience": CourseAudience.DEPARTMENTS, "departments": ["somu"]},
            {"staff_joho", "staff_somuka", "chief_joho", "head_somu", "admin"},
        ),
        (
            {"audience": CourseAudience.DEPARTMENTS, "departments": ["joho", "gakko"]},
            {"staff_joho", "chief_joho", "admin", "staff_kyoiku"},
        ),
    ],
    ids=["all-staff", "department-heads", "chiefs-and-auditors", "somubu", "two-sections"],
)
def test_publishing_enrols_the_audience_of_the_course(
    audience, expected, client, people, org, make_course
):
    audience = dict(audience)
    departments = [org[code] for code in audience.pop("departments", [])]
    draft = make_course(publish=False, departments=departments, **audience)
    client.force_login(people["ciso"])

    client.post(f"/training/courses/{draft.pk}/publish/", {"confirmed": "yes"})

    assert enrolled(draft) == expected
    due = set(Enrolment.objects.filter(course=draft).values_list("due_on", flat=True))
    assert due == {draft.deadline}


def test_inactive_people_and_people_without_a_section_are_not_enrolled(client, people, make_course):
    User.objects.create(username="retired", section=people["staff"].section, is_active=False)
    User.objects.create(username="nowhere", section=None)
    draft = make_course(publish=False)
    client.force_login(people["admin"])

    client.post(f"/training/courses/{draft.pk}/publish/", {"confirmed": "yes"})

    assert "retired" not in enrolled(draft)
    assert "nowhere" not in enrolled(draft)
    assert "staff_joho" in enrolled(draft)


# --- course files --------------------------------------------------------------------------


@pytest.fixture
def course_file(joho_course, media):
    return CourseFile.objects.create(
        course=joho_course,
        name="研修資料",
        file=ContentFile(b"slides of the course", name="slides.txt"),
    )


@pytest.mark.parametrize("role", PERSONAS)
def test_course_files_are_downloaded_only_by_the_enrolled_and_the_managers(
    role, client, people, course_file, media
):
    path = f"/training/files/{course_file.pk}/"
    assert (media / course_file.file.name).exists()
    client.logout()
    if role != "anonymous":
        client.force_login(people[role])

    response = client.get(path)

    if role == "anonymous":
        assert is_login_redirect(response, path)
    elif role in IN_JOHO | MANAGERS:
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        assert body(response) == b"slides of the course"
    else:
        assert response.status_code == 404


def test_the_course_page_links_its_files(as_role, course_file):
    response = as_role("staff").get(f"/training/courses/{course_file.course_id}/")

    hrefs = [a.attrs.get("href") for a in page(response).find_all("a")]
    assert f"/training/files/{course_file.pk}/" in hrefs


def test_the_files_of_an_unpublished_course_are_for_the_managers_only(as_role, make_course, media):
    draft = make_course(publish=False)
    draft_file = CourseFile.objects.create(
        course=draft, name="下書き資料", file=ContentFile(b"draft", name="draft.txt")
    )

    assert as_role("staff").get(f"/training/files/{draft_file.pk}/").status_code == 404
    response = as_role("ciso").get(f"/training/files/{draft_file.pk}/")
    assert response.status_code == 200
    assert body(response) == b"draft"


# --- completion per section ------------------------------------------------------------------

SOMUBU_SECTIONS = {"somu", "joho", "somuka"}
KYOIKUBU_SECTIONS = {"kyoiku", "gakko"}
EVERY_SECTION = SOMUBU_SECTIONS | KYOIKUBU_SECTIONS | {"mayor", "kansa"}
SOMUBU_PEOPLE = {"head_somu", "chief_joho", "staff_joho", "admin", "staff_somuka"}
KYOIKUBU_PEOPLE = {"head_kyoiku", "staff_kyoiku"}
EVERYONE = SOMUBU_PEOPLE | KYOIKUBU_PEOPLE | {"auditor", "ciso"}
COMPLETION_SCOPE = {
    # role: (sections shown, people exported)
    "chief": ({"joho"}, {"chief_joho", "staff_joho", "admin"}),
    "head": (SOMUBU_SECTIONS, SOMUBU_PEOPLE),
    "other_head": (KYOIKUBU_SECTIONS, KYOIKUBU_PEOPLE),
    "auditor": (EVERY_SECTION, EVERYONE),
    "ciso": (EVERY_SECTION, EVERYONE),
    "admin": (EVERY_SECTION, EVERYONE),
}


def completion_cells(response, org):
    """{section code: completed count} of the completion table."""
    codes = {str(unit.pk): code for code, unit in org.items()}
    table = page(response).find("table", testid="completion-table")
    assert table is not None
    cells = {}
    for td in table.find_all("td"):
        testid = td.attrs.get("data-testid", "")
        if testid.startswith("completed-"):
            cells[codes[testid.removeprefix("completed-")]] = int(td.text)
    return cells


def columns_of(header):
    """The completion file's columns by name (its headers are in the reader's language)."""
    with translation.override("ja"):
        names = {str(label): name for name, label in COMPLETION_COLUMNS.items()}
    return [names[h] for h in header]


def csv_rows(response):
    content = body(response).decode("utf-8")
    assert content.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(content.removeprefix("\ufeff"))))
    header = columns_of(rows[0])
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def xlsx_rows(response):
    sheet = load_workbook(io.BytesIO(body(response)), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = columns_of(rows[0])
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("role", PERSONAS)
def test_the_completion_page_shows_each_overseer_their_own_sections(
    role, client, people, org, course
):
    complete(course, people["staff"], client)
    complete(course, people["other_staff"], client)
    client.logout()
    if role != "anonymous":
        client.force_login(people[role])

    response = client.get("/training/status/")

    if role == "anonymous":
        assert is_login_redirect(response, "/training/status/")
    elif role in COMPLETION_SCOPE:
        assert response.status_code == 200
        cells = completion_cells(response, org)
        sections = COMPLETION_SCOPE[role][0]
        assert set(cells) == sections
        expected = {code: 1 if code in {"joho", "gakko"} else 0 for code in sections}
        assert cells == expected
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("output", ["csv", "xlsx"])
@pytest.mark.parametrize("role", PERSONAS)
def test_the_completion_exports_are_scoped_like_the_page(role, output, client, people, course):
    complete(course, people["staff"], client)
    client.logout()
    if role != "anonymous":
        client.force_login(people[role])
    path = "/training/status/"

    response = client.get(path, {"course": course.pk, "output": output})

    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        return
    if role not in COMPLETION_SCOPE:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response) if output == "csv" else xlsx_rows(response)
    assert {row["username"] for row in rows} == COMPLETION_SCOPE[role][1]
    done = {row["username"] for row in rows if row["completed_at"]}
    assert done == ({"staff_joho"} & COMPLETION_SCOPE[role][1])
    scores = {row["username"]: row["best_score"] for row in rows}
    if "staff_joho" in scores:
        assert str(scores["staff_joho"]) == "100"


def test_the_completion_page_chooses_among_the_published_courses(client, people, org, make_course):
    older = make_course(title="A 研修")
    newer = make_course(title="B 研修")
    draft = make_course(title="C 未公開", publish=False)
    complete(newer, people["staff"], client)
    client.force_login(people["ciso"])

    chosen = client.get("/training/status/", {"course": newer.pk})
    other = client.get("/training/status/", {"course": older.pk})

    assert completion_cells(chosen, org)["joho"] == 1
    assert completion_cells(other, org)["joho"] == 0
    options = {
        option.attrs["value"]
        for option in page(chosen).find("select", name="course").find_all("option")
    }
    assert options == {str(older.pk), str(newer.pk)}
    assert client.get("/training/status/", {"course": draft.pk}).status_code == 404


@pytest.mark.parametrize("value", ["abc", "1.5", "-1"])
def test_a_malformed_course_on_the_completion_page_is_not_found(value, as_role, course):
    response = as_role("ciso").get("/training/status/", {"course": value})

    assert response.status_code == 404


def test_the_completion_page_without_any_published_course_is_empty(as_role, make_course):
    make_course(publish=False)

    response = as_role("ciso").get("/training/status/", {"output": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert page(response).find(testid="completion-table") is not None


# --- the number of queries does not grow with the number of staff --------------------------

# Measured once and pinned: a completion page that starts querying per person or per section
# fails here long before it is slow in a city of 3,000 staff.
COMPLETION_PAGE_QUERIES = 8
COMPLETION_EXPORT_QUERIES = 7


@pytest.fixture(params=[10, 300], ids=["10-extra-staff", "300-extra-staff"])
def crowd(request, org, people, make_course):
    """`size` extra staff over three sections, enrolled in a published course; every other
    one has completed it."""
    size = request.param
    sections = [org["joho"], org["somuka"], org["gakko"]]
    User.objects.bulk_create(
        User(
            username=f"extra{i:04d}",
            display_name=f"追加職員{i}",
            section=sections[i % len(sections)],
            password=password_hash(),
        )
        for i in range(size)
    )
    course = make_course()
    extra = Enrolment.objects.filter(course=course, user__username__startswith="extra")
    assert extra.count() == size
    done_ids = list(extra.order_by("pk").values_list("pk", flat=True)[::2])
    Enrolment.objects.filter(pk__in=done_ids).update(completed_at=timezone.now(), best_score=100)
    done = {}
    for code in Enrolment.objects.filter(pk__in=done_ids).values_list(
        "user__section__code", flat=True
    ):
        done[code] = done.get(code, 0) + 1
    return {"size": size, "course": course, "done": done}


def test_the_completion_page_runs_a_fixed_number_of_queries_whatever_the_staff(
    crowd, client, people, org, django_assert_max_num_queries
):
    client.force_login(people["ciso"])

    with django_assert_max_num_queries(COMPLETION_PAGE_QUERIES):
        response = client.get("/training/status/", {"course": crowd["course"].pk})

    assert response.status_code == 200
    cells = completion_cells(response, org)
    assert {code: cells[code] for code in crowd["done"]} == crowd["done"]


def test_the_completion_export_runs_a_fixed_number_of_queries_whatever_the_staff(
    crowd, client, people, django_assert_max_num_queries
):
    client.force_login(people["ciso"])

    with django_assert_max_num_queries(COMPLETION_EXPORT_QUERIES):
        response = client.get("/training/status/", {"course": crowd["course"].pk, "output": "csv"})

    rows = csv_rows(response)
    assert len(rows) == crowd["size"] + len(people)
    assert sum(1 for row in rows if row["completed_at"]) == sum(crowd["done"].values())
