"""Sending notifications and reminders: in the portal (a badge and a list) and by e-mail,
in the recipient's language, each exactly once per recipient, subject and stage.

Jobs build Message objects and hand them to send_once(); the SentReminder ledger decides
what still has to go out, so a job can run twice, or on two workers at once, and nothing is
sent twice. Everything is done in batches: a fixed number of queries and one mail
connection per batch, whatever the number of recipients."""

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone, translation

from .models import Notification, SentReminder

log = logging.getLogger(__name__)

# A claim this old without sent_at belongs to a run that died: the next run takes it over.
STALE_CLAIM = timedelta(hours=1)
BATCH_SIZE = 500


@dataclass
class Message:
    recipient: object  # a User with language and email loaded
    subject: str  # what the message is about, e.g. "campaign:12"
    stage: str  # which reminder of that subject, e.g. "overdue"
    kind: str  # for the notification list, e.g. "acknowledgement.overdue"
    render: Callable  # render(recipient) -> (title, body, path); called in their language

    @property
    def key(self):
        return (self.recipient.pk, self.subject, self.stage)


def release_stale_claims(now=None):
    now = now or timezone.now()
    return SentReminder.objects.filter(
        sent_at__isnull=True, claimed_at__lt=now - STALE_CLAIM
    ).delete()[0]


def send_once(messages: Iterable[Message], batch_size=BATCH_SIZE):
    """Deliver each message unless the ledger says it went out already. Returns the number
    delivered by this call."""
    release_stale_claims()
    sent = 0
    iterator = iter(messages)
    while batch := list(islice(iterator, batch_size)):
        sent += _send_batch(batch)
    return sent


def _send_batch(batch):
    by_key = {m.key: m for m in batch}
    run = uuid.uuid4()
    # Claims go in in key order: two workers inserting the same keys in different orders
    # (the jobs' queries have no fixed order) would deadlock on the unique index.
    SentReminder.objects.bulk_create(
        [
            SentReminder(recipient_id=r, subject=s, stage=st, run=run)
            for (r, s, st) in sorted(by_key)
        ],
        ignore_conflicts=True,
    )
    claimed = [
        by_key[key]
        for key in SentReminder.objects.filter(run=run).values_list(
            "recipient_id", "subject", "stage"
        )
        if key in by_key
    ]
    if not claimed:
        return 0
    notifications, mails = [], []
    base_url = settings.PORTAL_BASE_URL.rstrip("/")
    for message in claimed:
        recipient = message.recipient
        with translation.override(recipient.language or settings.LANGUAGE_CODE):
            title, body, path = message.render(recipient)
            title, body = str(title), str(body)
        notifications.append(
            Notification(
                recipient=recipient, kind=message.kind, title=title[:200], body=body, url=path
            )
        )
        if recipient.email:
            mails.append(
                EmailMessage(
                    subject=title, body=f"{body}\n\n{base_url}{path}", to=[recipient.email]
                )
            )
    try:
        with transaction.atomic():
            Notification.objects.bulk_create(notifications)
            if mails:
                # One connection for the whole batch. A failure here rolls the
                # notifications back.
                get_connection().send_messages(mails)
            SentReminder.objects.filter(run=run).update(sent_at=timezone.now())
    except Exception:
        # Give the claims back so that the next run, even a manual one a minute later,
        # sends this batch (a stale claim would only be taken over after STALE_CLAIM).
        SentReminder.objects.filter(run=run, sent_at__isnull=True).delete()
        raise
    return len(claimed)


def enqueue(task, *args):
    """Queue a Celery task once the current transaction commits, with ids as arguments.

    If the broker is down the user's action still succeeds: the failure is logged and the
    periodic sweeps, which rebuild their work from the database, catch up later."""

    def send():
        try:
            task.apply_async(args=args, retry=False)
        except Exception:  # noqa: BLE001 - any broker failure must not reach the user
            log.exception("could not queue %s%r; the next sweep will catch up", task.name, args)

    transaction.on_commit(send)


def unread_count(user):
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def deadline_stage(deadline, today=None):
    """Which reminder a deadline calls for today: "opened" (just assigned), "due_soon"
    (within REMINDER_DUE_SOON_DAYS) or "overdue". Only the current stage is sent, so a
    late start does not send three reminders at once."""
    today = today or timezone.localdate()
    if today > deadline:
        return "overdue"
    if (deadline - today).days <= settings.REMINDER_DUE_SOON_DAYS:
        return "due_soon"
    return "opened"


def is_escalation_due(deadline, today=None):
    today = today or timezone.localdate()
    return (today - deadline).days >= settings.ESCALATION_AFTER_DAYS


def department_heads():
    """{department id: [head, ...]} of every department with a head: one query."""
    from .models import Role, RoleAssignment

    heads = {}
    for assignment in RoleAssignment.objects.filter(role=Role.DEPARTMENT_HEAD).select_related(
        "user"
    ):
        if assignment.user.is_active:
            heads.setdefault(assignment.department_id, []).append(assignment.user)
    return heads


def department_id_of(section):
    """The department (部) a unit belongs to: itself unless it is a section."""
    return section.parent_id if section.kind == "section" and section.parent_id else section.pk


RECIPIENT_FIELDS = ("pk", "username", "display_name", "email", "language", "section_id")
