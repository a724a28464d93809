"""The job that makes a revision current on its effective date, as a function and once
through a real Celery worker consuming from the real Redis."""

import datetime
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
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
def test_a_real_worker_runs_the_job_from_redis(overdue_switch):
    old, _ = overdue_switch
    queue = f"isms-test-{uuid.uuid4().hex[:8]}"
    database = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        )
        if connection.vendor == "postgresql"
        else os.environ.get("DATABASE_URL", ""),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "isms",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        activate_due_revisions.apply_async(queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            old.refresh_from_db()
            if old.status == RevisionStatus.SUPERSEDED:
                break
            time.sleep(0.5)
        assert old.status == RevisionStatus.SUPERSEDED
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
    assert "activate_due_revisions" in output and "succeeded" in output, output
