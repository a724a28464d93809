"""Taking courses, certificates, and completion for heads and the CISO's office."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from isms.decorators import allowed_if
from isms.exports import FORMATS, export_response
from isms.forms import id_or_404

from . import access, services
from .forms import QuizForm
from .models import Course, CourseFile, Enrolment


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
    form = QuizForm(request.POST if request.method == "POST" else None, questions=questions)
    if request.method == "POST":
        if enrolment is None:
            raise Http404
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
    return render(
        request,
        "training/course_detail.html",
        {
            "course": course,
            "enrolment": enrolment,
            "questions": form.rows(),
            "result": result,
            "attempts": enrolment.attempts.all() if enrolment else [],
            "can_manage": access.can_manage_courses(request.user),
        },
    )


@require_POST
@login_required
def course_publish(request, pk):
    # Who may publish is decided by publish_course (403).
    course = get_object_or_404(Course, pk=pk)
    try:
        services.publish_course(course, by=request.user, request=request)
        messages.success(request, _("Course published and assigned."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("course-detail", pk=pk)


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


def _completion_export(course, viewer, output):
    header = ["department", "section", "username", "name", "due_on", "completed_at", "best_score"]
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
                e.due_on.isoformat(),
                e.completed_at.isoformat() if e.completed_at else "",
                "" if e.best_score is None else e.best_score,
            ]

    return export_response(f"training-{course.pk}", header, rows(), output, sheet="completion")
