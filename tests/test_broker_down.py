"""Redis down: what people do in the portal still succeeds, at once and without an error
on the page; the task that could not be queued is logged, and the daily sweep, which
rebuilds its work from the database, sends what it would have sent.

Redis is both the Celery broker and the cache. The one user of the cache is the token
endpoint's rate limit, which counts in the worker's own memory while Redis is away
(isms/api/throttling.py); django-axes keeps its lockouts in PostgreSQL."""

import io
import logging
import re
import shutil
import socket
import subprocess
import time
from urllib.parse import urlsplit

import pytest
import redis
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.connection import Connection as RedisConnection
from rest_framework.test import APIClient

from acknowledgements.models import Acknowledgement, AcknowledgementCampaign
from acknowledgements.tasks import notify_campaign_opened, remind_acknowledgements
from assets.models import Asset
from isms import policy_actions
from isms.api import throttling
from isms.celery import app as celery_app
from isms.management.commands.seed_demo import DEMO_PASSWORD
from isms.models import ApiToken, RevisionStatus
from isms.tokens import key_hash

from .factories import PASSWORD, DocumentFactory
from .pages import is_login_redirect, links, messages, page
from .test_asset_import_export import csv_file, good_row

TOKEN_URL = "/api/auth/token/"
TOKEN_LIMIT = int(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"].split("/")[0])


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def use_cache_at(settings, url):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": django_settings.CACHES["default"].get("OPTIONS", {}),
        }
    }


@pytest.fixture
def redis_down(settings, monkeypatch):
    """The broker the portal queues to, and the cache, on a port nothing listens on.

    Yields the list of connection attempts made to Redis (one entry per TCP connect)."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    use_cache_at(settings, url)
    throttling.fallback_cache.clear()
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
        throttling.fallback_cache.clear()


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
            f"/manage/revisions/{approved_procedure.pk}/publish/",
            {"deadline": "", "confirmed": "yes"},
            follow=True,
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
    assert f"acknowledgements.tasks.notify_campaign_opened({campaign.pk},)" in failure.getMessage()
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


# --- signing in -------------------------------------------------------------------------


def test_logging_in_on_the_page_works_with_redis_down(redis_down, people, caplog):
    client = Client()
    response = client.post(reverse("login"), {"username": "staff_joho", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == people["staff"]
    assert_no_other_error(caplog)


def test_wrong_passwords_still_lock_an_account_out_with_redis_down(redis_down, people, caplog):
    """The lockout is kept in PostgreSQL: an attacker gains nothing by taking Redis down."""
    client = Client()
    for _attempt in range(django_settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("login"), {"username": "staff_joho", "password": "wrong"})
    assert response.status_code == 429
    right = client.post(reverse("login"), {"username": "staff_joho", "password": PASSWORD})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    attempt = AccessAttempt.objects.get(username="staff_joho")
    assert attempt.failures_since_start >= django_settings.AXES_FAILURE_LIMIT
    assert_no_other_error(caplog)


def test_a_token_is_issued_with_redis_down(redis_down, people, caplog):
    response = APIClient().post(TOKEN_URL, {"username": "staff_joho", "password": PASSWORD})
    assert response.status_code == 200, response.content
    assert key_hash(response.json()["token"]) == ApiToken.objects.get(user=people["staff"]).key_hash
    warnings = [r for r in caplog.records if "counting in this process" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert_no_other_error(caplog)


def test_the_token_endpoint_stays_throttled_with_redis_down(redis_down, db, caplog):
    api = APIClient()
    statuses = [
        api.post(TOKEN_URL, {"username": f"nobody{n}", "password": "x"}).status_code
        for n in range(TOKEN_LIMIT + 1)
    ]
    assert statuses == [400] * TOKEN_LIMIT + [429]
    assert_no_other_error(caplog)


@pytest.fixture
def own_redis(settings):
    """A redis-server of this test on a free port, used as the cache; kill() stops it as a
    crash would. The shared Redis of the machine is never touched."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    probe = redis.Redis.from_url(url, socket_connect_timeout=1)
    for _attempt in range(100):
        try:
            probe.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    use_cache_at(settings, url)
    throttling.fallback_cache.clear()
    server.probe = probe
    yield server
    if server.poll() is None:
        server.kill()
    server.wait(timeout=10)
    throttling.fallback_cache.clear()


def test_a_token_is_still_issued_after_redis_dies_with_connections_in_the_pool(
    own_redis, people, caplog
):
    api = APIClient()
    before = api.post(TOKEN_URL, {"username": "staff_joho", "password": PASSWORD})
    assert before.status_code == 200
    assert own_redis.probe.exists(cache.make_key("throttle_token_127.0.0.1"))  # in Redis

    own_redis.kill()
    own_redis.wait(timeout=10)

    after = api.post(TOKEN_URL, {"username": "staff_joho", "password": PASSWORD})
    assert after.status_code == 200, after.content
    # Each request issues a token of its own (README, "API tokens"): both are there.
    assert {key_hash(r.json()["token"]) for r in (before, after)} == set(
        ApiToken.objects.filter(user=people["staff"]).values_list("key_hash", flat=True)
    )
    assert_no_other_error(caplog)


# --- importing --------------------------------------------------------------------------


def test_importing_assets_on_the_page_succeeds_with_redis_down(
    redis_down, as_role, catalogue, people, caplog, django_capture_on_commit_callbacks
):
    upload = csv_file([good_row(name="庁内グループウェア"), good_row(name="文書管理システム")])
    with django_capture_on_commit_callbacks(execute=True):
        response = as_role("chief").post("/assets/import/", {"file": upload})
    assert response.status_code == 302
    # The broker cannot take the import job, so it ran when the upload committed; its
    # page (where the upload leads) says so.
    assert response["Location"].startswith("/imports/")
    response = as_role("chief").get(response["Location"])
    assert page(response).find(testid="import-job").attrs["data-status"] == "succeeded"
    assert sorted(Asset.objects.values_list("name", flat=True)) == [
        "庁内グループウェア",
        "文書管理システム",
    ]
    assert_no_other_error(caplog)


# --- every page of the demo -------------------------------------------------------------

DEMO_PERSONAS = [
    "admin",
    "ciso",
    "head.somu",
    "chief.joho",
    "staff.joho",
    "head.kyoiku",
    "staff.kyoiku",
    "auditor",
]


def portal_links(response):
    """The portal's own pages a page links to (no fragments, no other sites)."""
    found = []
    for href in links(response):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def kind_of_page(url):
    """/assets/12/ and /assets/13/?page=2 are the same kind of page: one of each is opened
    per persona, which keeps the walk to a few dozen requests each."""
    parts = urlsplit(url)
    keys = sorted({pair.split("=", 1)[0] for pair in parts.query.split("&") if pair})
    return re.sub(r"\d+", "N", parts.path), tuple(keys)


def is_page(response):
    return response.get("Content-Type", "").startswith("text/html")


def walk(client, username):
    """Open the home page, every page it links to (the navigation included), and one page of
    each kind that those link to; {url: response}. Every one must open (200)."""
    opened = {"/": client.get("/")}

    def open_page(url, depth):
        response = client.get(url, follow=True)
        opened[url] = response
        assert response.status_code == 200, (username, depth, url, response.status_code)
        assert not is_login_redirect(response, url), (username, url)

    linked_from_home = list(dict.fromkeys(portal_links(opened["/"])))
    assert "/notifications/" in linked_from_home  # the navigation is on the page
    for url in linked_from_home:
        if url not in opened:
            open_page(url, 1)
    kinds = {kind_of_page(url) for url in opened}
    for response in list(opened.values()):
        if not is_page(response):
            continue
        for url in portal_links(response):
            if kind_of_page(url) not in kinds:
                kinds.add(kind_of_page(url))
                open_page(url, 2)
    return opened


def test_every_page_of_the_demo_opens_for_every_demo_persona_with_redis_down(
    redis_down, db, caplog
):
    """Each demo persona logs in on the login page and walks the pages it is shown."""
    call_command("seed_demo", stdout=io.StringIO())
    for username in DEMO_PERSONAS:
        client = Client()
        login = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})
        assert login.status_code == 302, username
        opened = walk(client, username)
        assert len(opened) > 10, (username, sorted(opened))
    assert_no_other_error(caplog)
