"""The paths every member of staff takes each day, pinned near their floor (issue 13):
acknowledging in a handful of statements, the menu worked out from one read of the person's
roles, and the status page's people listed without counting or sorting the whole city.

The figures at the design size are in bench/ (ack_throughput.py, daily_pages.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from acknowledgements import services as acks
from acknowledgements.models import Acknowledgement
from isms.models import AuditEvent, Notification, PolicyRevision, User
from isms.tokens import issue_token

from .conftest import ROLES
from .factories import add_acknowledgements, add_staff
from .pages import page

# The statements of one acknowledgement, as the database runs them outside a test's own
# transaction (transaction=True below), where the service's transaction is BEGIN ... COMMIT
# rather than a savepoint. The page: the session, the person, the revision with its
# decision, BEGIN, the acknowledgement (whose trigger marks the reminders done), its audit
# event, COMMIT. The API: the token with its person instead of the first two.
ACKNOWLEDGE_STATEMENTS = 7


def statements(ctx):
    return [query["sql"] for query in ctx.captured_queries]


def summary(ctx):
    """The statements' beginnings, for a failure message that fits on a screen."""
    return "\n".join(sql[:90] for sql in statements(ctx))


def reads_of(ctx, table):
    """The statements that read `table` as their main table (not in a subquery)."""
    return [
        sql
        for sql in statements(ctx)
        if sql.startswith("SELECT") and sql.split(" FROM ", 1)[1].startswith(f'"{table}"')
    ]


@pytest.mark.django_db(transaction=True)
def test_acknowledging_on_the_page_takes_at_most_seven_statements(client, documents, people):
    standard = documents["standard"].current_revision()
    client.force_login(people["staff"])

    with CaptureQueriesContext(connection) as ctx:
        response = client.post(f"/acknowledgements/revisions/{standard.pk}/")

    ack = Acknowledgement.objects.get(user=people["staff"], revision=standard)
    assert response.status_code == 302
    assert response["Location"] == f"/acknowledgements/receipts/{ack.pk}/"
    assert len(ctx.captured_queries) <= ACKNOWLEDGE_STATEMENTS, summary(ctx)
    # No read of the acknowledgement before writing it: the unique constraint decides.
    assert not reads_of(ctx, "acknowledgements_acknowledgement")
    # No walk up the department tree, one query per level.
    assert not reads_of(ctx, "isms_department")
    event = AuditEvent.objects.get(action="revision.acknowledged", actor=people["staff"])
    assert event.data == {"sha256": standard.content_sha256, "acknowledgement": ack.pk}


@pytest.mark.django_db(transaction=True)
def test_acknowledging_through_the_api_takes_at_most_seven_statements(documents, people):
    standard = documents["standard"].current_revision()
    _token, key = issue_token(people["chief"], name="daily")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    api.get("/api/acknowledgements/pending/")  # the token's last use is written once a minute

    with CaptureQueriesContext(connection) as ctx:
        response = api.post("/api/acknowledgements/", {"revision": standard.pk}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["user"] == "chief_joho"
    assert len(ctx.captured_queries) <= ACKNOWLEDGE_STATEMENTS, summary(ctx)
    assert not reads_of(ctx, "acknowledgements_acknowledgement")
    assert Acknowledgement.objects.filter(user=people["chief"], revision=standard).count() == 1


def test_acknowledging_marks_the_reminders_done_in_the_same_step(as_role, standard, people):
    reminder = Notification.objects.create(
        recipient=people["staff"],
        kind="reminder",
        title="確認してください",
        task_key=f"ack:revision:{standard.pk}",
    )

    as_role("staff").post(f"/acknowledgements/revisions/{standard.pk}/")

    reminder.refresh_from_db()
    assert reminder.done_at is not None


def test_pressing_again_after_acknowledging_returns_the_same_receipt(as_role, standard, people):
    client = as_role("staff")
    first = client.post(f"/acknowledgements/revisions/{standard.pk}/")
    second = client.post(f"/acknowledgements/revisions/{standard.pk}/")

    assert first["Location"] == second["Location"]
    assert Acknowledgement.objects.filter(user=people["staff"], revision=standard).count() == 1
    assert AuditEvent.objects.filter(action="revision.acknowledged").count() == 1


def test_the_service_answers_an_id_as_it_answers_the_revision(standard, people):
    ack, created = acks.acknowledge(people["staff"], standard.pk)
    again, created_again = acks.acknowledge(people["staff"], standard)

    assert (created, created_again) == (True, False)
    assert again.pk == ack.pk
    assert again.user == people["staff"]


def test_an_id_that_does_not_exist_is_no_such_revision(people, db):
    with pytest.raises(acks.NoSuchRevision):
        acks.acknowledge(people["staff"], 999999)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"] + ["other_staff"])
def test_the_one_read_decides_as_the_pending_list_for_every_revision(documents, people, role):
    """revision_to_acknowledge() writes the audience decision in SQL of its own: it must
    agree with pending_campaigns() (the ORM's) for every person and every revision."""
    from isms import policy_actions

    person = people[role]
    acks.acknowledge(people["staff"], documents["standard"].current_revision())
    policy_actions.create_draft(documents["standard"], by=people["admin"])
    for revision in PolicyRevision.objects.all():
        found = acks.revision_to_acknowledge(person, revision.pk)
        acknowledged = Acknowledgement.objects.filter(user=person, revision=revision).exists()
        pending = acks.pending_campaigns(person).filter(revision=revision).exists()
        assert found.asks == (pending or acknowledged), revision
        assert (found.acknowledgement_id is not None) == acknowledged


# --- the menu: the person's roles read once -----------------------------------------------


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_the_menu_reads_the_persons_roles_once_per_page(as_role, documents, role):
    client = as_role(role)

    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/")

    assert response.status_code == 200
    assert len(reads_of(ctx, "isms_roleassignment")) == 1, statements(ctx)
    # Nothing of the audit programme or of the departments' grants is queried to decide
    # which links to show.
    assert not [sql for sql in statements(ctx) if "departmentuserobjectpermission" in sql]


@pytest.mark.parametrize(
    "role, audits, status, dashboard",
    [
        ("staff", False, False, False),
        ("chief", True, True, False),
        ("head", True, True, True),
        ("other_head", True, True, True),
        ("auditor", True, True, True),
        ("ciso", True, True, True),
        ("admin", True, True, True),
    ],
)
def test_the_menu_offers_each_role_its_links(as_role, documents, role, audits, status, dashboard):
    nav = page(as_role(role).get("/")).find("nav", cls="main-nav")
    hrefs = {a.attrs["href"] for a in nav.find_all("a")}

    assert ("/audits/" in hrefs) == audits
    assert ("/acknowledgements/status/" in hrefs) == status
    assert ("/dashboard/" in hrefs) == dashboard


def test_a_role_given_during_the_request_shows_its_links_at_once(org, people):
    from isms.models import Role
    from isms.roles import assign_role, oversees_any_department

    staff = User.objects.get(pk=people["staff"].pk)
    assert not oversees_any_department(staff)
    assign_role(staff, Role.SECTION_CHIEF, org["joho"])
    assert oversees_any_department(staff)


# --- the status page lists people a section at a time --------------------------------------


@pytest.fixture
def crowd(org, standard):
    """130 extra staff over four sections, every third one having acknowledged: more than
    two pages of fifty, with pages that begin and end inside a section."""
    users = add_staff(org, 130)
    add_acknowledgements(users, standard)
    return users


def listed(client, standard, query=""):
    """Every user name the status page lists, page after page, in order."""
    names, number = [], 1
    while True:
        response = client.get(f"/acknowledgements/status/{standard.pk}/?{query}&page={number}")
        assert response.status_code == 200
        dom = page(response)
        names += [tr.attrs["data-person"] for tr in dom.find_all("tr") if "data-person" in tr.attrs]
        pagination = dom.find("nav", cls="pagination")
        if pagination is None or not [a for a in pagination.find_all("a") if "→" in a.text]:
            return names
        number += 1


@pytest.mark.parametrize(
    "query", ["", "state=pending", "state=done", "section={joho}", "section={joho}&state=done"]
)
def test_the_pages_list_everyone_in_scope_once_in_the_order_of_sections(
    as_role, org, standard, crowd, people, query
):
    query = query.format(joho=org["joho"].pk)
    viewer = people["admin"]
    expected = acks.people_status(standard, viewer)
    if "state=pending" in query:
        expected = expected.filter(acknowledged_at__isnull=True)
    if "state=done" in query:
        expected = expected.filter(acknowledged_at__isnull=False)
    if "section" in query:
        expected = expected.filter(section=org["joho"])

    assert listed(as_role("admin"), standard, query) == [p.username for p in expected]


def test_a_head_pages_through_their_department_only(as_role, org, standard, crowd, people):
    names = listed(as_role("head"), standard)

    in_somu = User.objects.filter(section__parent=org["somu"]).values_list("username", flat=True)
    assert names and set(names) <= set(in_somu) | {people["head"].username}
    assert not [name for name in names if User.objects.get(username=name).section == org["gakko"]]


def test_a_page_beyond_the_last_shows_the_last_page(as_role, standard, crowd):
    client = as_role("admin")
    last = client.get(f"/acknowledgements/status/{standard.pk}/?page=999")

    assert last.status_code == 200
    assert last.context["page"].number == last.context["page"].paginator.num_pages


# --- the register's unit filter draws its own options --------------------------------------


@pytest.mark.parametrize("value", ["c", "y", None])
def test_the_quick_select_writes_what_djangos_select_writes(value):
    from django import forms

    from isms.forms import QuickSelect

    choices = [
        ("", "---------"),
        ("a&b", "A <b>"),
        ("c", "総務部"),
        ("G", [("x", "X"), ("y", "Y")]),
    ]
    attrs = {"id": "id_department", "required": True}

    django_html = forms.Select(choices=choices).render("department", value, attrs)
    quick_html = QuickSelect(choices=choices).render("department", value, attrs)

    assert quick_html == "".join(line.strip() for line in django_html.splitlines())
    assert quick_html.count(" selected") == 1


def test_the_register_offers_every_unit_in_its_filter(as_role, org):
    dom = page(as_role("chief").get("/assets/"))
    select = dom.find("select", name="department")

    codes = {option.attrs["value"] for option in select.find_all("option")}
    assert {"joho", "somu", "kyoiku"} <= codes
