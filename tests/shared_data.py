"""The city, its personas and its documents, built once per test database and committed,
rather than once per test.

Building them costs about 300 queries, and on a PostgreSQL server that runs without
autovacuum (as the CI machine's does) every row a rolled-back test inserted stays behind as
a dead row that later queries wade through. So they are built and committed the first time
a test asks for them, and each test gets fresh model instances of them (tests/conftest.py's
`org`, `people` and `documents` fixtures), its changes rolled back as before.

What a test finds in the database, judged from the fixtures it uses (`level_of`):

- MIGRATED (it uses the database, but not `org`): the database as the migrations left it,
  with the catalogue of assets.0002 and nothing else;
- PEOPLE (`org` or `people`): plus the organisation and the personas;
- DOCUMENTS (`documents`): plus the three documents, published through the workflow.

A test that asks for one of them only at run time (request.getfixturevalue), which
`level_of` cannot see, has it built inside its own transaction, as before.

`order_items` runs the tests of each level together, in that order, so the committed data
only grows while a test process runs. A test that needs less than is committed, the first
test of a process, and the first test after a transactional test (which empties every table
when it ends, TransactionTestCase's flush) have the database brought back to MIGRATED by
`reset_database`, the one place that empties it, and built up again.

Each test process (one per pytest-xdist worker, each with its own database) keeps its own
state; `prepare` also vacuums the tables that rolled-back tests filled with dead rows.
"""

import datetime
import importlib

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from isms import policy_actions
from isms.models import Department, PolicyDocument, Role, User
from isms.roles import assign_role

from .factories import DepartmentFactory, DocumentFactory, UserFactory

MIGRATED, PEOPLE, DOCUMENTS = 0, 1, 2

# key of the `org` fixture -> (code, name, kind, parent key, sort order)
ORGANISATION = {
    "mayor": ("mayor", "市長事務部局", "body", None, 1),
    "somu": ("somu", "総務部", "department", "mayor", 0),
    "joho": ("joho", "情報政策課", "section", "somu", 1),
    "somuka": ("somuka", "総務課", "section", "somu", 2),
    "board": ("board", "教育委員会", "body", None, 2),
    "kyoiku": ("kyoiku", "教育部", "department", "board", 0),
    "gakko": ("gakko", "学校教育課", "section", "kyoiku", 0),
    "kansa_body": ("kansa", "監査事務局", "body", None, 3),
    "kansa": ("kansa-ka", "監査課", "section", "kansa_body", 0),
}

# key of the `people` fixture -> (username, section key, (role, department key or None)...)
PERSONAS = {
    "staff": ("staff_joho", "joho"),
    "staff_somuka": ("staff_somuka", "somuka"),
    "chief": ("chief_joho", "joho", (Role.SECTION_CHIEF, "joho")),
    "head": ("head_somu", "somu", (Role.DEPARTMENT_HEAD, "somu")),
    "other_head": ("head_kyoiku", "kyoiku", (Role.DEPARTMENT_HEAD, "kyoiku")),
    "other_staff": ("staff_kyoiku", "gakko"),
    "auditor": ("auditor", "kansa", (Role.AUDITOR, None)),
    "ciso": ("ciso", "mayor", (Role.CISO, None)),
    "admin": ("admin", "joho", (Role.PROGRAMME_ADMIN, None)),
}

# key of the `documents` fixture -> code
DOCUMENT_CODES = {"basic": "basic-policy", "standard": "standard", "procedure": "procedure"}


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


# Building ---------------------------------------------------------------------------------


def build_people():
    org = {}
    for key, (code, name, kind, parent, sort_order) in ORGANISATION.items():
        org[key] = DepartmentFactory(
            code=code, name=name, kind=kind, parent=org.get(parent), sort_order=sort_order
        )
    for username, section, *roles in PERSONAS.values():
        user = UserFactory(username=username, section=org[section])
        for role, department in roles:
            assign_role(user, role, org[department] if department else None)


def build_documents():
    org = fetch_org()
    people = fetch_people(org)
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


BUILDERS = {PEOPLE: build_people, DOCUMENTS: build_documents}


# Fresh instances for each test -------------------------------------------------------------


def fetch_org():
    by_code = {d.code: d for d in Department.objects.filter(code__in=_org_codes())}
    if len(by_code) < len(ORGANISATION):
        # Asked for at run time (request.getfixturevalue), which `level_of` cannot see: built
        # inside this test's transaction, as before, and rolled back with it.
        build_people()
        return fetch_org()
    org = {key: by_code[code] for key, (code, *_) in ORGANISATION.items()}
    for key, (_code, _name, _kind, parent, _order) in ORGANISATION.items():
        # Each department's `parent` the very instance in `org`, as when the test built the
        # organisation itself (and as many queries as then).
        if parent:
            org[key].parent = org[parent]
    return org


def fetch_people(org):
    usernames = [username for username, *_ in PERSONAS.values()]
    by_username = {u.username: u for u in User.objects.filter(username__in=usernames)}
    people = {}
    for key, (username, section, *_) in PERSONAS.items():
        user = by_username[username]
        # The same instance as org[section], as when the test built the person itself.
        user.section = org[section]
        people[key] = user
    return people


def fetch_documents():
    by_code = {d.code: d for d in PolicyDocument.objects.filter(code__in=DOCUMENT_CODES.values())}
    if len(by_code) < len(DOCUMENT_CODES):
        build_documents()  # asked for at run time: see fetch_org
        return fetch_documents()
    return {key: by_code[code] for key, code in DOCUMENT_CODES.items()}


def _org_codes():
    return [code for code, *_ in ORGANISATION.values()]


# The state of this process's test database -------------------------------------------------

# None: not known (the first test of the process, or a transactional test has run since).
_level = None
_tests_since_vacuum = 0
_last_file = None
VACUUM_EVERY = 40  # tests; and whenever a new test file starts


def level_of(item):
    """The level a test needs (None: it does not use the database)."""
    names = set(item.fixturenames)
    if "documents" in names:
        return DOCUMENTS
    if "org" in names or "people" in names:
        return PEOPLE
    if is_transactional(item) or "db" in names or item.get_closest_marker("django_db"):
        return MIGRATED
    return None


def is_transactional(item):
    names = set(item.fixturenames)
    marker = item.get_closest_marker("django_db")
    return (
        "transactional_db" in names
        or "live_server" in names
        or bool(
            marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
        )
    )


def order_items(items):
    """Tests that need less committed data first (a stable sort: files keep their order)."""
    items.sort(key=lambda item: -1 if (level := level_of(item)) is None else level)


def prepare(item, django_db_blocker):
    """Bring the database to the level `item` needs. Runs before the test's database
    fixture opens the test's transaction (conftest.pytest_fixture_setup)."""
    global _level
    needed = level_of(item)
    if needed is None:
        return
    with django_db_blocker.unblock():
        assert not connection.in_atomic_block
        _vacuum_now_and_then(item)
        if _level is None or _level > needed:
            reset_database()
            _level = MIGRATED
        while _level < needed:
            with transaction.atomic():
                BUILDERS[_level + 1]()
            _level += 1
    if is_transactional(item):
        # TransactionTestCase empties every table when this test ends.
        _level = None


def reset_database():
    """Back to the database as migrated: every table emptied (as TransactionTestCase does at
    the end of a transactional test) unless nothing was committed, then the data the
    migrations load put back (the asset catalogue, the role rules, the incident categories
    and reporting obligations)."""
    from django.apps import apps

    from assets.models import NetworkTier

    if _anything_committed():
        call_command("flush", verbosity=0, interactive=False, allow_cascade=False)
    if not NetworkTier.objects.exists():
        importlib.import_module("assets.migrations.0002_catalogue").load(apps, None)
    from isms.models import RoleRule

    if not RoleRule.objects.exists():  # the rules isms 0013 seeds (部長, 課長)
        importlib.import_module("isms.migrations.0013_personnel").seed_role_rules(apps, None)
    from incidents.models import Category

    if not Category.objects.exists():  # the categories, authorities and rules incidents 0002 seeds
        importlib.import_module("incidents.migrations.0002_seed_categories_and_obligations").seed(
            apps, None
        )


def _anything_committed():
    """Whether a build (this run's or, with --reuse-db, an earlier run's) or an interrupted
    transactional test left rows behind. Tests that are not transactional leave nothing,
    transactional ones leave nothing at all once they end."""
    from guardian.conf import settings as guardian_settings

    from assets.models import Asset

    return (
        Department.objects.exists()
        or PolicyDocument.objects.exists()
        or Asset.objects.exists()
        or User.objects.exclude(username=guardian_settings.ANONYMOUS_USER_NAME).exists()
    )


def _vacuum_now_and_then(item):
    """VACUUM (ANALYZE) the tables that rolled-back tests filled with dead rows: with
    autovacuum off nothing else removes them, and a permission query that takes 2 ms on a
    clean table took 4 s after a few hundred tests. Only tables of this process's test
    database, with no change to the server's configuration."""
    global _tests_since_vacuum, _last_file
    _tests_since_vacuum += 1
    if connection.vendor != "postgresql":
        return
    if item.path == _last_file and _tests_since_vacuum < VACUUM_EVERY:
        return
    _last_file, _tests_since_vacuum = item.path, 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, relname FROM pg_stat_user_tables"
            " WHERE n_dead_tup > 1000 AND n_dead_tup > n_live_tup / 4"
        )
        tables = cursor.fetchall()
        for schema, table in tables:
            name = f"{connection.ops.quote_name(schema)}.{connection.ops.quote_name(table)}"
            cursor.execute(f"VACUUM (ANALYZE) {name}")
