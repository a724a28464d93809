"""The jobs end to end: a real Celery worker consumes from the real Redis, works on the test
database and writes its mail to files (EMAIL_URL=filemail:///<dir>), as in production.

A material revision is published: the opening notification queued on commit reaches the
worker; the daily sweep sent days later reminds exactly those who have not acknowledged,
once; the quarter-hourly job makes a revision whose effective date is today current."""

import datetime
import email
import email.policy

import pytest
from django.conf import settings
from django.utils import timezone

from acknowledgements.services import acknowledge
from acknowledgements.tasks import remind_acknowledgements
from isms.models import Notification, RevisionStatus
from isms.tasks import activate_due_revisions

from .conftest import publish
from .factories import DocumentFactory, PublishedRevisionFactory

pytestmark = [
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs the real Redis (bin/test sets it)"),
    pytest.mark.django_db(transaction=True),
]


def read_mail(directory):
    """Every message the file backend wrote (one file per batch)."""
    messages = []
    for path in sorted(directory.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
    return messages


def recipients(messages):
    return sorted(str(message["To"]) for message in messages)


def message_ids(messages):
    return [str(message["Message-ID"]) for message in messages]


def test_a_real_worker_reminds_each_pending_person_once_and_makes_revisions_current(
    worker, org, people
):
    for person in people.values():
        person.email = f"{person.username}@city.example.jp"
        person.save(update_fields=["email"])
    # The quarter-hourly job's case: a revision that took effect today, its predecessor
    # still marked published.
    scheduled = DocumentFactory(code="scheduled")
    old = PublishedRevisionFactory(
        document=scheduled,
        number=1,
        author=people["admin"],
        effective_date=datetime.date(2025, 4, 1),
    )
    new = PublishedRevisionFactory(
        document=scheduled,
        number=2,
        author=people["admin"],
        effective_date=timezone.localdate(),
    )
    # A material revision of a procedure for 総務部 opens a campaign for its five members.
    procedure = DocumentFactory(
        code="procedure", title="運用手順", kind="procedure", audience="departments"
    )
    procedure.audience_departments.add(org["somu"])
    revision = publish(
        procedure, author=people["admin"], approver=people["ciso"], body="## 手順\n\n本文"
    )
    campaign = revision.campaign
    audience = sorted(
        people[name].email for name in ("staff", "staff_somuka", "chief", "head", "admin")
    )
    link = f"/acknowledgements/revisions/{revision.pk}/"

    # The opening notification, queued when the publication committed, ran on the worker.
    assert worker.result_of("acknowledgements.tasks.notify_campaign_opened") == "5"
    opening = read_mail(worker.mail_dir)
    assert recipients(opening) == audience
    assert all(revision.title in str(m["Subject"]) and link in m.get_content() for m in opening)

    # staff_joho acknowledges; three days before the deadline the daily sweep runs.
    acknowledge(people["staff"], revision)
    day = campaign.deadline - datetime.timedelta(days=3)
    sweep = remind_acknowledgements.apply_async(args=[day], queue=worker.queue)
    job = activate_due_revisions.apply_async(queue=worker.queue)
    assert worker.result_of("acknowledgements.tasks.remind_acknowledgements", sweep.id) == "4"
    assert worker.result_of("isms.tasks.activate_due_revisions", job.id) == "1"

    written = read_mail(worker.mail_dir)
    reminders = [m for m in written if str(m["Message-ID"]) not in message_ids(opening)]
    assert len(written) == len(opening) + len(reminders)
    # Everyone of 総務部 who has not acknowledged, and nobody else: not staff_joho, not
    # the other departments, the CISO or the auditor.
    assert recipients(reminders) == [a for a in audience if a != people["staff"].email]
    opening_subject = str(opening[0]["Subject"])
    for message in reminders:
        assert revision.title in str(message["Subject"])
        assert str(message["Subject"]) != opening_subject  # the due-soon reminder
        assert link in message.get_content()
    assert Notification.objects.filter(kind="acknowledgement.due_soon").count() == 4

    old.refresh_from_db()
    new.refresh_from_db()
    assert old.status == RevisionStatus.SUPERSEDED
    assert new.status == RevisionStatus.PUBLISHED
    assert scheduled.current_revision() == new

    # The same sweep again (a retry, a second beat): nothing more goes out.
    again = remind_acknowledgements.apply_async(args=[day], queue=worker.queue)
    assert worker.result_of("acknowledgements.tasks.remind_acknowledgements", again.id) == "0"
    assert sorted(message_ids(read_mail(worker.mail_dir))) == sorted(message_ids(written))
    assert Notification.objects.filter(kind="acknowledgement.due_soon").count() == 4
