"""Who may see and do what with courses: every decision of the pages and the services,
named once. The role sets come from isms.roles."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from isms.models import DepartmentAncestor
from isms.roles import (
    AnyUser,
    departments_overseen,
    is_programme_office,
    oversees_any_department,
    reads_citywide,
)

from .models import Course, CourseAudience, Enrolment


def can_manage_courses(user: AnyUser) -> bool:
    """The CISO's office and the programme admin write, preview and publish courses."""
    return is_programme_office(user)


def can_follow_completion(user: AnyUser) -> bool:
    """Department heads, section chiefs and the city-wide oversight roles."""
    return oversees_any_department(user)


def can_take(user: AnyUser, enrolment: Enrolment) -> bool:
    return enrolment.user_id == user.pk


def can_open_course(user: AnyUser, enrolment: Enrolment | None) -> bool:
    """A course is open to those enrolled in it; managers may preview any course."""
    return enrolment is not None or can_manage_courses(user)


def can_read_certificate(user: AnyUser, enrolment: Enrolment) -> bool:
    """One's own; any for the city-wide oversight roles; those of the units one oversees."""
    return (
        enrolment.user_id == user.pk
        or reads_citywide(user)
        or (
            enrolment.user.section_id is not None
            and departments_overseen(user).filter(pk=enrolment.user.section_id).exists()
        )
    )


def enrolments_in_scope(course: Course, viewer: AnyUser) -> QuerySet[Enrolment]:
    """Enrolments of the course among the people of the units the viewer oversees."""
    return Enrolment.objects.filter(course=course, user__section__in=departments_overseen(viewer))


def courses_followed_by(viewer: AnyUser) -> QuerySet[Course]:
    """Published courses whose completion the viewer may follow: every course for the
    city-wide oversight roles; for a head or chief, the courses for all staff and those
    whose audience reaches the units they oversee (never the title of another department's
    course)."""
    published = Course.objects.filter(is_published=True)
    if reads_citywide(viewer):
        return published
    overseen = departments_overseen(viewer)
    audience_units = Course.departments.through.objects.filter(course_id=OuterRef("pk"))
    # A course for a unit reaches the unit and the units below it, so it reaches the
    # viewer's units when it is for one of them or for a unit above them.
    at_or_above = DepartmentAncestor.objects.filter(unit__in=overseen).values("ancestor_id")
    reaches = audience_units.filter(department__in=at_or_above)
    enrolled_here = Enrolment.objects.filter(course_id=OuterRef("pk"), user__section__in=overseen)
    return published.filter(
        Q(audience=CourseAudience.ALL_STAFF)
        | Q(Q(audience=CourseAudience.DEPARTMENTS) & Q(Exists(reaches)))
        | Q(Q(audience=CourseAudience.ROLES) & Q(Exists(enrolled_here)))
    )
