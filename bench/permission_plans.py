#!/usr/bin/env python
"""The query plans of the lists filtered by who may see what, at the design size, on a
freshly analysed database and after the dead rows of a PostgreSQL that never vacuums.

Builds a throw-away PostgreSQL database with the organisation and findings of
bench/audit_lists.py (50 departments of 10 sections, one self-inspection cycle, 10,000
findings, a department head, a section chief of one of its sections and an auditor assigned
to five departments), 50,000 members of staff in the 500 sections, 100,000 assets spread
over them (the mix of bench/asset_register.py) and one published all-staff revision that
80 % of the staff have acknowledged. Then, for the head, the chief and the auditor, it runs
each list as the portal's code builds it (audits.access, assets.access, the
acknowledgement status functions), captures its SQL statements and prints
EXPLAIN (ANALYZE, BUFFERS) of each: planning and execution time, buffers, the SubPlans
(subqueries re-run per row) and whether JIT compiled it, with the plan's outline.

`--code DIR` runs the same against another checkout of the portal (its migrations and its
code, this script's helpers), e.g. main before a change:

    git worktree add --detach /tmp/before main
    .venv/bin/python bench/permission_plans.py --code /tmp/before

Not a test: pytest only collects tests/. See bench/README.md.
"""

import argparse
import importlib
import json
import random
import sys
import time
from pathlib import Path

import common
from common import (
    add_database_arguments,
    drop_database,
    portal_env,
    publish_all_staff_standard,
    stop_on_sigterm,
)

PERSONAS = ("head", "chief", "auditor")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--staff", type=int, default=50_000, help="members of staff (50000)")
    parser.add_argument("--assets", type=int, default=100_000, help="assets (100000)")
    parser.add_argument("--findings", type=int, default=10_000, help="findings (10000)")
    parser.add_argument("--departments", type=int, default=50, help="departments (50)")
    parser.add_argument("--sections", type=int, default=10, help="sections per department (10)")
    parser.add_argument(
        "--rollbacks",
        type=int,
        default=1000,
        help="rolled-back transactions before the second measurement (1000)",
    )
    parser.add_argument(
        "--statement-timeout", type=int, default=120, help="seconds per EXPLAIN ANALYZE (120)"
    )
    parser.add_argument("--code", default=None, help="the checkout whose code is measured")
    parser.add_argument("--plans", default=None, help="write the plans' outlines to this file")
    add_database_arguments(parser, "isms_bench_permissions")
    return parser.parse_args()


def first_module(*names):
    """The first of `names` that imports: the acknowledgement code has moved between apps."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError(f"none of {names}")


# --- the data ----------------------------------------------------------------------------


def populate(args):
    import audit_lists
    from asset_register import BASE_NAMES, weighted
    from django.utils import timezone

    from assets.models import Asset, ClassificationLevel, NetworkTier
    from isms.models import Department, User

    user_ids, _cycle_id = audit_lists.populate(args.findings, args.departments, args.sections)
    sections = list(Department.objects.filter(kind="section", code__startswith="bu"))
    User.objects.bulk_create(
        (
            User(
                username=f"staff{n:05d}",
                display_name=f"職員{n:05d}",
                section=sections[n % len(sections)],
                password="!",
            )
            for n in range(args.staff)
        ),
        batch_size=2000,
    )

    rng = random.Random(20250401)
    levels = {
        (level.axis, level.code): level
        for level in ClassificationLevel.objects.filter(scheme__is_active=True)
    }
    tiers = {tier.code: tier for tier in NetworkTier.objects.all()}

    def asset(n):
        kind, base = rng.choice(BASE_NAMES)
        c = weighted(rng, [("1", 50), ("2", 42), ("3", 8)])
        confidentiality = levels[("confidentiality", c)]
        return Asset(
            name=f"{base} {n:06d}",
            kind=kind,
            section=sections[rng.randrange(len(sections))],
            tier=tiers[weighted(rng, [("lgwan", 55), ("internet", 15), ("none", 30)])],
            confidentiality=confidentiality,
            # bulk_create does not call save(), which copies the rank.
            confidentiality_rank=confidentiality.rank,
            integrity=levels[("integrity", "1")],
            availability=levels[("availability", "1")],
        )

    Asset.objects.bulk_create((asset(n) for n in range(args.assets)), batch_size=2000)

    admin = User.objects.get(pk=user_ids["admin"])
    ciso = User.objects.get(pk=user_ids["ciso"])
    revision = publish_all_staff_standard(admin, ciso)
    models = first_module("acknowledgements.models", "training.models")
    staff = User.objects.filter(username__startswith="staff").order_by("pk")
    now = timezone.now()
    models.Acknowledgement.objects.bulk_create(
        (
            models.Acknowledgement(
                user_id=pk,
                revision=revision,
                content_sha256=revision.content_sha256,
                acknowledged_at=now,
            )
            for n, pk in enumerate(staff.values_list("pk", flat=True))
            if n % 5
        ),
        batch_size=2000,
    )
    return user_ids, revision.pk


def dead_closure_rows():
    """The ancestor rows that save() writes for the dead units, where the table exists."""
    from django.db import connection

    if "isms_departmentancestor" not in connection.introspection.table_names():
        return []
    return [
        """INSERT INTO isms_departmentancestor (unit_id, ancestor_id, depth)
           SELECT id, id, 0 FROM isms_department WHERE code LIKE 'dead-%'
           UNION ALL SELECT id, parent_id, 1 FROM isms_department
           WHERE code LIKE 'dead-%' AND parent_id IS NOT NULL"""
    ]


# --- the lists ---------------------------------------------------------------------------


def lists(user, revision):
    """{name: a callable that runs the list as its page does}."""
    from assets.access import visible_assets
    from audits.access import visible_findings, visible_inspections

    status = first_module(
        "acknowledgements.services", "acknowledgements.status", "training.acknowledgements"
    )
    findings = visible_findings(user).select_related("department", "cycle")
    findings = findings.order_by("-created_at", "-pk")
    inspections = visible_inspections(user).select_related("cycle", "department")
    inspections = inspections.order_by("-cycle__starts_on", "department__sort_order")
    assets = visible_assets(user).select_related("section", "confidentiality", "tier")
    assets = assets.order_by("section_id", "name", "pk")
    people = status.people_status(revision, user)
    return {
        "findings: count": lambda: findings.count(),
        "findings: first page": lambda: list(findings[:50]),
        "inspections: first 100": lambda: list(inspections[:100]),
        "assets: count": lambda: assets.count(),
        "assets: first page": lambda: list(assets[:50]),
        "status: by department": lambda: status.status_by_department(revision, user),
        "status: people count": lambda: people.count(),
        "status: people first page": lambda: list(people[:50]),
    }


def statements(run):
    """The SELECTs a list runs, as sent to PostgreSQL."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run()
    return [q["sql"] for q in captured if q["sql"].lstrip().upper().startswith("SELECT")]


def is_permission_query(sql):
    """Skip the few look-ups by primary key and of the person's global roles."""
    lowered = sql.lower()
    return (
        any(
            table in lowered
            for table in (
                "audits_finding",
                "audits_inspection",
                "assets_asset",
                "isms_user",
            )
        )
        and "limit 21" not in lowered
    )


def explain(sql, timeout):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL statement_timeout = {timeout * 1000}")
        try:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        except Exception as error:  # the timeout: reported, not fatal
            connection.rollback()
            return {"error": str(error).splitlines()[0]}
        (result,) = cursor.fetchone()
    (plan,) = json.loads(result) if isinstance(result, str) else result
    return plan


def walk(node, depth=0):
    yield depth, node
    for child in node.get("Plans", []):
        yield from walk(child, depth + 1)


def summary(plan):
    if "error" in plan:
        return {"error": plan["error"]}
    nodes = list(walk(plan["Plan"]))
    top = plan["Plan"]
    jit = plan.get("JIT", {})
    return {
        "nodes": len(nodes),
        "planning": plan.get("Planning Time", 0.0),
        "execution": plan.get("Execution Time", 0.0),
        "subplans": sum(1 for _, n in nodes if n.get("Parent Relationship") == "SubPlan"),
        "per_row": sum(
            1
            for _, n in nodes
            if n.get("Parent Relationship") == "SubPlan" and n.get("Actual Loops", 1) > 1
        ),
        "jit": jit.get("Functions", 0),
        "buffers": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
        "outline": [
            "  " * depth
            + n["Node Type"]
            + (f" on {n['Relation Name']}" if "Relation Name" in n else "")
            + (" (SubPlan)" if n.get("Parent Relationship") == "SubPlan" else "")
            + f"  rows={n.get('Plan Rows')}/{n.get('Actual Rows')} loops={n.get('Actual Loops')}"
            for depth, n in nodes
        ],
    }


def measure(user_ids, revision_id, timeout, state, out):
    from django.db import transaction

    from isms.models import PolicyRevision, User

    revision = PolicyRevision.objects.get(pk=revision_id)
    results = {}
    for persona in PERSONAS:
        user = User.objects.get(pk=user_ids[persona])
        for name, run in lists(user, revision).items():
            sqls = [s for s in statements(run) if is_permission_query(s)]
            for i, sql in enumerate(sqls, 1):
                label = name if len(sqls) == 1 else f"{name} #{i}"
                with transaction.atomic():
                    found = summary(explain(sql, timeout))
                # How often the person's permission rows are read, and the statement's size.
                found["grants"] = sql.lower().count("departmentuserobjectpermission")
                found["chars"] = len(sql)
                results[persona, label] = found
                print(f"=== {state}, {persona}: {label}", file=out)
                print(sql, file=out)
                keys = ("error", "planning", "execution", "subplans", "per_row", "jit", "nodes")
                for key in keys:
                    if key in found:
                        print(f"{key}: {found[key]}", file=out)
                print("\n".join(found.get("outline", [])), file=out)
                print(file=out, flush=True)
    return results


def report(results, args):
    print()
    print(
        f"{args.staff} staff, {args.assets} assets, {args.findings} findings; "
        f"{args.departments} departments of {args.sections} sections; "
        f"dead rows: {args.rollbacks} rolled-back transactions"
    )
    print(
        "EXPLAIN (ANALYZE, BUFFERS): planning + execution ms; b: shared buffers; sp: SubPlans"
        " (of which run per row); g: reads of the permission table in the SQL; n: plan nodes;"
        " JIT functions when compiled"
    )
    states = list(results)
    print(f"{'':<42}" + "".join(f"{state:>46}" for state in states))
    for key in results[states[0]]:
        line = f"{key[0]:<8}{key[1]:<34}"
        for state in states:
            f = results[state].get(key)
            if f is None:
                cell = "—"
            elif "error" in f:
                cell = f["error"][:44]
            else:
                cell = (
                    f"{f['planning']:.1f} + {f['execution']:.1f}  b={f['buffers']}"
                    f"  sp={f['subplans']}/{f['per_row']}  g={f['grants']}  n={f['nodes']}"
                    + (f"  jit={f['jit']}" if f["jit"] else "")
                )
            line += f"{cell:>46}"
        print(line)


def main():
    args = parse_args()
    stop_on_sigterm()
    if args.code:
        common.ROOT = Path(args.code).resolve()
    env = portal_env(f"{args.server}/{args.database}")
    common.use_in_process(env, allowed_hosts="testserver")
    out = open(args.plans, "w") if args.plans else open("/dev/null", "w")  # noqa: SIM115
    print(f"code {common.ROOT}; database {args.database}: creating, migrating ...")
    drop_database(args.server, args.database, create=True)
    results = {}
    try:
        common.migrate(env)
        import django

        django.setup()
        import audit_lists

        t0 = time.perf_counter()
        user_ids, revision_id = populate(args)
        common.vacuum_analyze()
        print(f"  built and analysed in {time.perf_counter() - t0:.1f} s", flush=True)
        results["fresh"] = measure(user_ids, revision_id, args.statement_timeout, "fresh", out)
        print(f"{args.rollbacks} rolled-back transactions ...", flush=True)
        t0 = time.perf_counter()
        audit_lists.leave_dead_rows(args.rollbacks, extra=dead_closure_rows())
        print(f"  in {time.perf_counter() - t0:.1f} s", flush=True)
        results["dead rows"] = measure(
            user_ids, revision_id, args.statement_timeout, "dead rows", out
        )
        from django.db import connections

        connections.close_all()
    finally:
        out.close()
        if not args.keep:
            drop_database(args.server, args.database)
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
