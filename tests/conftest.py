"""Personas shared by the tests, set up once per test (hc/test.py style).

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

import datetime
import importlib

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from isms import policy_actions
from isms.models import Role
from isms.roles import assign_role

from .browser import browser, documents_live, log_in, people_live  # noqa: F401 - fixtures
from .db_guards import flush_past_the_truncate_guard  # noqa: F401 - fixture (autouse)
from .factories import PASSWORD, DepartmentFactory, DocumentFactory, UserFactory
from .worker import worker  # noqa: F401 - fixture

__all__ = ["PASSWORD"]


@pytest.fixture
def org(db):
    mayor = DepartmentFactory(code="mayor", name="市長事務部局", kind="body", sort_order=1)
    somu = DepartmentFactory(code="somu", name="総務部", kind="department", parent=mayor)
    joho = DepartmentFactory(code="joho", name="情報政策課", parent=somu, sort_order=1)
    somuka = DepartmentFactory(code="somuka", name="総務課", parent=somu, sort_order=2)
    board = DepartmentFactory(code="board", name="教育委員会", kind="body", sort_order=2)
    kyoiku = DepartmentFactory(code="kyoiku", name="教育部", kind="department", parent=board)
    gakko = DepartmentFactory(code="gakko", name="学校教育課", parent=kyoiku)
    kansa_body = DepartmentFactory(code="kansa", name="監査事務局", kind="body", sort_order=3)
    kansa = DepartmentFactory(code="kansa-ka", name="監査課", parent=kansa_body)
    return {
        "mayor": mayor,
        "somu": somu,
        "joho": joho,
        "somuka": somuka,
        "board": board,
        "kyoiku": kyoiku,
        "gakko": gakko,
        "kansa_body": kansa_body,
        "kansa": kansa,
    }


@pytest.fixture
def people(org):
    def person(username, section, *roles):
        user = UserFactory(username=username, section=org[section])
        for role, department in roles:
            assign_role(user, role, org[department] if department else None)
        return user

    return {
        "staff": person("staff_joho", "joho"),
        "staff_somuka": person("staff_somuka", "somuka"),
        "chief": person("chief_joho", "joho", (Role.SECTION_CHIEF, "joho")),
        "head": person("head_somu", "somu", (Role.DEPARTMENT_HEAD, "somu")),
        "other_head": person("head_kyoiku", "kyoiku", (Role.DEPARTMENT_HEAD, "kyoiku")),
        "other_staff": person("staff_kyoiku", "gakko"),
        "auditor": person("auditor", "kansa", (Role.AUDITOR, None)),
        "ciso": person("ciso", "mayor", (Role.CISO, None)),
        "admin": person("admin", "joho", (Role.PROGRAMME_ADMIN, None)),
    }


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


def publish(document, *, author, approver, body, effective_date=None, material=True, deadline=None):
    """Take a revision through the whole workflow, as the CISO's office does."""
    revision = policy_actions.create_draft(
        document,
        by=author,
        body=body,
        effective_date=effective_date or timezone.localdate(),
        is_material=material,
        change_summary="テスト改定",
    )
    policy_actions.submit_for_review(revision, by=author)
    policy_actions.approve(revision, by=approver)
    return policy_actions.publish(revision, by=author, deadline=deadline)


@pytest.fixture
def documents(org, people):
    """The public basic policy, a staff-only standard with an open campaign, and a
    procedure for 総務部 only (with its own campaign)."""
    admin, ciso = people["admin"], people["ciso"]
    basic = DocumentFactory(
        code="basic-policy", title="基本方針", kind="basic_policy", audience="public"
    )
    publish(
        basic,
        author=admin,
        approver=ciso,
        body="## 1. 目的\n\n公開の基本方針",
        effective_date=datetime.date(2025, 4, 1),
        material=False,
    )
    standard = DocumentFactory(
        code="standard", title="対策基準", kind="standard", audience="all_staff"
    )
    publish(standard, author=admin, approver=ciso, body="## 第1章\n\n職員向けの基準")
    procedure = DocumentFactory(
        code="procedure", title="運用手順", kind="procedure", audience="departments"
    )
    procedure.audience_departments.add(org["somu"])
    publish(procedure, author=admin, approver=ciso, body="## 手順\n\n総務部だけの手順")
    return {"basic": basic, "standard": standard, "procedure": procedure}


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
    loads. Loaded again here because a transactional (browser) test empties every table."""
    from django.apps import apps

    importlib.import_module("assets.migrations.0002_catalogue").load(apps, None)
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
