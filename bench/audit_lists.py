#!/usr/bin/env python
"""How fast the audit lists answer at the design size, and whether their plans survive the
dead rows of a PostgreSQL that never vacuums.

Builds a throw-away PostgreSQL database with 50 departments of 10 sections (500 sections),
one self-inspection cycle over the 50 departments (50 inspections) and 10,000 findings in
it, a department head, a section chief, an auditor assigned to five departments and the
CISO. In this process (Django's test client, no gunicorn) it times the finding list page
(/audits/findings/), the cycle list and the cycle page that list the inspections
(/audits/, /audits/cycles/<id>/) and the API lists (/api/findings/, /api/inspections/) for
each of the four, counting the SQL statements of each request; and it prints
EXPLAIN ANALYZE of the finding and inspection list queries.

All of it twice: on the freshly analysed database ("fresh"), then after many rolled-back
transactions that insert departments, permissions, assignments, inspections and findings,
with no VACUUM and no ANALYZE in between ("dead rows") -- what a test suite leaves in a
PostgreSQL that runs with autovacuum off.

Exits non-zero unless every request answered 200 with what the persona may see (the
API's count equals the database's). The database is dropped in every case.

    .venv/bin/python bench/audit_lists.py            # see bench/README.md

Not a test: pytest only collects tests/.
"""

import argparse
import datetime
import random
import statistics
import sys
import time
import warnings

from common import (
    add_database_arguments,
    build_departments,
    drop_database,
    migrate,
    portal_env,
    stop_on_sigterm,
    use_in_process,
    vacuum_analyze,
)

PERSONAS = ("head", "chief", "auditor", "ciso")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=10_000, help="findings (10000)")
    parser.add_argument("--departments", type=int, default=50, help="departments (50)")
    parser.add_argument("--sections", type=int, default=10, help="sections per department (10)")
    parser.add_argument("--requests", type=int, default=30, help="requests per figure (30)")
    parser.add_argument(
        "--rollbacks",
        type=int,
        default=3000,
        help="rolled-back transactions before the second measurement (3000)",
    )
    add_database_arguments(parser, "isms_bench_audits")
    parser.add_argument("--no-explain", action="store_true", help="skip the plans")
    return parser.parse_args()


# --- the data ----------------------------------------------------------------------------


def populate(n_findings, n_departments, n_sections):
    """The organisation, the cycle, the findings and the four personas; returns their ids."""
    from django.db import connection
    from django.utils import timezone

    from audits.models import AuditorAssignment, Finding, Inspection
    from audits.services import open_cycle
    from audits.starter_checklist import load_starter_checklist
    from isms.models import Department, Role, User
    from isms.roles import assign_role

    rng = random.Random(20250401)
    body = Department.objects.create(code="mayor", name="市長事務部局", kind="body")
    audit_body = Department.objects.create(code="kansa", name="監査事務局", kind="body")
    audit_office = Department.objects.create(
        code="kansa-ka", name="監査課", kind="section", parent=audit_body
    )
    departments, sections = build_departments(body, n_departments, n_sections)
    middle = departments[len(departments) // 2]
    people = {
        "head": User.objects.create(username="bench_head", section=middle),
        "chief": User.objects.create(
            username="bench_chief", section=next(s for s in sections if s.parent_id == middle.pk)
        ),
        "auditor": User.objects.create(username="bench_auditor", section=audit_office),
        "ciso": User.objects.create(username="bench_ciso", section=audit_office),
        "admin": User.objects.create(username="bench_admin", section=audit_office),
    }
    assign_role(people["head"], Role.DEPARTMENT_HEAD, middle)
    assign_role(people["chief"], Role.SECTION_CHIEF, people["chief"].section)
    assign_role(people["auditor"], Role.AUDITOR)
    assign_role(people["ciso"], Role.CISO)
    assign_role(people["admin"], Role.PROGRAMME_ADMIN)

    today = timezone.localdate()
    cycle = open_cycle(
        by=people["admin"],
        departments=departments,
        name="令和7年度 自己点検",
        kind="self_inspection",
        fiscal_year=2025,
        checklist=load_starter_checklist(),
        starts_on=today,
        due_on=today + datetime.timedelta(days=60),
    )
    audited = departments[:5]
    AuditorAssignment.objects.bulk_create(
        AuditorAssignment(cycle=cycle, department=d, auditor=people["auditor"]) for d in audited
    )
    now = timezone.now()
    statuses = ["open"] * 5 + ["action_planned"] * 3 + ["closed"] * 2
    Finding.objects.bulk_create(
        (
            Finding(
                cycle=cycle,
                department=departments[n % len(departments)],
                area=rng.choice(["assets", "human", "technical", "operations", "physical"]),
                title=f"所見 {n:05d}",
                severity=rng.choice(["major", "minor", "minor", "observation"]),
                description="機密性2の情報の持出しが記録されていない。",
                status=rng.choice(statuses),
                needs_policy_review=rng.random() < 0.05,
                created_by=people["admin"],
            )
            for n in range(n_findings)
        ),
        batch_size=2000,
    )
    # created_at is auto_now_add: spread the findings over the year the cycle ran.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audits_finding SET created_at = %s - (id %% 365) * interval '1 day'"
            " - (id %% 1440) * interval '1 minute'",
            [now],
        )
    assert Inspection.objects.filter(cycle=cycle).count() == n_departments
    return {name: user.pk for name, user in people.items()}, cycle.pk


def leave_dead_rows(rounds, extra=()):
    """What a test suite does to these tables: each round inserts a small organisation,
    its permissions, a cycle with inspections, assignments and findings (and the
    statements `extra`), and rolls back. Nothing vacuums or analyses afterwards
    (autovacuum off)."""
    from django.db import connection

    inserts = [
        # A body, a department and two sections.
        """WITH b AS (INSERT INTO isms_department (code, name, name_en, kind, sort_order)
                      VALUES ('dead-b', 'x', '', 'body', 0) RETURNING id),
                d AS (INSERT INTO isms_department (code, name, name_en, kind, parent_id,
                      sort_order) SELECT 'dead-d', 'x', '', 'department', id, 0 FROM b
                      RETURNING id)
           INSERT INTO isms_department (code, name, name_en, kind, parent_id, sort_order)
           SELECT 'dead-s' || n, 'x', '', 'section', d.id, 0 FROM d, generate_series(1, 6) n""",
        # Permissions of a few people (the five of populate()) on departments that exist.
        """INSERT INTO isms_departmentuserobjectpermission (user_id, permission_id,
                  content_object_id)
           SELECT u.id, p.id, dep.id FROM (SELECT id FROM isms_user ORDER BY id LIMIT 5) u,
                  auth_permission p, (SELECT id FROM isms_department ORDER BY id LIMIT 6) dep
           WHERE p.codename IN ('view_compliance', 'manage_assets')
           ON CONFLICT DO NOTHING""",
        # A cycle over ten departments with its inspections, assignments and findings.
        """WITH c AS (INSERT INTO audits_cycle (name, kind, fiscal_year, checklist_id,
                      starts_on, due_on, created_by_id, created_at)
                      SELECT 'dead', 'self_inspection', 2025, id, now(), now(),
                             (SELECT min(id) FROM isms_user), now()
                      FROM audits_checklistversion LIMIT 1 RETURNING id),
                dep AS (SELECT id FROM isms_department WHERE kind = 'department'
                        ORDER BY id LIMIT 10),
                i AS (INSERT INTO audits_inspection (cycle_id, department_id, status,
                      returned_reason) SELECT c.id, dep.id, 'open', '' FROM c, dep),
                a AS (INSERT INTO audits_auditorassignment (cycle_id, department_id,
                      auditor_id) SELECT c.id, dep.id, (SELECT min(id) FROM isms_user)
                      FROM c, dep)
           INSERT INTO audits_finding (cycle_id, department_id, area, title, severity,
                  description, recommendation, status, needs_policy_review, created_by_id,
                  created_at)
           SELECT c.id, dep.id, 'assets', 'dead', 'minor', 'x', '', 'open', false,
                  (SELECT min(id) FROM isms_user), now()
           FROM c, dep, generate_series(1, 3)""",
        *extra,
    ]
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        for _ in range(rounds):
            cursor.execute("BEGIN")
            for statement in inserts:
                cursor.execute(statement)
            cursor.execute("ROLLBACK")


# --- the queries -------------------------------------------------------------------------


def list_queries(user):
    """The list queries whose plans matter: the finding list page's count and first page,
    the inspections of the cycle list, and the API's first page of findings."""
    from audits import access

    findings = (
        access.visible_findings(user)
        .select_related("department", "cycle")
        .order_by("-created_at", "-pk")
    )
    inspections = (
        access.visible_inspections(user)
        .select_related("cycle", "department")
        .order_by("-cycle__starts_on", "department__sort_order")
    )
    return {
        "finding list: count": findings.order_by().values("pk"),
        "finding list: first page": findings[:50],
        "inspections: first 100": inspections[:100],
    }


def explain(user_ids, state):
    from isms.models import User

    for persona in PERSONAS:
        user = User.objects.get(pk=user_ids[persona])
        for name, queryset in list_queries(user).items():
            plan = queryset.explain(analyze=True)
            print(f"\n=== {state}, {persona}: {name}")
            print(plan)


def plan_times(user_ids):
    """{(persona, query): (planning, execution) in ms} from EXPLAIN ANALYZE, best of three."""
    from isms.models import User

    def ms(plan, label):
        line = next(x for x in plan.splitlines() if x.startswith(label))
        return float(line.split(":")[1].split()[0])

    times = {}
    for persona in PERSONAS:
        user = User.objects.get(pk=user_ids[persona])
        for name, queryset in list_queries(user).items():
            plans = [queryset.explain(analyze=True) for _ in range(3)]
            times[persona, name] = (
                min(ms(plan, "Planning Time") for plan in plans),
                min(ms(plan, "Execution Time") for plan in plans),
            )
    return times


# --- measuring ---------------------------------------------------------------------------


def figures_for(user_ids, cycle_id):
    from audits import access
    from isms.models import User

    for persona in PERSONAS:
        user = User.objects.get(pk=user_ids[persona])
        findings = access.visible_findings(user).count()
        inspections = access.visible_inspections(user).count()
        yield persona, "page /audits/findings/", "/audits/findings/", None
        yield persona, "page /audits/", "/audits/", None
        yield persona, "page /audits/cycles/<id>/", f"/audits/cycles/{cycle_id}/", None
        yield persona, "API  /api/findings/", "/api/findings/", findings
        yield persona, "API  /api/inspections/", "/api/inspections/", inspections


def measure(user_ids, cycle_id, requests):
    """Each figure's requests in rounds (one request per figure per round), so that
    whatever else the machine does weighs on every figure alike."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from isms.models import User

    clients = {}
    for persona in PERSONAS:
        client = Client()
        client.force_login(User.objects.get(pk=user_ids[persona]))
        clients[persona] = client
    figures = [
        {"persona": p, "name": n, "path": path, "count": c, "ms": [], "sql": set(), "errors": []}
        for p, n, path, c in figures_for(user_ids, cycle_id)
    ]
    for round_ in range(requests + 1):
        for figure in figures:
            client = clients[figure["persona"]]
            # The log keeps 9,000 statements at most; a full one would count nothing.
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(figure["path"])
                took = time.perf_counter() - started
            if response.status_code != 200:
                figure["errors"].append(f"HTTP {response.status_code}")
            elif figure["count"] is not None and response.json()["count"] != figure["count"]:
                figure["errors"].append(f"count {response.json()['count']} != {figure['count']}")
            if round_:  # the first round warms the templates and caches up
                figure["ms"].append(took * 1000)
                figure["sql"].add(len(queries))
    return figures


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(results, plans, args):
    print()
    print(
        f"{args.findings} findings of {args.departments} departments "
        f"({args.departments * args.sections} sections), one cycle of {args.departments} "
        f"inspections; {args.requests} requests per line, in-process"
    )
    states = list(results)
    print()
    header = "".join(f"{state + ' p50/p95 ms':>24}{'SQL':>6}" for state in states)
    print(f"{'':<38}{header}")
    for i, figure in enumerate(results[states[0]]):
        line = f"{figure['persona']:<8}{figure['name']:<30}"
        for state in states:
            f = results[state][i]
            if f["ms"]:
                times = f"{statistics.median(f['ms']):.1f} / {percentile(f['ms'], 95):.1f}"
            else:
                times = "—"
            sql = "/".join(str(n) for n in sorted(f["sql"]))
            line += f"{times:>24}{sql:>6}"
        print(line)
        for state in states:
            if results[state][i]["errors"]:
                print(f"    {state} errors: {sorted(set(results[state][i]['errors']))[:5]}")
    print()
    print("EXPLAIN ANALYZE, best of three: planning + execution (ms)")
    print(f"{'':<38}" + "".join(f"{state:>22}" for state in plans))
    for key in plans[states[0]]:
        cells = "".join(f"{f'{plans[s][key][0]:.2f} + {plans[s][key][1]:.2f}':>22}" for s in plans)
        print(f"{key[0]:<8}{key[1]:<30}{cells}")


def main():
    args = parse_args()
    stop_on_sigterm()
    # The personas sign in with a password only: the second step that production asks of
    # heads, chiefs and auditors (MFA_ENABLED, isms.second_factor) is not what this measures.
    env = portal_env(f"{args.server}/{args.database}", MFA_ENABLED="0")
    # Django's test client talks to "testserver".
    use_in_process(env, allowed_hosts="testserver")

    print(f"database {args.database}: creating, migrating ...")
    drop_database(args.server, args.database, create=True)
    results, plans = {}, {}
    try:
        migrate(env)
        import django

        django.setup()
        from django.db import connections
        from django.test.utils import override_settings, setup_test_environment

        setup_test_environment()
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        t0 = time.perf_counter()
        user_ids, cycle_id = populate(args.findings, args.departments, args.sections)
        vacuum_analyze()
        print(f"  built and analysed in {time.perf_counter() - t0:.1f} s")
        # Pages render with plain static file names (no manifest: nothing is collected).
        storages = {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(STORAGES=storages):
            for state in ("fresh", "dead rows"):
                if state == "dead rows":
                    print(f"{args.rollbacks} rolled-back transactions ...", flush=True)
                    t0 = time.perf_counter()
                    leave_dead_rows(args.rollbacks)
                    print(f"  in {time.perf_counter() - t0:.1f} s")
                if not args.no_explain:
                    explain(user_ids, state)
                plans[state] = plan_times(user_ids)
                print(f"{state}: measuring ...", flush=True)
                results[state] = measure(user_ids, cycle_id, args.requests)
        connections.close_all()
    finally:
        if not args.keep:
            drop_database(args.server, args.database)

    report(results, plans, args)
    if any(f["errors"] for state in results.values() for f in state):
        print("FAILED: see above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
