"""isms.notify: the SentReminder ledger that makes every reminder go out once, whatever the
number of runs or workers, and the stage and escalation rules the jobs share."""

import datetime
import smtplib
import threading
import time
import uuid

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from isms import notify
from isms.models import Notification, SentReminder, User
from isms.notify import STALE_CLAIM, Message, deadline_stage, is_escalation_due, send_once
from training.tasks import remind_acknowledgements

from .factories import password_hash
from .reminder_helpers import (
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


class BrokenBackend(BaseEmailBackend):
    """A mail server that refuses everything."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("connection refused")


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
    with transaction.atomic():
        SentReminder.objects.create(
            recipient=first, subject="test:1", stage="opened", run=uuid.uuid4()
        )
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
        SentReminder.objects.create(
            recipient=second, subject="test:1", stage="opened", run=uuid.uuid4()
        )
    thread.join(timeout=30)
    assert "error" not in outcome, outcome
    assert outcome["sent"] == 0  # both were claimed by the first worker


# --- a worker killed mid-run ---------------------------------------------------------------


def claim_left_by_a_dead_run(user, subject, stage, age):
    claim = SentReminder.objects.create(
        recipient=user, subject=subject, stage=stage, run=uuid.uuid4()
    )
    SentReminder.objects.filter(pk=claim.pk).update(claimed_at=timezone.now() - age)
    return claim


@pytest.mark.parametrize(
    ("age", "taken_over"),
    [
        (STALE_CLAIM + datetime.timedelta(minutes=1), True),
        (STALE_CLAIM - datetime.timedelta(minutes=5), False),
        (datetime.timedelta(seconds=0), False),
    ],
)
def test_a_claim_left_unsent_is_taken_over_once_it_is_stale(people, mailoutbox, age, taken_over):
    staff, chief = people["staff"], people["chief"]
    claim = claim_left_by_a_dead_run(staff, "test:1", "opened", age)

    assert send_once([message(staff), message(chief)]) == (2 if taken_over else 1)

    expected = {"chief_joho": ["情報セキュリティ研修"]}
    if taken_over:
        expected["staff_joho"] = ["情報セキュリティ研修"]
    assert mail_by_username(mailoutbox) == expected
    assert set(notes_by_username()) == set(expected)
    row = SentReminder.objects.get(recipient=staff, subject="test:1", stage="opened")
    assert (row.sent_at is not None) == taken_over
    assert (row.pk == claim.pk) != taken_over
    assert send_once([message(staff), message(chief)]) == 0


def test_a_sweep_takes_over_what_a_killed_worker_claimed(documents, people, standard, mailoutbox):
    campaign = standard.campaign
    subject = f"campaign:{campaign.pk}"
    today = campaign.deadline - datetime.timedelta(days=20)
    # The worker died after claiming these two, before sending: one an hour ago, one just now
    # (that one may still be on its way).
    claim_left_by_a_dead_run(people["staff"], subject, "opened", STALE_CLAIM * 2)
    claim_left_by_a_dead_run(people["staff_somuka"], subject, "opened", datetime.timedelta())

    remind_acknowledgements(today=today)

    ack_mail = {
        name: [s for s in subjects if s == "【確認依頼】対策基準"]
        for name, subjects in mail_by_username(mailoutbox).items()
    }
    assert ack_mail["staff_joho"] == ["【確認依頼】対策基準"]
    assert ack_mail.get("staff_somuka", []) == []
    assert SentReminder.objects.get(
        recipient=people["staff_somuka"], subject=subject, stage="opened"
    ).sent_at is None


# --- the mail server fails -----------------------------------------------------------------


def test_a_mail_failure_sends_nothing_and_the_next_run_sends_everything(
    people, mailoutbox, settings
):
    staff, chief = people["staff"], people["chief"]
    locmem = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "tests.test_reminder_ledger.BrokenBackend"
    with pytest.raises(smtplib.SMTPException):
        send_once([message(staff), message(chief)])
    assert mailoutbox == []
    assert Notification.objects.count() == 0
    # The claims are given back, so nothing counts as sent...
    assert not SentReminder.objects.exists()

    # ...and the very next run, a minute later with the mail server back, sends it all.
    settings.EMAIL_BACKEND = locmem
    assert send_once([message(staff), message(chief)]) == 2
    assert mail_by_username(mailoutbox) == {
        "staff_joho": ["情報セキュリティ研修"],
        "chief_joho": ["情報セキュリティ研修"],
    }
    assert Notification.objects.count() == 2
    assert send_once([message(staff), message(chief)]) == 0
    assert len(mail.outbox) == 2


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


def test_queries_and_connections_grow_with_batches_not_with_people(crowd, monkeypatch):
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
        return len(queries), len(connections)

    one_small_batch = cost(crowd[:10], 10, "batch:1")
    one_large_batch = cost(crowd[:90], 90, "batch:2")
    two_batches = cost(crowd[:60], 30, "batch:3")
    three_batches = cost(crowd[:90], 30, "batch:4")

    assert one_large_batch == one_small_batch
    assert one_small_batch[1] == 1 and two_batches[1] == 2 and three_batches[1] == 3
    per_batch = two_batches[0] - one_small_batch[0]
    assert 0 < per_batch <= 8
    assert three_batches[0] - two_batches[0] == per_batch


# --- stages and escalation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_before_deadline", "stage"),
    [(30, "opened"), (8, "opened"), (7, "due_soon"), (1, "due_soon"), (0, "due_soon"),
     (-1, "overdue"), (-30, "overdue")],
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


@pytest.mark.parametrize(("days_late", "due"), [(-1, False), (0, False), (6, False), (7, True),
                                                (30, True)])
def test_escalation_starts_escalation_after_days_past_the_deadline(days_late, due):
    deadline = datetime.date(2025, 12, 1)
    assert is_escalation_due(deadline, deadline + datetime.timedelta(days=days_late)) is due
