"""The audit lists (findings, the inspections of the cycle list and of a cycle, and their
API) run a fixed number of queries however many findings there are, for a department
head, a section chief, an auditor and the CISO, and still show each of them only what
they may see.

The city of conftest.py; one self-inspection of 総務部 and 教育部 with the auditor assigned
to 総務部. Findings are spread evenly over the two departments."""

import json

import pytest
from django.db import connection
from django.utils import timezone

from audits import access, services
from audits.models import Finding

from .audit_helpers import open_cycle

SMALL, LARGE = 6, 600
# The most queries each list may run: the figures measured with the lists below (8, 9 and
# 11 for the head's pages, 4 and 2 for the API; the auditor and the CISO one fewer on the
# pages), with one to spare. A query per row would overshoot them by three hundred.
FINDING_LIST_PAGE_QUERIES = 9
CYCLE_LIST_PAGE_QUERIES = 10
CYCLE_PAGE_QUERIES = 12
FINDING_API_QUERIES = 5
INSPECTION_API_QUERIES = 3

# Which of the two departments' findings each persona sees.
SEES = {"head": {"somu"}, "chief": {"somu"}, "auditor": {"somu"}, "ciso": {"somu", "kyoiku"}}
PERSONAS = list(SEES)


@pytest.fixture
def cycle(org, people):
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    return cycle


@pytest.fixture
def fill(cycle, org, people):
    """fill(n) -> bulk-creates findings until the cycle holds n, half of each department."""

    def fill_to(n):
        start = Finding.objects.count()
        now = timezone.now()
        Finding.objects.bulk_create(
            Finding(
                cycle=cycle,
                department=org["somu"] if number % 2 == 0 else org["kyoiku"],
                area="assets",
                title=f"所見{number:04d}",
                severity="minor",
                description="機密性2の情報の持出しが記録されていない。",
                created_by=people["admin"],
                created_at=now,
            )
            for number in range(start, n)
        )
        assert Finding.objects.count() == n

    return fill_to


def seen(persona, n):
    return n if len(SEES[persona]) == 2 else n // 2


def measure(client, url, limit, django_assert_max_num_queries):
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(captured)


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_finding_list_runs_the_same_queries_for_6_and_600_findings(
    as_role, fill, persona, django_assert_max_num_queries
):
    client = as_role(persona)
    fill(SMALL)
    client.get("/audits/findings/")  # warm the per-process caches
    small, small_queries = measure(
        client, "/audits/findings/", FINDING_LIST_PAGE_QUERIES, django_assert_max_num_queries
    )
    assert small.context["page"].paginator.count == seen(persona, SMALL)
    fill(LARGE)
    large, large_queries = measure(
        client, "/audits/findings/", FINDING_LIST_PAGE_QUERIES, django_assert_max_num_queries
    )
    assert large.context["page"].paginator.count == seen(persona, LARGE)
    assert {f.department.code for f in large.context["page"]} == SEES[persona]
    assert len(large.context["page"]) == 50
    assert large_queries == small_queries


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_inspection_lists_run_the_same_queries_for_6_and_600_findings(
    as_role, fill, cycle, persona, django_assert_max_num_queries
):
    client = as_role(persona)
    pages = [
        ("/audits/", CYCLE_LIST_PAGE_QUERIES),
        (f"/audits/cycles/{cycle.pk}/", CYCLE_PAGE_QUERIES),
    ]
    fill(SMALL)
    for url, _ in pages:
        client.get(url)
    small = [measure(client, url, limit, django_assert_max_num_queries) for url, limit in pages]
    fill(LARGE)
    large = [measure(client, url, limit, django_assert_max_num_queries) for url, limit in pages]
    assert [queries for _, queries in large] == [queries for _, queries in small]
    for response, _ in large:
        shown = {i.department.code for i in response.context["inspections"]}
        assert shown == SEES[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_audit_api_lists_run_the_same_queries_for_6_and_600_findings(
    api_as, fill, persona, django_assert_max_num_queries
):
    client = api_as(persona)
    endpoints = [
        ("/api/findings/", FINDING_API_QUERIES),
        ("/api/inspections/", INSPECTION_API_QUERIES),
    ]
    fill(SMALL)
    for url, _ in endpoints:
        client.get(url)  # warm the per-process caches
    small = [measure(client, url, limit, django_assert_max_num_queries) for url, limit in endpoints]
    fill(LARGE)
    large = [measure(client, url, limit, django_assert_max_num_queries) for url, limit in endpoints]
    assert [queries for _, queries in large] == [queries for _, queries in small]
    findings, inspections = (response.json() for response, _ in large)
    assert findings["count"] == seen(persona, LARGE)
    assert inspections["count"] == len(SEES[persona])


def subplans(node):
    """Plan nodes that PostgreSQL runs as a subquery of another node (SubPlan), which it
    re-runs for every row once its estimates no longer let it hash the result."""
    found = [node] if node.get("Parent Relationship") == "SubPlan" else []
    for child in node.get("Plans", []):
        found += subplans(child)
    return found


@pytest.mark.parametrize("persona", ["head", "chief", "auditor"])
def test_who_sees_which_finding_or_inspection_is_planned_as_joins_not_subplans(
    people, fill, persona
):
    """On a PostgreSQL that never vacuums, an ORed or correlated permission subquery turned
    from a hashed SubPlan into one run per row and took seconds; a semi-join cannot."""
    fill(SMALL)
    user = people[persona]
    lists = [
        access.visible_findings(user).select_related("department", "cycle")[:50],
        access.visible_findings(user).order_by().values("pk"),
        access.visible_inspections(user).select_related("cycle", "department")[:100],
    ]
    for queryset in lists:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            (result,) = cursor.fetchone()
        (plan,) = json.loads(result) if isinstance(result, str) else result
        assert subplans(plan["Plan"]) == [], sql
