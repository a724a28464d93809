"""isms.notify: the SentReminder ledger that makes every reminder go out once, whatever the
number of runs or workers, and the stage and escalation rules the jobs share."""

import datetime
import smtplib
import threading
import time
import uuid
from contextlib import contextmanager

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext_lazy as _

from acknowledgements.tasks import remind_acknowledgements
from isms import notify
from isms.models import Notification, SentReminder, User
from isms.notify import Message, deadline_stage, is_escalation_due, send_once

from .factories import password_hash
from .reminder_helpers import (
    MAIL_STAMP,
    assert_links_to,
    give_addresses,
    mail_by_username,
    notes_by_username,
    snapshot,
    speaks_english,
)


@pytest.fixture(autouse=True)
def addresses(people):
    give_addresses(people)


def render_training(user):
    # A string the catalogue translates: 情報セキュリティ研修 / Security training.
    return _("Security training"), f"本文 {user.username}", "/training/"


def message(user, subject="test:1", stage="opened", render=render_training):
    return Message(user, subject, stage, f"test.{stage}", render)


# --- one message, once ---------------------------------------------------------------------


def test_a_message_goes_out_once_in_the_recipients_language(people, mailoutbox):
    staff, somuka = people["staff"], speaks_english(people["staff_somuka"])
    assert send_once([message(staff), message(somuka)]) == 2

    assert mail_by_username(mailoutbox) == {
        "staff_joho": ["情報セキュリティ研修"],
        "staff_somuka": ["Security training"],
    }
    assert notes_by_username() == {
        "staff_joho": [("test.opened", "情報セキュリティ研修", "/training/")],
        "staff_somuka": [("test.opened", "Security training", "/training/")],
    }
    (to_staff,) = [m for m in mailoutbox if m.to == [staff.email]]
    assert to_staff.body.startswith("本文 staff_joho")
    assert_links_to(to_staff, "/training/")
    assert set(SentReminder.objects.values_list("recipient_id", "subject", "stage")) == {
        (staff.pk, "test:1", "opened"),
        (somuka.pk, "test:1", "opened"),
    }
    assert not SentReminder.objects.filter(sent_at__isnull=True).exists()

    before = snapshot(mailoutbox)
    assert send_once([message(staff), message(somuka)]) == 0
    assert snapshot(mailoutbox) == before


def test_each_stage_and_subject_is_a_message_of_its_own(people, mailoutbox):
    staff = people["staff"]
    batch = [
        message(staff, "test:1", "opened"),
        message(staff, "test:1", "opened"),  # the same one twice in a run: sent once
        message(staff, "test:1", "due_soon"),
        message(staff, "test:2", "opened"),
    ]
    assert send_once(batch) == 3
    assert len(mailoutbox) == 3
    assert Notification.objects.filter(recipient=staff).count() == 3
    assert send_once(batch) == 0
    assert len(mailoutbox) == 3


def test_someone_without_an_address_gets_the_notification_only(people, mailoutbox):
    staff = people["staff"]
    User.objects.filter(pk=staff.pk).update(email="")
    staff.email = ""
    assert send_once([message(staff), message(people["chief"])]) == 2
    assert mail_by_username(mailoutbox) == {"chief_joho": ["情報セキュリティ研修"]}
    assert set(notes_by_username()) == {"staff_joho", "chief_joho"}


# --- two workers at once ------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_two_workers_running_at_once_send_each_message_once(mailoutbox):
    User.objects.bulk_create(
        User(
            username=f"worker-test-{n:03d}",
            email=f"worker-test-{n:03d}@city.example.jp",
            password=password_hash(),
        )
        for n in range(300)
    )
    users = list(User.objects.filter(username__startswith="worker-test-").order_by("pk"))
    # Each worker builds the same messages, but the jobs' queries have no fixed order: two of
    # the four see them the other way round. Several rounds, as a race does not always show.
    # Messages are built before the barrier, so the workers' claims overlap in time.
    orders = [users, users[::-1], users, users[::-1]]
    for round_ in range(10):
        subject = f"race:{round_}"
        barrier = threading.Barrier(len(orders))
        results, errors = [], []

        def worker(order, subject=subject, barrier=barrier, results=results, errors=errors):
            try:
                messages = [message(u, subject) for u in order]
                connection.ensure_connection()
                barrier.wait()
                results.append(send_once(messages))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(order,)) for order in orders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        assert sum(results) == 300
        assert SentReminder.objects.filter(subject=subject, sent_at__isnull=False).count() == 300

    assert sorted(m.to[0] for m in mailoutbox) == sorted([u.email for u in users] * 10)
    assert Notification.objects.count() == 3000
    assert not SentReminder.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_worker_seeing_messages_in_another_order_does_not_deadlock(org):
    """The same race, made certain: one worker is half-way through its claims (it holds the
    first, the second comes next) when another starts on the same two, listed the other way
    round. The second must wait for the first, not lock the row the first needs next."""
    first, second = (
        User.objects.create(username=f"lock-{n}", password=password_hash()) for n in (1, 2)
    )
    outcome, connected = {}, threading.Event()

    def other_worker():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                outcome["pid"] = cursor.fetchone()[0]
            connected.set()
            outcome["sent"] = send_once([message(second), message(first)])
        except Exception as error:  # noqa: BLE001 - reported below
            outcome["error"] = error
        finally:
            connected.set()
            connection.close()

    thread = threading.Thread(target=other_worker)
    # The first worker is alive throughout: its claims are never taken over.
    with notify.live_run() as run:
        with transaction.atomic():
            SentReminder.objects.create(recipient=first, subject="test:1", stage="opened", run=run)
            thread.start()
            assert connected.wait(10)
            deadline = time.monotonic() + 10
            with connection.cursor() as cursor:
                while time.monotonic() < deadline:  # until the other worker waits for our row
                    cursor.execute(
                        "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted",
                        [outcome.get("pid")],
                    )
                    if cursor.fetchone()[0]:
                        break
                    time.sleep(0.02)
                else:
                    pytest.fail("the other worker never waited for the claim")
            SentReminder.objects.create(recipient=second, subject="test:1", stage="opened", run=run)
            thread.join(timeout=0.5)  # the other worker is still waiting
            assert thread.is_alive()
        thread.join(timeout=30)
    assert "error" not in outcome, outcome
    assert outcome["sent"] == 0  # both were claimed by the first worker, still alive


# --- a worker killed mid-run ---------------------------------------------------------------


def claim_left_by_a_dead_run(user, subject="test:1", stage="opened"):
    """What a worker killed after claiming (and so notifying) and before mailing leaves:
    its run id is nobody's now."""
    claim = SentReminder.objects.create(
        recipient=user, subject=subject, stage=stage, run=uuid.uuid4()
    )
    Notification.objects.create(recipient=user, kind=f"test.{stage}", title="情報セキュリティ研修")
    return claim


@contextmanager
def run_alive_elsewhere():
    """The run of another worker, alive on its own database connection until the block
    ends; then it is gone as if its worker had been killed."""
    started, finish, held = threading.Event(), threading.Event(), {}

    def other_worker():
        try:
            with notify.live_run() as run:
                held["run"] = run
                started.set()
                finish.wait(30)
        finally:
            connection.close()
            started.set()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert started.wait(10) and "run" in held
    try:
        yield held["run"]
    finally:
        finish.set()
        thread.join(10)


def test_the_next_run_takes_over_a_dead_runs_claim_at_once_and_sends_only_the_mail(
    people, mailoutbox
):
    staff, chief = people["staff"], people["chief"]
    claim = claim_left_by_a_dead_run(staff)  # just now, not an hour ago

    assert send_once([message(staff), message(chief)]) == 2

    assert mail_by_username(mailoutbox) == {
        "staff_joho": ["情報セキュリティ研修"],
        "chief_joho": ["情報セキュリティ研修"],
    }
    # The notification went out with the claim: it is not written a second time.
    assert {name: len(notes) for name, notes in notes_by_username().items()} == {
        "staff_joho": 1,
        "chief_joho": 1,
    }
    row = SentReminder.objects.get(recipient=staff, subject="test:1", stage="opened")
    assert row.pk == claim.pk and row.sent_at is not None and row.run != claim.run
    assert send_once([message(staff), message(chief)]) == 0
    assert len(mailoutbox) == 2


def test_a_claim_of_a_run_still_alive_is_left_to_it_until_that_run_dies(people, mailoutbox):
    staff, chief = people["staff"], people["chief"]
    with run_alive_elsewhere() as run:
        SentReminder.objects.create(recipient=staff, subject="test:1", stage="opened", run=run)
        # However long the other worker takes, this run does not send its message too.
        assert send_once([message(staff), message(chief)]) == 1
        assert mail_by_username(mailoutbox) == {"chief_joho": ["情報セキュリティ研修"]}
        assert SentReminder.objects.get(recipient=staff).sent_at is None
    # The other worker died without sending: the very next run sends it.
    assert send_once([message(staff), message(chief)]) == 1
    assert mail_by_username(mailoutbox) == {
        "chief_joho": ["情報セキュリティ研修"],
        "staff_joho": ["情報セキュリティ研修"],
    }


def test_a_sweep_takes_over_what_a_killed_worker_claimed(documents, people, standard, mailoutbox):
    campaign = standard.campaign
    subject = f"campaign:{campaign.pk}"
    today = campaign.deadline - datetime.timedelta(days=20)

    def acknowledgement_mail():
        return {
            name: [s for s in subjects if s == "【確認依頼】対策基準"]
            for name, subjects in mail_by_username(mailoutbox).items()
        }

    with run_alive_elsewhere() as live:
        # One worker died after claiming staff_joho's reminder; another, still running,
        # has claimed staff_somuka's.
        claim_left_by_a_dead_run(people["staff"], subject, "opened")
        SentReminder.objects.create(
            recipient=people["staff_somuka"], subject=subject, stage="opened", run=live
        )
        remind_acknowledgements(today=today)

        assert acknowledgement_mail()["staff_joho"] == ["【確認依頼】対策基準"]
        assert acknowledgement_mail().get("staff_somuka", []) == []
        # Notified with the claim, not again.
        assert notes_by_username(recipient=people["staff"], title="【確認依頼】対策基準") == {}
        assert (
            SentReminder.objects.get(recipient=people["staff_somuka"], subject=subject).sent_at
            is None
        )
    remind_acknowledgements(today=today)
    assert acknowledgement_mail()["staff_somuka"] == ["【確認依頼】対策基準"]
    assert acknowledgement_mail()["staff_joho"] == ["【確認依頼】対策基準"]


def test_a_message_that_cannot_be_written_leaves_neither_claim_nor_notification(people):
    def broken(user):
        raise ValueError("the template is broken")

    with pytest.raises(ValueError):
        send_once([message(people["staff"]), message(people["chief"], render=broken)])
    assert not SentReminder.objects.exists()
    assert not Notification.objects.exists()


# --- the mail server fails -----------------------------------------------------------------


class BrokenBackend(BaseEmailBackend):
    """A mail server that refuses everything."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("connection refused")


class FailingAfterTwoBackend(locmem.EmailBackend):
    """A mail server that accepts two messages and then goes away."""

    accepted = 0

    def send_messages(self, messages):
        if FailingAfterTwoBackend.accepted >= 2:
            raise smtplib.SMTPServerDisconnected("connection lost")
        FailingAfterTwoBackend.accepted += len(messages)
        return super().send_messages(messages)


class RefusingChiefBackend(locmem.EmailBackend):
    """A mail server that refuses one address (a mailbox that is full, say)."""

    def send_messages(self, messages):
        for m in messages:
            if m.to[0].startswith("chief_joho@"):
                raise smtplib.SMTPRecipientsRefused({m.to[0]: (552, b"mailbox full")})
        return super().send_messages(messages)


def test_after_a_mail_failure_the_notifications_stay_and_the_next_run_sends_the_mail(
    people, mailoutbox, settings
):
    staff, chief = people["staff"], people["chief"]
    locmem_backend = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "tests.test_reminder_ledger.BrokenBackend"
    with pytest.raises(smtplib.SMTPException):
        send_once([message(staff), message(chief)])
    assert mailoutbox == []
    # The in-app side went out with the claims; the claims are given back unsent...
    assert set(notes_by_username()) == {"staff_joho", "chief_joho"}
    assert list(SentReminder.objects.values_list("run", "sent_at")) == [(None, None)] * 2

    # ...so the very next run, a minute later with the mail server back, sends the mail,
    # and the notifications are not written twice.
    settings.EMAIL_BACKEND = locmem_backend
    assert send_once([message(staff), message(chief)]) == 2
    assert mail_by_username(mailoutbox) == {
        "staff_joho": ["情報セキュリティ研修"],
        "chief_joho": ["情報セキュリティ研修"],
    }
    assert Notification.objects.count() == 2
    assert send_once([message(staff), message(chief)]) == 0
    assert len(mail.outbox) == 2


def test_each_mail_counts_as_sent_once_the_server_accepted_it_not_at_the_end_of_the_batch(
    people, mailoutbox, settings
):
    four = [people[name] for name in ("staff", "staff_somuka", "chief", "head")]
    FailingAfterTwoBackend.accepted = 0
    settings.EMAIL_BACKEND = "tests.test_reminder_ledger.FailingAfterTwoBackend"
    with pytest.raises(smtplib.SMTPException):
        send_once([message(u) for u in four])
    assert len(mailoutbox) == 2
    assert SentReminder.objects.filter(sent_at__isnull=False).count() == 2

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_once([message(u) for u in four]) == 2
    # Everyone has the mail once: the two that went out before the failure are not resent.
    assert sorted(m.to[0] for m in mailoutbox) == sorted(u.email for u in four)
    assert Notification.objects.count() == 4


def test_an_address_the_server_refuses_does_not_hold_back_the_others(people, mailoutbox, settings):
    staff, chief, head = people["staff"], people["chief"], people["head"]
    settings.EMAIL_BACKEND = "tests.test_reminder_ledger.RefusingChiefBackend"
    assert send_once([message(staff), message(chief), message(head)]) == 3
    assert sorted(mail_by_username(mailoutbox)) == ["head_somu", "staff_joho"]
    assert set(notes_by_username()) == {"staff_joho", "chief_joho", "head_somu"}

    # The next run tries that address again, and only that one.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_once([message(staff), message(chief), message(head)]) == 1
    assert sorted(m.to[0] for m in mailoutbox) == sorted([staff.email, chief.email, head.email])
    assert Notification.objects.count() == 3


# --- batches --------------------------------------------------------------------------------


@pytest.fixture
def crowd(org):
    User.objects.bulk_create(
        User(
            username=f"crowd-{n:03d}",
            email=f"crowd-{n:03d}@city.example.jp",
            section=org["joho"],
            password=password_hash(),
        )
        for n in range(90)
    )
    return list(User.objects.filter(username__startswith="crowd-").order_by("pk"))


def test_queries_grow_with_batches_and_one_small_update_per_mail(crowd, monkeypatch):
    connections = []
    real_get_connection = notify.get_connection

    def counting_get_connection(*args, **kwargs):
        connections.append(1)
        return real_get_connection(*args, **kwargs)

    monkeypatch.setattr(notify, "get_connection", counting_get_connection)

    def cost(people, batch_size, subject):
        connections.clear()
        with CaptureQueriesContext(connection) as queries:
            assert send_once([message(u, subject) for u in people], batch_size) == len(people)
        stamps = [q for q in queries if q["sql"].startswith("UPDATE")]
        return len(queries) - len(stamps), len(stamps), len(connections)

    one_small_batch = cost(crowd[:10], 10, "batch:1")
    one_large_batch = cost(crowd[:90], 90, "batch:2")
    two_batches = cost(crowd[:60], 30, "batch:3")
    three_batches = cost(crowd[:90], 30, "batch:4")

    # Claims and notifications: a fixed number of statements per batch, whatever its size.
    assert one_large_batch[0] == one_small_batch[0]
    per_batch = two_batches[0] - one_small_batch[0]
    assert 0 < per_batch <= 4
    assert three_batches[0] - two_batches[0] == per_batch
    # Each mail: one UPDATE, the moment the server accepted it.
    assert [c[1] for c in (one_small_batch, one_large_batch, two_batches, three_batches)] == [
        10,
        90,
        60,
        90,
    ]
    # One mail connection per batch.
    assert [c[2] for c in (one_small_batch, one_large_batch, two_batches, three_batches)] == [
        1,
        1,
        2,
        3,
    ]


# --- stages and escalation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_before_deadline", "stage"),
    [
        (30, "opened"),
        (8, "opened"),
        (7, "due_soon"),
        (1, "due_soon"),
        (0, "due_soon"),
        (-1, "overdue"),
        (-30, "overdue"),
    ],
)
def test_the_stage_depends_on_the_days_left(days_before_deadline, stage):
    deadline = datetime.date(2025, 12, 1)
    today = deadline - datetime.timedelta(days=days_before_deadline)
    assert deadline_stage(deadline, today) == stage


def test_the_due_soon_window_follows_the_setting(settings):
    deadline = datetime.date(2025, 12, 1)
    settings.REMINDER_DUE_SOON_DAYS = 14
    assert deadline_stage(deadline, deadline - datetime.timedelta(days=14)) == "due_soon"
    assert deadline_stage(deadline, deadline - datetime.timedelta(days=15)) == "opened"


@pytest.mark.parametrize(
    ("days_late", "due"), [(-1, False), (0, False), (6, False), (7, True), (30, True)]
)
def test_escalation_starts_escalation_after_days_past_the_deadline(days_late, due):
    deadline = datetime.date(2025, 12, 1)
    assert is_escalation_due(deadline, deadline + datetime.timedelta(days=days_late)) is due


def test_the_stamps_skip_the_wait_for_the_disk_and_the_connection_gets_it_back(crowd, mailoutbox):
    seen = []

    def watch(execute, sql, params, many, context):
        if sql.startswith(MAIL_STAMP):
            with connection.cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                seen.append(cursor.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        assert send_once([message(u, "disk:1") for u in crowd[:5]]) == 5

    assert seen == ["off"] * 5
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
