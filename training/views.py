"""Taking courses, certificates, and completion for heads and the CISO's office."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from django.views.decorators.http import require_http_methods

from isms.decorators import allowed_if
from isms.eras import date_label
from isms.exports import FORMATS, cell_date, cell_datetime, export_response
from isms.forms import id_or_404
from isms.models import Role

from . import access, services
from .forms import CourseAuthoring, QuizForm
from .models import Course, CourseAudience, CourseFile, Enrolment


@login_required
def my_courses(request):
    enrolments = (
        Enrolment.objects.filter(user=request.user)
        .select_related("course")
        .order_by("completed_at", "due_on")
    )
    can_manage = access.can_manage_courses(request.user)
    return render(
        request,
        "training/my_courses.html",
        {
            "enrolments": enrolments,
            "today": timezone.localdate(),
            "can_manage": can_manage,
            "unpublished": Course.objects.filter(is_published=False) if can_manage else [],
        },
    )


def _course_for(request, pk):
    """The course and the person's enrolment; managers may preview any course."""
    course = get_object_or_404(Course, pk=pk)
    enrolment = Enrolment.objects.filter(course=course, user=request.user).first()
    if not access.can_open_course(request.user, enrolment):
        raise Http404
    return course, enrolment


@login_required
def course_detail(request, pk):
    course, enrolment = _course_for(request, pk)
    questions = course.questions.prefetch_related("choices")
    result = None
    passed = enrolment is not None and enrolment.completed_at is not None
    # Once passed, the quiz is closed: a POST (a second tab, a resent form) records nothing.
    posted = request.method == "POST" and not passed
    form = QuizForm(request.POST if posted else None, questions=questions)
    if request.method == "POST" and enrolment is None:
        raise Http404
    if request.method == "POST" and passed:
        messages.info(request, _("You have already passed this course. Nothing was recorded."))
    if posted:
        if not form.is_valid():
            messages.error(request, _("Choose one of the answers given for each question."))
        else:
            try:
                result = services.submit_attempt(
                    enrolment, form.answers(), by=request.user, request=request
                )
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                enrolment.refresh_from_db()
                if result.passed:
                    messages.success(
                        request, _("Passed with %(score)s%%. Well done.") % {"score": result.score}
                    )
                else:
                    messages.error(
                        request,
                        _(
                            "%(score)s%%: below the pass mark of %(mark)s%%. "
                            "Read the material again and retry."
                        )
                        % {"score": result.score, "mark": course.pass_mark},
                    )
    attempts = list(enrolment.attempts.all()) if enrolment else []
    # After a fail, which answers were wrong: of the attempt just made, or on coming back,
    # of the last one (its answers shown again, so only the wrong ones need changing).
    marks, given = None, None
    came_back_with_an_error = form.is_bound and result is None
    if not passed and attempts and not attempts[0].passed and not came_back_with_an_error:
        given = {int(question): choice for question, choice in attempts[0].answers.items()}
        marks = services.marks(course, given)
    return render(
        request,
        "training/course_detail.html",
        {
            "course": course,
            "enrolment": enrolment,
            "questions": form.rows(marks, given),
            "marks": marks,
            "wrong": sum(1 for right in (marks or {}).values() if not right),
            "result": result,
            "attempts": attempts,
            "can_manage": access.can_manage_courses(request.user),
        },
    )


@allowed_if(access.can_manage_courses)
def course_author(request, pk=None):
    """The one page on which the CISO's office writes a course before publishing it:
    content, files, questions and choices ("Add a question" posts the page back with one
    more). Nothing typed is lost when it comes back with errors."""
    course = get_object_or_404(Course, pk=pk) if pk is not None else Course()
    if course.is_published:
        messages.error(request, _("A published course can no longer be changed."))
        return redirect("course-detail", pk=course.pk)
    focus = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add_question":
            authoring = CourseAuthoring.with_another_question(
                request.POST, request.FILES, instance=course
            )
            added = authoring.question_formset.forms
            if added:
                focus = added[-1]
                focus.fields["text"].widget.attrs["autofocus"] = True
        else:
            authoring = CourseAuthoring(request.POST, request.FILES, instance=course)
            if authoring.is_valid():
                try:
                    course = services.save_course_draft(authoring, by=request.user)
                except ValidationError as error:
                    messages.error(request, " ".join(error.messages))
                    return redirect("course-detail", pk=course.pk)
                messages.success(request, _("The course is saved as a draft."))
                if action == "preview":
                    return redirect("course-preview", pk=course.pk)
                return redirect("course-edit", pk=course.pk)
    else:
        authoring = CourseAuthoring(instance=course)
    return render(
        request,
        "training/course_form.html",
        {
            "course": course if course.pk else None,
            "authoring": authoring,
            "form": authoring.course_form,
            "errors": authoring.errors() if authoring.course_form.is_bound else [],
            "focus": focus,
        },
    )


@allowed_if(access.can_manage_courses)
def course_preview(request, pk):
    """The course as the people enrolled will see it, quiz included; answers given here are
    graded on the page and recorded nowhere."""
    course = get_object_or_404(Course, pk=pk)
    questions = course.questions.prefetch_related("choices")
    form = QuizForm(request.POST if request.method == "POST" else None, questions=questions)
    marks = score = None
    if request.method == "POST" and form.is_valid():
        marks = services.marks(course, form.answers())
        score = round(100 * sum(marks.values()) / len(marks)) if marks else 100
    return render(
        request,
        "training/course_preview.html",
        {
            "course": course,
            "questions": form.rows(marks),
            "marks": marks,
            "score": score,
            "would_pass": score is not None and score >= course.pass_mark,
        },
    )


@require_http_methods(["GET", "POST"])
@allowed_if(access.can_manage_courses)
def course_publish(request, pk):
    """Publication, after a confirmation that says who will be enrolled and told."""
    course = get_object_or_404(Course, pk=pk)
    if course.is_published:
        messages.error(request, _("The course is already published."))
        return redirect("course-detail", pk=pk)
    if request.method == "POST" and request.POST.get("confirmed") == "yes":
        try:
            services.publish_course(course, by=request.user, request=request)
            messages.success(request, _("Course published and assigned."))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("course-detail", pk=pk)
    return render(
        request,
        "confirm_action.html",
        {
            "title": _("Publish “%(title)s”") % {"title": course.title},
            "intro": _("Check the course in its preview before you publish it."),
            "consequences": _publication_consequences(course),
            "action": reverse("course-publish", args=[course.pk]),
            "hidden": {},
            "confirm_label": _("Publish and assign"),
            "cancel_url": reverse("course-preview", args=[course.pk]),
        },
    )


def _publication_consequences(course):
    today = timezone.localdate()
    count = services.people_to_enrol(course, today).count()
    if course.audience == CourseAudience.ROLES:
        labels = dict(Role.choices)
        audience = _("people with the roles %(roles)s") % {
            "roles": "、".join(str(labels.get(role, role)) for role in course.roles)
        }
    elif course.audience == CourseAudience.DEPARTMENTS:
        audience = _("everyone in %(units)s and the units below them") % {
            "units": "、".join(unit.name for unit in course.departments.all())
        }
    else:
        audience = _("all staff")
    lines = [
        _("%(count)s people are enrolled now (%(audience)s) and each is notified.")
        % {"count": count, "audience": audience}
    ]
    if course.for_new_staff:
        lines.append(
            _(
                "It is for new staff: those who joined in the last %(days)s days are enrolled "
                "now, and each newcomer later, due %(days)s days after joining."
            )
            % {"days": settings.NEW_STAFF_COURSE_DAYS}
        )
    else:
        lines.append(
            _("Due %(date)s; people who join later are enrolled too and get their own period.")
            % {"date": date_label(course.deadline)}
        )
    lines.append(_("Reminders follow until each person completes it; their heads see who has not."))
    if course.has_quiz:
        lines.append(
            _(
                "Its content, files, questions and choices can no longer be changed once it "
                "is published: attempts refer to them."
            )
        )
    else:
        lines.append(
            _(
                "It has no quiz: people complete it by confirming they have read it. It can "
                "no longer be changed once it is published."
            )
        )
    lines.append(_("Publication cannot be undone."))
    return lines


@login_required
def course_file(request, pk):
    course_file = get_object_or_404(CourseFile.objects.select_related("course"), pk=pk)
    _course_for(request, course_file.course_id)
    return FileResponse(
        course_file.file.open("rb"),
        as_attachment=True,
        filename=course_file.file.name.rsplit("/", 1)[-1],
    )


@login_required
def certificate(request, pk):
    enrolment = get_object_or_404(
        Enrolment.objects.select_related("course", "user__section__parent"),
        pk=pk,
        completed_at__isnull=False,
    )
    if not access.can_read_certificate(request.user, enrolment):
        raise Http404
    response = HttpResponse(services.certificate_pdf(enrolment), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="certificate-{enrolment.course_id}-{enrolment.user.username}.pdf"'
    )
    return response


@allowed_if(access.can_follow_completion)
def completion(request):
    """Course completion per section within what the viewer oversees."""
    # Only courses the viewer may follow: another one answers like an unknown id (404).
    course_list = access.courses_followed_by(request.user).order_by("-fiscal_year", "title")
    course = None
    course_id = id_or_404(request.GET.get("course"), required=False)
    if course_id is not None:
        course = get_object_or_404(course_list, pk=course_id)
    elif course_list:
        course = course_list[0]
    rows = services.completion_by_section(course, request.user) if course else []
    output = request.GET.get("output")
    if course and output in FORMATS:
        return _completion_export(course, request.user, output)
    return render(
        request,
        "training/completion.html",
        {"courses": course_list, "course": course, "rows": rows},
    )


# The completion file's columns, headed in the reader's language.
COMPLETION_COLUMNS = {
    "department": pgettext_lazy("completion export", "Department"),
    "section": pgettext_lazy("completion export", "Section"),
    "username": pgettext_lazy("completion export", "User name"),
    "name": pgettext_lazy("completion export", "Name"),
    "due_on": pgettext_lazy("completion export", "Due"),
    "completed_at": pgettext_lazy("completion export", "Completed at"),
    "best_score": pgettext_lazy("completion export", "Best score (%)"),
}


def _completion_export(course, viewer, output):
    """Dates in the Japanese era in Japanese (see isms.exports)."""
    header = list(COMPLETION_COLUMNS.values())
    people = (
        access.enrolments_in_scope(course, viewer)
        .select_related("user__section__parent")
        .order_by("user__section__code", "user__username")
    )

    def rows():
        for e in people.iterator(chunk_size=2000):
            section = e.user.section
            yield [
                section.parent.name if section.parent_id else "",
                section.name,
                e.user.username,
                str(e.user),
                cell_date(e.due_on),
                cell_datetime(e.completed_at),
                "" if e.best_score is None else e.best_score,
            ]

    sheet = pgettext("sheet", "Training completion")
    return export_response(f"training-{course.pk}", header, rows(), output, sheet=sheet)
