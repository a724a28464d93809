import datetime
import functools

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from isms.models import Department, PolicyDocument, PolicyRevision, RevisionStatus, User


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"unit-{n}")
    name = factory.Sequence(lambda n: f"部署{n}")
    kind = "section"


PASSWORD = "correct-horse-battery-9"


@functools.cache
def password_hash():
    # Argon2 is slow by design: hash the shared test password once, not once per person.
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda u: f"{u.username} さん")
    password = factory.LazyFunction(password_hash)


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PolicyDocument

    code = factory.Sequence(lambda n: f"doc-{n}")
    title = factory.Sequence(lambda n: f"文書{n}")
    kind = "standard"
    audience = "all_staff"


class PublishedRevisionFactory(factory.django.DjangoModelFactory):
    """A revision published directly, for tests that need history rather than workflow."""

    class Meta:
        model = PolicyRevision

    document = factory.SubFactory(DocumentFactory)
    title = factory.LazyAttribute(lambda r: r.document.title)
    body = "## 1. 目的\n\n本文"
    effective_date = datetime.date(2025, 4, 1)
    status = RevisionStatus.PUBLISHED
    is_material = True
    published_at = factory.LazyFunction(timezone.now)
    content_sha256 = factory.LazyAttribute(lambda r: "0" * 64)


# --- crowds, for the tests that a page's queries do not grow with the staff -------------


def add_staff(org, count):
    """`count` extra members of staff spread over four sections, every other one without a
    usable password (add_acknowledgements() has a third of them acknowledge)."""
    sections = [org["joho"], org["somuka"], org["gakko"], org["kansa"]]
    return User.objects.bulk_create(
        User(
            username=f"extra{n:04d}",
            section=sections[n % len(sections)],
            password=password_hash() if n % 2 else make_password(None),
        )
        for n in range(count)
    )


def add_acknowledgements(users, revision):
    """Every third of `users` acknowledged `revision`, at its publication."""
    from acknowledgements.models import Acknowledgement

    Acknowledgement.objects.bulk_create(
        Acknowledgement(
            user=user,
            revision=revision,
            content_sha256=revision.content_sha256,
            acknowledged_at=revision.published_at,
        )
        for user in users[::3]
    )
