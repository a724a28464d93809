"""Redis down: what people do in the portal still succeeds, at once and without an error
on the page; the task that could not be queued is logged, and the daily sweep, which
rebuilds its work from the database, sends what it would have sent."""

import logging
import socket

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.connection import Connection as RedisConnection

from isms import policy_actions
from isms.celery import app as celery_app
from isms.models import RevisionStatus
from training.models import Acknowledgement, AcknowledgementCampaign
from training.tasks import notify_campaign_opened, remind_acknowledgements

from .factories import DocumentFactory
from .pages import messages


@pytest.fixture
def redis_down(settings, monkeypatch):
    """The broker the portal queues to, and the cache, on a port nothing listens on.

    Yields the list of connection attempts made to Redis (one entry per TCP connect)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    attempts = []
    connect = RedisConnection._connect

    def counting_connect(connection):
        attempts.append((connection.host, connection.port))
        return connect(connection)

    monkeypatch.setattr(RedisConnection, "_connect", counting_connect)
    conf = celery_app.conf
    saved = {"broker_url": conf.broker_url, "task_always_eager": conf.task_always_eager}
    saved_pools = celery_app._pool, celery_app.amqp._producer_pool
    conf.broker_url = url
    conf.task_always_eager = False  # without REDIS_URL the tests run tasks inline
    celery_app._pool = celery_app.amqp._producer_pool = None
    try:
        yield attempts
    finally:
        for pool in (celery_app._pool, celery_app.amqp._producer_pool):
            if pool is not None:
                pool.force_close_all()
        for name, value in saved.items():
            setattr(conf, name, value)
        celery_app._pool, celery_app.amqp._producer_pool = saved_pools


def queueing_failures(caplog):
    return [r for r in caplog.records if r.getMessage().startswith("could not queue")]


def assert_no_other_error(caplog):
    """Nothing but the expected 'could not queue' went wrong."""
    others = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r not in queueing_failures(caplog)
    ]
    assert others == []


@pytest.fixture
def with_email(people):
    for person in people.values():
        person.email = f"{person.username}@city.example.jp"
        person.save(update_fields=["email"])
    return people


@pytest.fixture
def approved_procedure(org, people):
    """An approved material revision of a procedure for 総務部, never published before."""
    document = DocumentFactory(
        code="procedure", title="運用手順", kind="procedure", audience="departments"
    )
    document.audience_departments.add(org["somu"])
    revision = policy_actions.create_draft(
        document,
        by=people["admin"],
        body="## 手順\n\n総務部の手順",
        effective_date=timezone.localdate(),
        is_material=True,
        change_summary="制定",
    )
    policy_actions.submit_for_review(revision, by=people["admin"])
    return policy_actions.approve(revision, by=people["ciso"])


SOMU = ("staff", "staff_somuka", "chief", "head", "admin")  # the 総務部 audience


def test_a_dead_broker_is_reported_at_once_rather_than_waited_for(redis_down):
    conf = celery_app.conf
    # A broker that does not answer costs a page at most the connect timeout ...
    assert conf.broker_connection_timeout <= 2
    assert conf.broker_transport_options["socket_connect_timeout"] <= 2
    assert conf.broker_transport_options["socket_timeout"] <= 5
    broker = celery_app.connection_for_write()
    assert broker.connect_timeout <= 2
    assert broker.transport_options["socket_connect_timeout"] <= 2
    # ... and is tried once, not again and again: one connection attempt, then the error.
    with pytest.raises(OperationalError):
        notify_campaign_opened.apply_async(args=(1,), retry=False)
    assert len(redis_down) == 1


def test_acknowledging_on_the_page_succeeds_with_redis_down(
    redis_down, as_role, standard, people, caplog, django_capture_on_commit_callbacks
):
    client = as_role("staff")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/acknowledgements/revisions/{standard.pk}/", follow=True)
    ack = Acknowledgement.objects.get(user=people["staff"], revision=standard)
    assert response.status_code == 200
    assert response.redirect_chain == [(f"/acknowledgements/receipts/{ack.pk}/", 302)]
    assert [level for level, _text in messages(response)] == ["success"]
    assert_no_other_error(caplog)


def test_acknowledging_through_the_api_succeeds_with_redis_down(
    redis_down, api_as, standard, people, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as("staff").post(
            "/api/acknowledgements/", {"revision": standard.pk}, format="json"
        )
    assert response.status_code == 201, response.content
    assert Acknowledgement.objects.filter(user=people["staff"], revision=standard).count() == 1
    assert_no_other_error(caplog)


def test_publishing_succeeds_with_redis_down_and_the_sweep_sends_the_reminders_later(
    redis_down,
    as_role,
    approved_procedure,
    with_email,
    caplog,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    client = as_role("admin")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            f"/manage/revisions/{approved_procedure.pk}/publish/", {"deadline": ""}, follow=True
        )

    # What the programme admin sees: the revision page with "Published.", no error.
    assert response.status_code == 200
    assert response.redirect_chain == [(f"/manage/revisions/{approved_procedure.pk}/", 302)]
    assert [level for level, _text in messages(response)] == ["success"]
    approved_procedure.refresh_from_db()
    assert approved_procedure.status == RevisionStatus.PUBLISHED
    campaign = AcknowledgementCampaign.objects.get(revision=approved_procedure)

    # The opening notification was to be queued on commit: one attempt, failed, logged.
    assert len(callbacks) == 1
    assert len(redis_down) == 1
    [failure] = queueing_failures(caplog)
    assert failure.levelno == logging.ERROR
    assert failure.name == "isms.notify"
    assert f"training.tasks.notify_campaign_opened({campaign.pk},)" in failure.getMessage()
    assert isinstance(failure.exc_info[1], OperationalError)
    assert_no_other_error(caplog)
    assert mailoutbox == []

    # The daily sweep sends what the lost task would have: to 総務部, once.
    assert remind_acknowledgements() == len(SOMU)
    assert sorted(m.to[0] for m in mailoutbox) == sorted(with_email[p].email for p in SOMU)
    assert all(approved_procedure.title in m.subject for m in mailoutbox)
    assert remind_acknowledgements() == 0
    assert len(mailoutbox) == len(SOMU)


@pytest.mark.django_db(transaction=True)
def test_publishing_through_the_api_succeeds_with_redis_down_when_the_commit_is_real(
    redis_down, api_as, approved_procedure, caplog
):
    """Here the transaction really commits inside the request, so the failed queueing
    happens before the response is written, as in production."""
    response = api_as("admin").post(
        f"/api/revisions/{approved_procedure.pk}/publish/", {}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == RevisionStatus.PUBLISHED
    campaign = AcknowledgementCampaign.objects.get(revision=approved_procedure)
    [failure] = queueing_failures(caplog)
    assert failure.levelno == logging.ERROR
    assert f"notify_campaign_opened({campaign.pk},)" in failure.getMessage()
    assert len(redis_down) == 1
    assert_no_other_error(caplog)
