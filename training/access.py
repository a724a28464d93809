"""Who may see and do what with courses: every decision of the pages and the services,
named once. The role sets come from isms.roles."""

from django.db.models import Exists, OuterRef, Q

from isms.models import Department, Role
from isms.roles import (
    CITYWIDE_OVERSIGHT_ROLES,
    can_publish_revision,
    departments_overseen,
    oversees_any_department,
)

from .models import Course, CourseAudience, Enrolment


def can_manage_courses(user):
    """The CISO's office and the programme admin write, preview and publish courses."""
    return can_publish_revision(user) or (user.is_authenticated and user.has_global_role(Role.CISO))


def can_follow_completion(user):
    """Department heads, section chiefs and the city-wide oversight roles."""
    return oversees_any_department(user)


def can_take(user, enrolment):
    return enrolment.user_id == user.pk


def can_open_course(user, enrolment):
    """A course is open to those enrolled in it; managers may preview any course."""
    return enrolment is not None or can_manage_courses(user)


def can_read_certificate(user, enrolment):
    """One's own; any for the city-wide oversight roles; those of the units one oversees."""
    return (
        enrolment.user_id == user.pk
        or user.has_global_role(*CITYWIDE_OVERSIGHT_ROLES)
        or departments_overseen(user).filter(pk=enrolment.user.section_id).exists()
    )


def enrolments_in_scope(course, viewer):
    """Enrolments of the course among the people of the units the viewer oversees."""
    return Enrolment.objects.filter(course=course, user__section__in=departments_overseen(viewer))


def courses_followed_by(viewer):
    """Published courses whose completion the viewer may follow: every course for the
    city-wide oversight roles; for a head or chief, the courses for all staff and those
    whose audience reaches the units they oversee (never the title of another department's
    course)."""
    published = Course.objects.filter(is_published=True)
    if viewer.has_global_role(*CITYWIDE_OVERSIGHT_ROLES):
        return published
    overseen = departments_overseen(viewer)
    audience_units = Course.departments.through.objects.filter(course_id=OuterRef("pk"))
    # A course for a unit reaches the units below it and the unit itself; the viewer's
    # units lie below, at or above it.
    reaches = audience_units.filter(
        Q(department__in=overseen)
        | Q(department__in=overseen.values("parent_id"))
        | Q(
            department__in=Department.objects.filter(pk__in=overseen.values("parent_id")).values(
                "parent_id"
            )
        )
    )
    enrolled_here = Enrolment.objects.filter(course_id=OuterRef("pk"), user__section__in=overseen)
    return published.filter(
        Q(audience=CourseAudience.ALL_STAFF)
        | Q(Q(audience=CourseAudience.DEPARTMENTS) & Q(Exists(reaches)))
        | Q(Q(audience=CourseAudience.ROLES) & Q(Exists(enrolled_here)))
    )
