"""Personas shared by the tests: built once per test database and committed, fresh instances
for each test (tests/shared_data.py).

The city in every test:
  市長事務部局 (body)
    総務部 (department)  -- head: head_somu
      情報政策課 (section) -- chief: chief_joho; staff: staff_joho
      総務課 (section)     -- staff: staff_somuka
  教育委員会 (body)
    教育部 (department)  -- head: head_kyoiku (head of another department)
      学校教育課 (section) -- staff: staff_kyoiku
  監査事務局 / 監査課     -- auditor
  ciso, admin (programme admin) in 情報政策課
"""

import os

import pytest
from rest_framework.test import APIClient

from . import shared_data
from .accessibility_gate import pytest_runtest_call  # noqa: F401 - hook (the axe gate)
from .browser import (  # noqa: F401 - fixtures
    browser,
    documents_live,
    log_in,
    new_page,
    people_live,
)
from .db_guards import flush_past_the_truncate_guard  # noqa: F401 - fixture (autouse)
from .factories import PASSWORD
from .ldap_server import directory, directory_server  # noqa: F401 - fixtures
from .oidc_server import oidc_provider, oidc_settings  # noqa: F401 - fixtures
from .s3_server import s3_evidence_store, s3_server  # noqa: F401 - fixtures
from .shared_data import publish
from .worker import worker  # noqa: F401 - fixture

__all__ = ["PASSWORD", "publish"]


# The shared data (tests/shared_data.py) -------------------------------------------------


# tryfirst: before pytest-django's own reordering (tryfirst too, and registered earlier, so
# it runs after this one), a stable sort that keeps this order within its classes; and
# before pytest-xdist reads the groups.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if shared_data.is_transactional(item):
            # The tests that commit for real (browser, real Celery worker, racing requests)
            # run one after the other in one pytest-xdist worker: they are the heaviest,
            # and each empties its database when it ends.
            item.add_marker(pytest.mark.xdist_group("live"))
    shared_data.order_items(items)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    # Just before pytest-django's database fixture opens the test's transaction (or, for a
    # transactional test, lets it commit): the committed shared data this test needs.
    if fixturedef.argname == "_django_db_helper":
        shared_data.prepare(request.node, request.getfixturevalue("django_db_blocker"))
    return (yield)


@pytest.fixture
def org(db):
    """The organisation, as fresh instances of the committed shared rows."""
    return shared_data.fetch_org()


@pytest.fixture
def people(org):
    """The personas (see the top of this file), fresh instances, each person's `section`
    the very instance in `org`."""
    return shared_data.fetch_people(org)


# Every persona, and the anonymous visitor, for parametrised access tests.
ROLES = ["anonymous", "staff", "chief", "head", "other_head", "auditor", "ciso", "admin"]


@pytest.fixture
def as_role(client, people):
    """as_role("head") -> a test client logged in as that persona (or anonymous)."""

    def login(role):
        client.logout()
        if role != "anonymous":
            client.force_login(people[role])
        return client

    return login


@pytest.fixture
def documents(org, people):
    """The public basic policy, a staff-only standard with an open campaign, and a
    procedure for 総務部 only (with its own campaign), fresh instances."""
    return shared_data.fetch_documents()


@pytest.fixture
def standard(documents):
    """The revision of the all-staff standard in force, with its open campaign."""
    return documents["standard"].current_revision()


@pytest.fixture
def procedure(documents):
    """The revision of the 総務部 procedure in force, with its own campaign."""
    return documents["procedure"].current_revision()


@pytest.fixture
def api_as(people):
    """api_as("head") -> a DRF test client authenticated as that persona (or anonymous)."""

    def make(role):
        client = APIClient()
        if role != "anonymous":
            client.force_authenticate(people[role])
        return client

    return make


@pytest.fixture
def catalogue(db):
    """The classification schemes, handling rules and tiers that migration assets.0002
    loads (put back by tests/shared_data.py after a test that empties the tables)."""
    from assets.models import ClassificationLevel, NetworkTier

    levels = {
        (lvl.axis, lvl.code): lvl
        for lvl in ClassificationLevel.objects.filter(scheme__is_active=True)
    }
    return {"levels": levels, "tiers": {t.code: t for t in NetworkTier.objects.all()}}


@pytest.fixture
def make_asset(catalogue, org):
    """make_asset("joho", c="2", tier="lgwan", name=...) -> an asset of that section."""
    from assets.models import Asset

    def make(section, *, c="1", i="1", a="1", tier="lgwan", **fields):
        levels = catalogue["levels"]
        fields.setdefault("name", f"{section}-C{c}-{tier}")
        fields.setdefault("kind", "system")
        return Asset.objects.create(
            section=org[section],
            confidentiality=levels[("confidentiality", c)],
            integrity=levels[("integrity", i)],
            availability=levels[("availability", a)],
            tier=catalogue["tiers"][tier],
            **fields,
        )

    return make


@pytest.fixture
def register(make_asset, people):
    """A small register: a confidential and a public asset in 情報政策課 (総務部), a secret
    one in 総務課 (総務部), and a confidential one in 学校教育課 (教育部)."""
    return {
        "joho_confidential": make_asset("joho", c="2", name="庁内グループウェア"),
        "joho_public": make_asset("joho", c="1", tier="internet", name="市ホームページ"),
        "somuka_secret": make_asset("somuka", c="3", tier="none", name="人事評価記録"),
        "gakko_confidential": make_asset("gakko", c="2", name="成績処理システム"),
    }


@pytest.fixture(autouse=True, scope="session")
def private_cache(worker_id):
    """Each test process (each pytest-xdist worker) keeps its cache entries, such as the
    throttles' counters, apart from the others' in the shared Redis."""
    from django.conf import settings
    from django.test import override_settings

    caches = {
        alias: {**options, "KEY_PREFIX": f"isms-tests-{worker_id}-{os.getpid()}"}
        for alias, options in settings.CACHES.items()
    }
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(autouse=True, scope="session")
def private_task_queue():
    """Tasks queued by tests that really commit (browser and transactional tests) go to a
    queue of this run, removed at the end, never to the shared default queue that a real
    worker would consume."""
    import uuid

    from django.conf import settings

    from isms.celery import app

    queue = f"isms-tests-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    yield queue
    app.conf.task_default_queue = previous
    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).delete(queue)
