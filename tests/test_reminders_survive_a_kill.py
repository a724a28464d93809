"""Reminders survive a killed worker: a real Celery worker on the real Redis sends the
opening reminder of a 3,000-person acknowledgement campaign through a real SMTP server on
loopback (aiosmtpd, in this process) that counts the mail each address receives. Three
times during the sweep the worker is killed with SIGKILL and started again; the broker
hands the unfinished sweep to the new worker (acks_late, a short visibility timeout), which
takes over the dead run's claims at once. In the end everyone has the notification in the
portal exactly once and the mail at least once, and no more mail went out twice than there
were kills.

Each kill comes at the worst moment: the mail server has the message but the worker has
not yet heard "250 OK", so it cannot have stamped it sent."""

import os
import signal
import socket
import threading
import uuid
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db.models import Count

from acknowledgements.tasks import remind_acknowledgements
from isms.celery import app as celery_app
from isms.models import Notification, Role, SentReminder, User
from isms.roles import assign_role

from .conftest import publish
from .factories import DepartmentFactory, DocumentFactory, UserFactory
from .worker import Worker

needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="needs the real Redis (bin/test sets it)"
)

STAFF = 3000
KILL_AFTER = (300, 1200, 2400)  # mails received by the server


class CountingMailServer:
    """An aiosmtpd handler that counts messages per recipient and, when the total reaches
    one of `kill_after`, calls on_kill_point() before answering the worker."""

    def __init__(self, kill_after, on_kill_point):
        self.received = Counter()
        self.total = 0
        self.kill_after = set(kill_after)
        self.on_kill_point = on_kill_point

    async def handle_DATA(self, server, session, envelope):
        self.received.update(envelope.rcpt_tos)
        self.total += 1
        if self.total in self.kill_after:
            self.on_kill_point(self.total)
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def campaign(transactional_db):
    """An all-staff standard just published (its opening reminder not yet sent), then
    3,000 members of staff with an address, none of whom has acknowledged it."""
    city = DepartmentFactory(code="mayor", name="市長事務部局", kind="body")
    section = DepartmentFactory(code="joho", name="情報政策課", parent=city)
    admin = UserFactory(username="admin", section=section)
    ciso = UserFactory(username="ciso", section=section)
    assign_role(admin, Role.PROGRAMME_ADMIN)
    assign_role(ciso, Role.CISO)
    document = DocumentFactory(
        code="standard", title="対策基準", kind="standard", audience="all_staff"
    )
    # The opening notification queued on commit goes to the session's private queue, which
    # no worker reads: the sweep below is the one that sends.
    revision = publish(document, author=admin, approver=ciso, body="## 第1章\n\n基準")
    User.objects.bulk_create(
        User(
            username=f"staff{n:04d}",
            email=f"staff{n:04d}@city.example.jp",
            section=section,
            password="!",
        )
        for n in range(STAFF)
    )
    return revision.campaign


@pytest.fixture
def private_queue():
    queue = f"isms-kill-test-{uuid.uuid4().hex[:8]}"
    yield queue
    with celery_app.connection_for_write() as broker:
        broker.default_channel.client.delete(queue, f"_kombu.binding.{queue}")


@pytest.mark.parametrize(
    "task",
    [
        "acknowledgements.tasks.remind_acknowledgements",
        "acknowledgements.tasks.notify_campaign_opened",
        # The names the acknowledgement jobs had before they left the training app.
        "training.tasks.remind_acknowledgements",
        "training.tasks.notify_campaign_opened",
        "training.tasks.remind_training",
        "training.tasks.notify_course_published",
        "audits.tasks.remind_corrective_actions",
        "audits.tasks.remind_self_inspections",
        "assets.tasks.remind_asset_reviews",
        "isms.tasks.weekly_summary",
    ],
)
def test_every_reminder_job_is_acknowledged_when_done_and_queued_again_if_its_worker_dies(task):
    # A prefork worker whose child is killed requeues the task at once (reject_on_worker_lost);
    # a worker killed whole leaves it unacknowledged for the broker to hand on (acks_late).
    celery_app.loader.import_default_modules()
    job = celery_app.tasks[task]
    assert job.acks_late is True
    assert job.reject_on_worker_lost is True


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_sweep_killed_three_times_reminds_everyone_and_repeats_at_most_one_mail_per_kill(
    campaign, private_queue, tmp_path
):
    kill_points = []
    killed = threading.Event()
    workers = []

    def kill_worker(total):
        os.kill(workers[-1].process.pid, signal.SIGKILL)
        kill_points.append(total)
        killed.set()

    server = CountingMailServer(KILL_AFTER, kill_worker)
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    env = {
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        # The broker gives a dead worker's task to the next worker after one second
        # (production: 15 minutes).
        "CELERY_VISIBILITY_TIMEOUT": "1",
    }

    def start_worker():
        workers.append(Worker(private_queue, tmp_path, env=env))

    try:
        start_worker()
        sweep = remind_acknowledgements.apply_async(queue=private_queue)
        for _kill in KILL_AFTER:
            assert killed.wait(60), f"no kill point reached:\n{workers[-1].output}"
            killed.clear()
            workers[-1].kill()
            # Nothing re-queues the sweep: the broker hands it to the restarted worker.
            start_worker()
        workers[-1].result_of(
            "acknowledgements.tasks.remind_acknowledgements", sweep.id, timeout=60
        )
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.stop()
        controller.stop()

    assert kill_points == list(KILL_AFTER)
    subject = f"campaign:{campaign.pk}"
    audience = campaign.revision.document.audience_members()
    addresses = set(audience.exclude(email="").values_list("email", flat=True))
    assert len(addresses) == STAFF
    # By mail: everyone at least once, nobody else, and at most one repeat per kill.
    assert set(server.received) == addresses
    repeats = sum(count - 1 for count in server.received.values())
    assert repeats <= len(KILL_AFTER), server.received.most_common(5)
    # In the portal: everyone in the audience (those without an address too) exactly once.
    per_person = Counter(
        dict(
            Notification.objects.filter(kind="acknowledgement.opened")
            .values_list("recipient")
            .annotate(n=Count("pk"))
        )
    )
    assert set(per_person) == set(audience.values_list("pk", flat=True))
    assert set(per_person.values()) == {1}
    # And the ledger says it is all done.
    assert not SentReminder.objects.filter(subject=subject, sent_at__isnull=True).exists()
