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
