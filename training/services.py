"""Courses: who must take them, taking them, and who has."""

import datetime
import io
from typing import TYPE_CHECKING, Any

# Celery ships no annotations (and celery-types is not in the lock): current_app is Any.
from celery import current_app  # type: ignore[import-untyped]
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from isms import audit
from isms.audit import AuditAction
from isms.eras import date_label, fiscal_year, fiscal_year_label
from isms.models import RoleAssignment, User, subtree_ids
from isms.notify import enqueue, mark_task_done
from isms.roles import AnyUser

from . import access
from .models import Attempt, Course, CourseAudience, Enrolment

if TYPE_CHECKING:
    from rest_framework.request import Request

    from .forms import CourseAuthoring

# Queued by name: the jobs (tasks.py) call these services, so importing them here would
# close a circle.
NOTIFY_COURSE_PUBLISHED = "training.tasks.notify_course_published"


def course_task(course_id: int) -> str:
    """The task key of taking a course: its reminders read as done once it is passed."""
    return f"course:{course_id}"


def audience_users(course: Course) -> QuerySet[User]:
    """Active staff the course is for, as a queryset (SQL, no list of ids)."""
    people = User.objects.filter(is_active=True, section__isnull=False)
    if course.audience == CourseAudience.ROLES:
        holders = RoleAssignment.objects.filter(user_id=OuterRef("pk"), role__in=course.roles)
        people = people.filter(Exists(holders))
    elif course.audience == CourseAudience.DEPARTMENTS:
        people = people.filter(section__in=subtree_ids(course.departments.all()))
    return people


def _due_on(
    course: Course, user: User, today: datetime.date, moved_on: datetime.date | None = None
) -> datetime.date:
    """A new member of staff has their own period, and so has someone the course reaches by
    a move (a new unit, a new role); everyone else the course deadline."""
    if course.for_new_staff and user.joined_on:
        return user.joined_on + datetime.timedelta(days=settings.NEW_STAFF_COURSE_DAYS)
    if moved_on is not None:
        return max(
            course.deadline, moved_on + datetime.timedelta(days=settings.NEW_STAFF_COURSE_DAYS)
        )
    published_on = timezone.localtime(course.published_at).date() if course.published_at else None
    if user.joined_on and published_on and user.joined_on > published_on:
        return max(
            course.deadline,
            user.joined_on + datetime.timedelta(days=settings.NEW_STAFF_COURSE_DAYS),
        )
    return course.deadline


def people_to_enrol(course: Course, today: datetime.date) -> QuerySet[User]:
    """Who enrolling the course today would add: its audience not yet enrolled, and for a
    course for new staff only those who joined within NEW_STAFF_COURSE_DAYS. What
    sync_enrolments enrols, and what the publication's confirmation counts."""
    people = audience_users(course).exclude(
        Exists(Enrolment.objects.filter(course=course, user_id=OuterRef("pk")))
    )
    if course.for_new_staff:
        people = people.filter(
            joined_on__gte=today - datetime.timedelta(days=settings.NEW_STAFF_COURSE_DAYS)
        )
    return people


def sync_enrolments(
    course: Course | None = None,
    today: datetime.date | None = None,
    *,
    people_ids: list[int] | None = None,
    moved_on: datetime.date | None = None,
) -> int:
    """Enrol everyone in the audience of the published courses of this fiscal year who is
    not enrolled yet: the whole audience at publication, and each newcomer later. Courses
    for new staff go to people who joined within the last NEW_STAFF_COURSE_DAYS days.
    Returns the number of new enrolments. Batched; running it again adds nothing.

    `people_ids` limits it to those people (who moved or joined on `moved_on`, their
    courses due counted from that day)."""
    today = today or timezone.localdate()
    courses = (
        [course]
        if course
        else Course.objects.filter(is_published=True, fiscal_year=fiscal_year(today))
    )
    created = 0
    for course in courses:
        people = people_to_enrol(course, today)
        if people_ids is not None:
            people = people.filter(pk__in=people_ids)
        batch = []
        for user in people.only("pk", "joined_on").iterator(chunk_size=2000):
            due_on = _due_on(course, user, today, moved_on)
            batch.append(Enrolment(course=course, user=user, due_on=due_on))
            if len(batch) >= 2000:
                created += len(Enrolment.objects.bulk_create(batch, ignore_conflicts=True))
                batch = []
        if batch:
            created += len(Enrolment.objects.bulk_create(batch, ignore_conflicts=True))
    return created


def enrol_people_who_moved(
    sender: object, moves: list[tuple[int, int | None, int]], on: datetime.date, **kwargs: Any
) -> int:
    """Receiver of isms.signals.people_moved: the courses of this fiscal year that the new
    unit (or, for newcomers, joining) calls for, due counted from the day of the move."""
    ids = sorted({user_id for user_id, _old, _new in moves})
    created = 0
    for start in range(0, len(ids), 5000):
        created += sync_enrolments(today=on, people_ids=ids[start : start + 5000], moved_on=on)
    return created


@transaction.atomic
def publish_course(
    course: Course, *, by: AnyUser, request: "HttpRequest | Request | None" = None
) -> Course:
    if not access.can_manage_courses(by):
        raise PermissionDenied(_("Only the CISO's office publishes courses."))
    course = Course.objects.select_for_update().get(pk=course.pk)
    if course.is_published:
        raise ValidationError(_("The course is already published."))
    course.is_published = True
    course.published_at = timezone.now()
    course.save(update_fields=["is_published", "published_at"])
    count = sync_enrolments(course)
    audit.record(
        AuditAction.COURSE_PUBLISHED,
        actor=by,
        target=course,
        request=request,
        data={"enrolled": count},
    )
    enqueue(current_app.tasks[NOTIFY_COURSE_PUBLISHED], course.pk)
    return course


def marks(course: Course, answers: dict[int, int]) -> dict[int, bool]:
    """{question id: whether the choice given is a right one} for every question of the
    course; a question left unanswered is wrong."""
    return {
        question.pk: any(
            choice.pk == answers.get(question.pk) and choice.is_correct
            for choice in question.choices.all()
        )
        for question in course.questions.prefetch_related("choices")
    }


def grade(course: Course, answers: dict[int, int]) -> int:
    """Score in percent for {question_id: choice_id}; 100 for a course without a quiz."""
    right = marks(course, answers)
    if not right:
        return 100
    return round(100 * sum(right.values()) / len(right))


@transaction.atomic
def save_course_draft(authoring: "CourseAuthoring", *, by: AnyUser) -> Course:
    """Write a course that is not yet published, with its files, questions and choices,
    from a valid authoring form (training.forms.CourseAuthoring). A published course no
    longer changes: people's attempts refer to its questions and choices, and everyone
    enrolled was told what it asks."""
    if not access.can_manage_courses(by):
        raise PermissionDenied(_("Only the CISO's office writes courses."))
    course = authoring.course_form.instance
    if course.pk is not None:
        locked = Course.objects.select_for_update().get(pk=course.pk)
        if locked.is_published:
            raise ValidationError(_("A published course can no longer be changed."))
    else:
        course.created_by = by
    return authoring.save()


@transaction.atomic
def submit_attempt(
    enrolment: Enrolment,
    answers: dict[int, int],
    *,
    by: AnyUser,
    started_at: datetime.datetime | None = None,
    request: "HttpRequest | Request | None" = None,
) -> Attempt:
    if not access.can_take(by, enrolment):
        raise PermissionDenied(_("You can only take your own courses."))
    enrolment = Enrolment.objects.select_for_update().select_related("course").get(pk=enrolment.pk)
    course = enrolment.course
    question_ids = set(course.questions.values_list("pk", flat=True))
    unanswered = question_ids - set(answers)
    if unanswered:
        raise ValidationError(
            _("Answer every question (%(count)s left).") % {"count": len(unanswered)}
        )
    score = grade(course, answers)
    passed = score >= course.pass_mark
    attempt = Attempt.objects.create(
        enrolment=enrolment,
        started_at=started_at or timezone.now(),
        score=score,
        passed=passed,
        answers={str(k): v for k, v in answers.items()},
    )
    enrolment.best_score = max(enrolment.best_score or 0, score)
    fields = ["best_score"]
    if passed and enrolment.completed_at is None:
        enrolment.completed_at = attempt.finished_at
        fields.append("completed_at")
        audit.record(
            AuditAction.COURSE_COMPLETED,
            actor=by,
            target=course,
            request=request,
            data={"score": score, "enrolment": enrolment.pk},
        )
        mark_task_done([enrolment.user_id], course_task(course.pk))
    enrolment.save(update_fields=fields)
    return attempt


def completion_by_section(course: Course, viewer: AnyUser) -> list[dict[str, Any]]:
    """Per section: enrolled, completed. One aggregate query, within what the viewer
    oversees."""
    return list(
        access.enrolments_in_scope(course, viewer)
        .values("user__section_id", "user__section__name", "user__section__parent__name")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(completed_at__isnull=False)))
        .order_by("user__section__parent__name", "user__section__name")
    )


def certificate_pdf(enrolment: Enrolment) -> bytes:
    """A one-page completion certificate. Japanese text uses a CID font that every PDF
    reader has, so nothing is embedded or fetched."""
    # reportlab ships no annotations either: what it gives is read as Any.
    from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
    from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

    font = "HeiseiKakuGo-W5"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=landscape(A4))
    width, height = landscape(A4)
    user, course = enrolment.user, enrolment.course
    completed = timezone.localtime(enrolment.completed_at).date()
    section = user.section.path_name if user.section is not None else ""
    # Every line in the reader's language; dates and the fiscal year in the Japanese era
    # in Japanese.
    context = {
        "course": course.title,
        "user": user.get_username(),
        "name": str(user),
        "year": fiscal_year_label(course.fiscal_year),
        "score": enrolment.best_score,
        "mark": course.pass_mark,
        "date": date_label(completed),
        "number": enrolment.pk,
    }
    pdf.setTitle(pgettext("certificate", "Certificate of completion %(course)s %(user)s") % context)
    pdf.setFont(font, 36)
    pdf.drawCentredString(width / 2, height - 120, pgettext("certificate", "Certificate"))
    pdf.setFont(font, 20)
    pdf.drawCentredString(width / 2, height - 200, f"{section}")
    pdf.drawCentredString(width / 2, height - 235, pgettext("certificate", "%(name)s") % context)
    pdf.setFont(font, 16)
    pdf.drawCentredString(
        width / 2,
        height - 300,
        pgettext("certificate", "has completed “%(course)s” (%(year)s).") % context,
    )
    pdf.drawCentredString(
        width / 2,
        height - 330,
        pgettext("certificate", "Score %(score)s%% (pass mark %(mark)s%%)") % context,
    )
    pdf.drawCentredString(
        width / 2, height - 380, pgettext("certificate", "Completed on %(date)s") % context
    )
    pdf.setFont(font, 10)
    pdf.drawCentredString(
        width / 2,
        60,
        pgettext(
            "certificate", "Certificate of completion · %(user)s · enrolment %(number)s · %(date)s"
        )
        % context,
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
