"""The job that makes a revision current on its effective date, as a function and once
through a real Celery worker consuming from the real Redis."""

import datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from isms.models import RevisionStatus
from isms.tasks import activate_due_revisions

from .factories import DocumentFactory, PublishedRevisionFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def overdue_switch(people):
    """A document whose newer revision took effect today while the older one is still
    marked published: the state the job finds just after midnight."""
    document = DocumentFactory(code="scheduled")
    old = PublishedRevisionFactory(
        document=document,
        number=1,
        author=people["admin"],
        effective_date=datetime.date(2025, 4, 1),
    )
    new = PublishedRevisionFactory(
        document=document,
        number=2,
        author=people["admin"],
        effective_date=timezone.localdate(),
    )
    return old, new


def test_the_job_supersedes_the_old_revision_once_the_new_one_is_in_force(overdue_switch):
    old, new = overdue_switch
    assert activate_due_revisions() == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.status == RevisionStatus.SUPERSEDED
    assert new.status == RevisionStatus.PUBLISHED
    assert activate_due_revisions() == 0


def test_the_job_leaves_a_revision_dated_tomorrow_alone(people):
    document = DocumentFactory(code="tomorrow")
    old = PublishedRevisionFactory(document=document, number=1, author=people["admin"])
    PublishedRevisionFactory(
        document=document,
        number=2,
        author=people["admin"],
        effective_date=timezone.localdate() + datetime.timedelta(days=1),
    )
    assert activate_due_revisions() == 0
    old.refresh_from_db()
    assert old.status == RevisionStatus.PUBLISHED
    assert document.current_revision() == old


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs the real Redis (bin/test sets it)")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_job_from_redis(overdue_switch, worker):
    old, _ = overdue_switch
    result = activate_due_revisions.apply_async(queue=worker.queue)
    assert worker.result_of("isms.tasks.activate_due_revisions", result.id) == "1"
    old.refresh_from_db()
    assert old.status == RevisionStatus.SUPERSEDED
