"""Sending notifications and reminders: in the portal (a badge and a list) and by e-mail,
in the recipient's language, each exactly once per recipient, subject and stage.

Jobs build Message objects and hand them to send_once(); the SentReminder ledger decides
what still has to go out, so a job can run twice, or on two workers at once, and nothing is
sent twice. A worker killed at any moment (SIGKILL, a lost container) loses nothing and
repeats at most the one mail it was sending:

1. Claim. A batch of messages is claimed in one transaction that also writes their in-app
   notifications, so a notification exists exactly when its claim does: never lost, never
   doubled. The claims carry the id of the run, and the run holds a PostgreSQL advisory
   lock on that id for as long as it lives (released when it ends, or by the server the
   moment its connection dies with the worker).
2. Send. Each mail goes out on its own and its ledger row is stamped sent_at as soon as
   the mail server has accepted it (one UPDATE by primary key). A kill between the
   server's "250 OK" and that stamp is the only way a mail goes out twice.
3. Take over. A claim without sent_at whose run no longer holds its lock belongs to a run
   that died (or gave it back after a mail failure): the next run takes it over at once
   and sends the mail, not the notification, which was written with the claim. A claim
   whose run is alive is left to it, however long it takes.

The cost is a fixed number of statements per batch (claims, notifications) plus one small
UPDATE per mail, committed without waiting for the disk (see live_run). Stamping per chunk
of k mails would save those UPDATEs but could repeat k mails per kill; the UPDATE by primary
key costs less than the SMTP exchange it follows (bench/README.md).

Without PostgreSQL (the SQLite demo, one process) there are no advisory locks: there a
claim left without sent_at is taken over once it is older than STALE_CLAIM."""

import logging
import smtplib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any, Protocol, Self

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from . import notification_text
from .models import Notification, SentReminder, User
from .models.organisation import department_id_of
from .notification_text import Content, Text

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Only where there are no advisory locks (SQLite, the demo): after this long a claim
# without sent_at is taken to belong to a run that died.
STALE_CLAIM = timedelta(hours=1)
# First key of the (int, int) advisory locks that mark live runs; the second is
# hashtext(run id). A hash collision can only make a dead run look alive for a while
# (its claims wait for a later run), never a live one look dead.
RUN_LOCK_NAMESPACE = 0x49534D53  # "ISMS"

# Every job that sends through send_once(): acknowledged only once it has finished, and
# queued again when its worker dies, so a killed sweep runs again at once rather than the
# next day. Safe because send_once() sends nothing twice.
REMINDER_TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}

# A message's (recipient id, subject, stage): what the ledger records once.
Key = tuple[int, str, str]
# What a message's render() returns: title and body, and the portal path. Whatever of the
# title and body is a Text (a msgid and its parameters) is rendered again in the reader's
# language each time the notification is shown; plain text (str or lazy) stays as it was.
Rendered = tuple[Content, Content, str]


class Task(Protocol):
    """What enqueue() needs of a Celery task (Celery ships no annotations)."""

    name: str

    def apply_async(self, args: tuple[object, ...], retry: bool) -> object: ...


@dataclass
class Message:
    recipient: User  # with language and email loaded
    subject: str  # what the message is about, e.g. "campaign:12"
    stage: str  # which reminder of that subject, e.g. "overdue"
    kind: str  # for the notification list, e.g. "acknowledgement.overdue"
    render: Callable[[User], Rendered]  # called in the recipient's language
    # What the message asks the recipient to do, e.g. "ack:revision:12": the service that
    # completes it marks the notification done (mark_task_done). Empty for information.
    task: str = ""

    @property
    def key(self) -> Key:
        return (self.recipient.pk, self.subject, self.stage)


def _advisory_locks() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def live_run() -> Iterator[uuid.UUID]:
    """A new run id, marked alive (its advisory lock held by this database session) until
    the block ends. Claims of a live run are never taken over.

    For the run's length its commits do not wait for the disk (synchronous_commit off):
    otherwise each mail's stamp would wait for a WAL flush, 5-15 ms here, more than the mail
    itself. What that risks is bounded: only a crash of the database server itself (not of
    a worker) can lose the last fraction of a second of commits, i.e. stamps (those mails
    go out again) or claims with their notifications (claimed, notified and mailed again,
    once); the in-app side stays exactly once either way."""
    run = uuid.uuid4()
    previous: str | None = None
    if _advisory_locks():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s, hashtext(%s)), current_setting('synchronous_commit'),"
                " set_config('synchronous_commit', 'off', false)",
                [RUN_LOCK_NAMESPACE, str(run)],
            )
            row = cursor.fetchone()
            assert row is not None  # a SELECT without FROM returns one row
            previous = row[1]
    try:
        yield run
    finally:
        if _advisory_locks():
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_unlock(%s, hashtext(%s)),"
                        " set_config('synchronous_commit', %s, false)",
                        [RUN_LOCK_NAMESPACE, str(run), previous],
                    )
            except DatabaseError:
                # The session is broken (its locks go with it) or its transaction failed
                # (the caller's error is the one to see).
                logger.warning("could not release the lock of reminder run %s", run)


def send_once(messages: Iterable[Message], batch_size: int = BATCH_SIZE) -> int:
    """Deliver each message unless the ledger says it went out already. Returns the number
    this call delivered (newly, or by taking over a dead run's claim)."""
    sent = 0
    iterator = iter(messages)
    with live_run() as run:
        while batch := list(islice(iterator, batch_size)):
            sent += _send_batch(batch, run)
    return sent


@dataclass
class _Claimed:
    pk: int
    message: Message
    title: str = ""
    body: str = ""
    path: str = ""
    parts: dict[str, Any] | None = None

    def render(self) -> Self:
        recipient = self.message.recipient
        with translation.override(recipient.language or settings.LANGUAGE_CODE):
            title, body, path = self.message.render(recipient)
            self.title = notification_text.render(title)
            self.body = notification_text.render(body)
            self.path = path
        parts = {"title": notification_text.to_json(title), "body": notification_text.to_json(body)}
        self.parts = {k: v for k, v in parts.items() if v is not None}
        return self


def _send_batch(batch: list[Message], run: uuid.UUID) -> int:
    by_key = {m.key: m for m in batch}
    with transaction.atomic():
        new, taken_over = _claim(by_key, run)
        Notification.objects.bulk_create(
            Notification(
                recipient=c.message.recipient,
                kind=c.message.kind,
                title=c.title[:200],
                body=c.body,
                url=c.path,
                message=c.parts or {},
                task_key=c.message.task,
            )
            for c in new
        )
    if taken_over:
        logger.info(
            "reminder run %s takes over %s unsent claims of runs that ended", run, len(taken_over)
        )
    to_mail = sorted(
        (c for c in new + taken_over if c.message.recipient.email), key=lambda c: c.message.key
    )
    refused = _mail_one_by_one(to_mail, run)
    # Taken-over claims of someone who has since lost their address are done too.
    without_address = [c.pk for c in taken_over if not c.message.recipient.email]
    if without_address:
        SentReminder.objects.filter(pk__in=without_address, run=run).update(sent_at=timezone.now())
    # Each new claim delivered its notification; a taken-over one counts once mailed.
    return len(new) + len([c for c in taken_over if c.pk not in refused])


def _claim(by_key: dict[Key, Message], run: uuid.UUID) -> tuple[list[_Claimed], list[_Claimed]]:
    """Claims what nobody has claimed yet and takes over the unsent claims of dead runs,
    in the caller's transaction. Returns (new claims, taken-over claims), rendered."""
    now = timezone.now()
    table = SentReminder._meta.db_table
    prep = {f.name: f for f in SentReminder._meta.fields}
    db_run = prep["run"].get_db_prep_value(run, connection)
    db_now = prep["claimed_at"].get_db_prep_value(now, connection)
    # Claims go in in key order: two workers inserting the same keys in different orders
    # (the jobs' queries have no fixed order) would deadlock on the unique index. Someone
    # without an address is done once notified.
    keys = sorted(by_key)
    rows: list[str] = []
    params: list[Any] = []
    for recipient_id, subject, stage in keys:
        rows.append("(%s, %s, %s, %s, %s, %s)")
        params += [
            recipient_id,
            subject,
            stage,
            db_run,
            db_now,
            None if by_key[(recipient_id, subject, stage)].recipient.email else db_now,
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (recipient_id, subject, stage, run, claimed_at, sent_at) "
            f"VALUES {', '.join(rows)} "
            "ON CONFLICT (recipient_id, subject, stage) DO NOTHING "
            "RETURNING id, recipient_id, subject, stage",
            params,
        )
        inserted = {(r, s, st): pk for pk, r, s, st in cursor.fetchall()}
    new = [_Claimed(inserted[k], by_key[k]).render() for k in keys if k in inserted]
    conflicts = [k for k in keys if k not in inserted]
    taken = _take_over(conflicts, run, now) if conflicts else {}
    taken_over = [_Claimed(taken[k], by_key[k]).render() for k in conflicts if k in taken]
    return new, taken_over


def _take_over(keys: list[Key], run: uuid.UUID, now: datetime) -> dict[Key, int]:
    """{key: pk} of the claims among `keys` that are unsent and held by no live run, now
    held by `run`. Rows another transaction is claiming right now are skipped (it has them)."""
    table = SentReminder._meta.db_table
    key_rows = ", ".join(["(%s, %s, %s)"] * len(keys))
    key_params = [value for key in keys for value in key]
    with connection.cursor() as cursor:
        if _advisory_locks():
            cursor.execute(
                f"SELECT id, recipient_id, subject, stage, run FROM {table} "
                f"WHERE sent_at IS NULL AND (recipient_id, subject, stage) IN ({key_rows}) "
                "ORDER BY id FOR UPDATE SKIP LOCKED",
                key_params,
            )
            candidates = cursor.fetchall()
            runs = sorted({str(r[4]) for r in candidates if r[4] is not None and r[4] != run})
            dead: set[str] = set()
            if runs:
                # A run's lock is free only once it has ended: trying it (for this
                # transaction only) is the test. The rows stay locked by us meanwhile.
                cursor.execute(
                    "SELECT r FROM unnest(%s::text[]) AS r "
                    "WHERE pg_try_advisory_xact_lock(%s, hashtext(r))",
                    [runs, RUN_LOCK_NAMESPACE],
                )
                dead = {r for (r,) in cursor.fetchall()}
            taken = {
                (r, s, st): pk
                for pk, r, s, st, holder in candidates
                if holder is None or str(holder) in dead
            }
            if taken:
                SentReminder.objects.filter(pk__in=taken.values()).update(run=run, claimed_at=now)
            return taken
        prep = {f.name: f for f in SentReminder._meta.fields}
        cursor.execute(
            f"UPDATE {table} SET run = %s, claimed_at = %s "
            f"WHERE sent_at IS NULL AND (recipient_id, subject, stage) IN ({key_rows}) "
            "AND (run IS NULL OR claimed_at < %s) "
            "RETURNING id, recipient_id, subject, stage",
            [
                prep["run"].get_db_prep_value(run, connection),
                prep["claimed_at"].get_db_prep_value(now, connection),
                *key_params,
                prep["claimed_at"].get_db_prep_value(now - STALE_CLAIM, connection),
            ],
        )
        return {(r, s, st): pk for pk, r, s, st in cursor.fetchall()}


def _stamp_sent(pk: int, run: uuid.UUID) -> int:
    """The one statement per mail, kept to the bare UPDATE by primary key: it runs once per
    recipient, so the ORM's cost of building it would count."""
    fields = {f.name: f for f in SentReminder._meta.fields}
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE {connection.ops.quote_name(SentReminder._meta.db_table)} SET "sent_at" = %s '
            'WHERE "id" = %s AND "run" = %s AND "sent_at" IS NULL',
            [
                fields["sent_at"].get_db_prep_value(timezone.now(), connection),
                pk,
                fields["run"].get_db_prep_value(run, connection),
            ],
        )
        return cursor.rowcount


def _mail_one_by_one(claims: list[_Claimed], run: uuid.UUID) -> set[int]:
    """Send each mail over one connection and stamp it sent the moment the server has
    accepted it. If the server fails, the claims not yet sent are given back (the next run,
    even a manual one a minute later, sends them) and the error is raised. Returns the pks
    of the claims whose address the server refused (given back, the others still sent)."""
    refused: set[int] = set()
    if not claims:
        return refused
    base_url = settings.PORTAL_BASE_URL.rstrip("/")
    mailer = get_connection()
    try:
        mailer.open()
        for claim in claims:
            mail = EmailMessage(
                subject=claim.title,
                body=f"{claim.body}\n\n{base_url}{claim.path}",
                to=[claim.message.recipient.email],
            )
            try:
                mailer.send_messages([mail])
            except smtplib.SMTPRecipientsRefused:
                # This address only: the others still go out; this one is tried again
                # by the next run.
                logger.warning("mail server refused %s; left for the next run", mail.to[0])
                SentReminder.objects.filter(pk=claim.pk, run=run).update(run=None)
                refused.add(claim.pk)
                continue
            if not _stamp_sent(claim.pk, run):
                raise RuntimeError(f"reminder claim {claim.pk} was taken from run {run}")
    except Exception:
        given_back = SentReminder.objects.filter(run=run, sent_at__isnull=True).update(run=None)
        logger.warning(
            "mail failed in reminder run %s; %s unsent claims left for the next run",
            run,
            given_back,
        )
        raise
    finally:
        mailer.close()
    return refused


def enqueue(task: Task, *args: object) -> None:
    """Queue a Celery task once the current transaction commits, with ids as arguments.

    If the broker is down the user's action still succeeds: the failure is logged and the
    periodic sweeps, which rebuild their work from the database, catch up later."""

    def send() -> None:
        try:
            task.apply_async(args=args, retry=False)
        except Exception:  # noqa: BLE001 - any broker failure must not reach the user
            logger.exception("could not queue %s%r; the next sweep will catch up", task.name, args)

    transaction.on_commit(send)


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user).unread().count()


def mark_task_done(user_ids: Iterable[int] | None, key: str) -> int:
    """The notifications asking these people (everyone, for None: a task any of several
    people may complete, such as a department's self-inspection) to do `key` are done: one
    UPDATE. Called by the service that completes the task, in its transaction. Returns how
    many were marked. The reminder ledger is not touched: a later stage of a task already
    done is not sent anyway, as the jobs leave out who has done it."""
    if not key:
        raise ValueError("a task key is needed")
    notifications = Notification.objects.filter(task_key=key, done_at__isnull=True)
    if user_ids is not None:
        notifications = notifications.filter(recipient_id__in=list(user_ids))
    return notifications.update(done_at=timezone.now())


def deadline_stage(deadline: date, today: date | None = None) -> str:
    """Which reminder a deadline calls for today: "opened" (just assigned), "due_soon"
    (within REMINDER_DUE_SOON_DAYS) or "overdue". Only the current stage is sent, so a
    late start does not send three reminders at once."""
    today = today or timezone.localdate()
    if today > deadline:
        return "overdue"
    if (deadline - today).days <= settings.REMINDER_DUE_SOON_DAYS:
        return "due_soon"
    return "opened"


def is_escalation_due(deadline: date, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return (today - deadline).days >= settings.ESCALATION_AFTER_DAYS


def department_heads() -> dict[int, list[User]]:
    """{department id: [head, ...]} of every department with a head: one query."""
    from .models import Role, RoleAssignment

    heads: dict[int, list[User]] = {}
    for assignment in RoleAssignment.objects.filter(role=Role.DEPARTMENT_HEAD).select_related(
        "user"
    ):
        # A head's role always names a department (isms.roles.assign_role).
        if assignment.user.is_active and assignment.department_id is not None:
            heads.setdefault(assignment.department_id, []).append(assignment.user)
    return heads


RECIPIENT_FIELDS = ("pk", "username", "display_name", "email", "language", "section_id")


# The two steps every reminder job of the apps shares: who is still to be told, and the
# escalation digest to the department heads.
RECIPIENT_CHUNK = 500


def not_yet_sent(
    people: QuerySet[User], subject: str, stage: str, done: QuerySet[Any] | None = None
) -> Iterator[User]:
    """Those of `people` who have not been sent this stage yet, nor are in `done` (user ids),
    with what a Message needs, read a chunk at a time.

    The difference is an SQL EXCEPT of ids, not NOT EXISTS: after a large send, or while
    acknowledgements come in, the planner's statistics say the ledger (or the
    acknowledgements) hold next to nothing for this subject, and for the server-side cursor
    of .iterator() it chose a nested loop over all those rows for every person: 70 s for a
    sweep with nothing to send among 50,000 staff (bench/reminder_sweep.py). EXCEPT is
    hashed or sorted whatever the estimates."""
    excluded = [
        # Only what went out: an unsent claim may be a killed worker's, for send_once to
        # take over.
        SentReminder.objects.filter(subject=subject, stage=stage, sent_at__isnull=False)
        .order_by()
        .values_list("recipient_id", flat=True)
    ]
    if done is not None:
        excluded.append(done.order_by())
    ids = sorted(people.order_by().values_list("pk", flat=True).difference(*excluded))
    for start in range(0, len(ids), RECIPIENT_CHUNK):
        chunk = ids[start : start + RECIPIENT_CHUNK]
        yield from User.objects.filter(pk__in=chunk).only(*RECIPIENT_FIELDS).order_by("pk")


def escalations(
    subject_prefix: str,
    pending: QuerySet[User],
    title: str,
    deadline: date,
    path: str,
    today: date,
) -> Iterator[Message]:
    """One digest per department to its heads, naming who is still missing."""
    missing: defaultdict[int, list[str]] = defaultdict(list)
    for user in (
        pending.select_related("section")
        .only("username", "display_name", "section__kind", "section__parent_id", "section__name")
        .iterator(chunk_size=2000)
    ):
        section = user.section
        if section is None:  # nobody's department: no head to tell (audiences hold none)
            continue
        missing[department_id_of(section)].append(f"{section.name} {user}")
    heads = department_heads()
    for department_id, names in missing.items():
        subject = f"{subject_prefix}:department:{department_id}"
        if not heads.get(department_id):
            logger.warning(
                "%s: department %s has no active head to escalate %s missing people to",
                subject_prefix,
                department_id,
                len(names),
            )

        def render(head: User, names: list[str] = names) -> Rendered:
            body: list[str | Text] = [
                Text(
                    gettext_noop(
                        "%(count)s people in your department have not done this by %(deadline)s:"
                    ),
                    count=len(names),
                    deadline=deadline,
                ),
                "\n".join(f"- {name}" for name in names[:200]),
            ]
            more = len(names) - 200
            if more > 0:
                body.append(Text(gettext_noop("… and %(count)s more."), count=more))
            return Text(gettext_noop("Escalation: %(title)s"), title=title), body, path

        for head in heads.get(department_id, []):
            yield Message(head, subject, "escalation", "escalation", render)
