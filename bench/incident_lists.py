#!/usr/bin/env python
"""How fast the incident pages answer at the design size, and whether their SQL stays
bounded as the incidents and their timelines grow.

Builds a throw-away PostgreSQL database with 50 departments of 10 sections (500 sections),
20,000 incidents over the last two years (most of them triaged, with a category and a
severity; the reporting obligations their triage calls for, with their report stages) and
10 timeline entries each (200,000), one incident with a long timeline, and five people: a
member of the CSIRT, the head of one department, the CISO, an auditor and a member of
staff with a few reports of their own. In this process (Django's test client, no gunicorn)
it times, for each person as applicable, the incident list (/incidents/: unfiltered,
filtered by status, severity and department, page 2 and the last page), an incident's page
(one with a long timeline, one with an ordinary one), the dashboard (/dashboard/) and the
API list (/api/incidents/, filtered), counting the SQL statements of each request; and it
prints EXPLAIN ANALYZE of the CSIRT's and the head's list queries (pages and API).

Exits non-zero unless every request answered 200 with what the person may see (the list's
and the API's count equal what the database holds for that person, the incident's page
lists its timeline, the dashboard counts the incidents in its scope). The database is
dropped in every case unless --keep is given.

    .venv/bin/python bench/incident_lists.py            # see bench/README.md

Not a test: pytest only collects tests/.
"""

import argparse
import datetime
import os
import random
import shlex
import statistics
import subprocess
import sys
import time
import warnings

from common import (
    ROOT,
    add_database_arguments,
    build_departments,
    drop_database,
    migrate,
    portal_env,
    stop_on_sigterm,
    use_in_process,
    vacuum_analyze,
)

BATCH = 5000
PAGE_SIZE = 50  # incidents.views.incident_list and the API's PAGE_SIZE
SLOW_MS = 300  # a p95 above this is flagged in the table


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=20_000, help="incidents (20000)")
    parser.add_argument(
        "--entries-per-incident", type=int, default=10, help="timeline entries of each (10)"
    )
    parser.add_argument(
        "--busy-entries",
        type=int,
        default=300,
        help="timeline entries of the one incident with a long timeline (300)",
    )
    parser.add_argument("--departments", type=int, default=50, help="departments (50)")
    parser.add_argument("--sections", type=int, default=10, help="sections per department (10)")
    parser.add_argument("--days", type=int, default=730, help="the incidents span these days (730)")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per figure (30)")
    parser.add_argument("--no-api", action="store_true", help="leave /api/incidents/ out")
    parser.add_argument("--no-explain", action="store_true", help="skip the plans")
    add_database_arguments(parser, "isms_bench_incidents")
    args = parser.parse_args()
    if args.incidents < 10 or args.entries_per_incident < 3 or args.requests < 1:
        parser.error("at least 10 incidents, 3 entries per incident and 1 request")
    return args


# --- the data ----------------------------------------------------------------------------


def weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


SEVERITIES = [("low", 50), ("medium", 35), ("high", 12), ("critical", 3)]
CATEGORIES = [
    ("mistake", 45),
    ("rule-violation", 20),
    ("cyber-attack", 12),
    ("defect", 10),
    ("infrastructure", 6),
    ("insider-fraud", 3),
    ("disaster", 2),
    ("pandemic", 2),
]
TITLES = [
    "USBメモリの紛失",
    "メールの誤送信",
    "不審なメールの添付ファイルを開いた",
    "FAXの誤送信",
    "書類の誤廃棄",
    "業務端末のウイルス検知",
    "無許可ソフトウェアの使用",
    "外部からの不正アクセスの試み",
    "ファイルサーバの障害",
    "停電による業務システムの停止",
]
ENTRY_TEXTS = {
    "action": "端末をネットワークから切り離し、ログを保全した。",
    "communication": "所属長と情報政策課に状況を連絡した。関係者への説明を調整中。",
    "decision": "影響範囲の調査を優先し、復旧は調査完了後とすることとした。",
    "detection": "追加の不審な通信をプロキシのログで確認した。",
}


def status_for(age_days, rng):
    """Recent incidents are still being handled; older ones are mostly closed."""
    if age_days < 3:
        pairs = [("reported", 40), ("triaged", 30), ("contained", 20), ("dismissed", 10)]
    elif age_days < 30:
        pairs = [
            ("triaged", 10),
            ("contained", 15),
            ("eradicated", 15),
            ("recovered", 15),
            ("reviewed", 5),
            ("closed", 35),
            ("dismissed", 5),
        ]
    else:
        pairs = [("closed", 90), ("dismissed", 7), ("recovered", 2), ("reviewed", 1)]
    return weighted(rng, pairs)


def make_incident(rng, *, reported_at, now, unit, reporter, owner, categories, status=None):
    from incidents.models import Incident

    age_days = (now - reported_at).days
    status = status or status_for(age_days, rng)
    # Half the false alarms are dismissed at once, untriaged.
    triaged = status != "reported" and not (status == "dismissed" and rng.random() < 0.5)
    personal = rng.random() < 0.2
    incident = Incident(
        title=f"{rng.choice(TITLES)}（{unit.name}）",
        description="発生状況と対応の概要。" * 5,
        occurred_at=reported_at - datetime.timedelta(minutes=rng.randint(5, 600)),
        department=unit,
        location="庁舎内",
        personal_data=personal,
        my_number=personal and rng.random() < 0.15,
        reported_by_id=reporter,
        reported_at=reported_at,
        status=status,
        detected_at=reported_at if triaged else None,
    )
    if triaged:
        incident.category_id = categories[weighted(rng, CATEGORIES)]
        incident.severity = weighted(rng, SEVERITIES)
        incident.owner_id = owner
        incident.triaged_at = min(now, reported_at + datetime.timedelta(hours=rng.randint(1, 30)))
        incident.affected_people = rng.randint(1, 500) if personal else None
    if status in ("closed", "dismissed"):
        end = reported_at + datetime.timedelta(days=rng.randint(1, 40) if triaged else 1)
        incident.closed_at = min(now, end)
    if status == "dismissed":
        incident.dismissed_reason = "誤検知であった。"
    return incident


def timeline_of(incident, count, *, handler, now, rng):
    """`count` entries from the report to the end of the handling: the report, the
    triage, the work, the moves through the workflow."""
    from incidents.models import TimelineEntry

    end = incident.closed_at or now
    start = incident.reported_at
    step = (end - start) / max(1, count)
    kinds = ["detection"]
    if incident.triaged_at is not None:
        kinds.append("status")
    middle = count - len(kinds) - (1 if incident.status not in ("reported", "triaged") else 0)
    kinds += [rng.choice(list(ENTRY_TEXTS)) for _ in range(max(0, middle))]
    kinds += ["status"] * (count - len(kinds))
    for n, kind in enumerate(kinds[:count]):
        yield TimelineEntry(
            incident_id=incident.pk,
            kind=kind,
            text=(
                incident.description
                if n == 0
                else "ステータスを更新した。"
                if kind == "status"
                else ENTRY_TEXTS[kind]
            ),
            author_id=incident.reported_by_id if n == 0 else handler,
            created_at=min(now, start + step * n),
        )


def add_obligations(incidents, now, rng):
    """The obligations the incidents' triage calls for (incidents.services.match_obligations,
    in bulk), decided and sent for the closed incidents, with their clocks running for the
    open ones."""
    from incidents.models import Obligation, ObligationRule, ObligationStage
    from incidents.services import rule_matches

    rules = list(
        ObligationRule.objects.filter(active=True).prefetch_related("categories", "stages")
    )
    rule_categories = {rule.pk: {c.pk for c in rule.categories.all()} for rule in rules}
    pairs = []
    for incident in incidents:
        if incident.triaged_at is None:
            continue
        for rule in rules:
            if rule_matches(rule, incident, rule_categories[rule.pk]):
                pairs.append((incident, rule))
    obligations = []
    for incident, rule in pairs:
        done = incident.status in ("closed", "dismissed")
        decision = "assessed"
        if done:
            decision = "required" if rng.random() < 0.7 else "not_required"
        obligations.append(
            Obligation(
                incident=incident,
                rule=rule,
                decision=decision,
                reason="影響が限定的であり報告の対象外と判断した。"
                if decision == "not_required"
                else "",
                decided_at=incident.closed_at if done else None,
            )
        )
    Obligation.objects.bulk_create(obligations, batch_size=BATCH)
    stages = []
    for obligation, (incident, rule) in zip(obligations, pairs, strict=True):
        for stage in rule.stages.all():
            sent = obligation.decision == "required"
            due = incident.triaged_at + datetime.timedelta(days=stage.days)
            stages.append(
                ObligationStage(
                    obligation=obligation,
                    stage_rule=stage,
                    name=stage.name,
                    due_at=None if stage.count_from == "previous" and not sent else due,
                    status="acknowledged" if sent else "pending",
                    sent_at=min(now, due) if sent else None,
                    acknowledged_at=min(now, due) if sent else None,
                )
            )
    ObligationStage.objects.bulk_create(stages, batch_size=BATCH)
    return len(obligations), len(stages)


def populate(args):
    """The city, the incidents with their timelines and obligations, and the five people;
    returns {name: id} of the people and of the incidents the pages open."""
    from django.db import connection, transaction
    from django.utils import timezone

    from incidents.models import Category, Contact, Incident, TimelineEntry
    from isms.models import Department, Role, User
    from isms.roles import assign_role

    rng = random.Random(20261208)
    body = Department.objects.create(code="mayor", name="市長事務部局", kind="body")
    departments, sections = build_departments(body, args.departments, args.sections, BATCH)
    head_department = departments[len(departments) // 2]
    head_sections = [s for s in sections if s.parent_id == head_department.pk]
    # The CISO's office and the CSIRT sit in the first section, as 情報政策課 does.
    office = sections[0]

    def person(username, name, section):
        return User.objects.create(
            username=username, display_name=name, section=section, password="!"
        )

    people = {
        "csirt": person("bench_csirt", "対応 花子", office),
        "ciso": person("bench_ciso", "最高 責任者", office),
        "auditor": person("bench_auditor", "監査 次郎", office),
        # A head is posted to the department itself (部長), not to one of its sections.
        "head": person("bench_head", "部長 太郎", head_department),
        "staff": person("bench_staff", "職員 一郎", head_sections[0]),
    }
    assign_role(people["csirt"], Role.CSIRT)
    assign_role(people["ciso"], Role.CISO)
    assign_role(people["auditor"], Role.AUDITOR)
    assign_role(people["head"], Role.DEPARTMENT_HEAD, head_department)
    # Whoever reports: one member of staff per section.
    reporters = User.objects.bulk_create(
        (
            User(
                username=f"staff{n:04d}",
                display_name=f"職員{n:04d}",
                section=section,
                password="!",
            )
            for n, section in enumerate(sections)
        ),
        batch_size=BATCH,
    )
    reporter_of = {r.section_id: r.pk for r in reporters}
    Contact.objects.bulk_create(
        [
            Contact(order=1, duty="CSIRT責任者", person=people["ciso"], phone="内線1000"),
            Contact(order=2, duty="CSIRT窓口", person=people["csirt"], phone="内線1001"),
        ]
    )

    categories = dict(Category.objects.values_list("code", "pk"))
    csirt = people["csirt"].pk
    now = timezone.now()
    span = args.days * 86400
    # Oldest first, so that ids follow time as they do when people report.
    offsets = sorted((rng.random() * span for _ in range(args.incidents)), reverse=True)
    incidents = []
    for offset in offsets:
        section = rng.choice(sections)
        incidents.append(
            make_incident(
                rng,
                reported_at=now - datetime.timedelta(seconds=offset),
                now=now,
                # Most reports name a section; a tenth name the department itself.
                unit=section if rng.random() < 0.9 else section.parent,
                reporter=reporter_of[section.pk],
                owner=csirt,
                categories=categories,
            )
        )
    # The member of staff's own reports (two not triaged yet), and the incident with the
    # long timeline: open, serious, in the head's department.
    staff_statuses = ["reported", "reported", "triaged", "contained", "closed"]
    for n, status in enumerate(staff_statuses):
        incidents.append(
            make_incident(
                rng,
                reported_at=now - datetime.timedelta(days=20 - 4 * n),
                now=now,
                unit=head_sections[0],
                reporter=people["staff"].pk,
                owner=csirt,
                categories=categories,
                status=status,
            )
        )
    busy = make_incident(
        rng,
        reported_at=now - datetime.timedelta(days=12),
        now=now,
        unit=head_sections[-1],
        reporter=reporter_of[head_sections[-1].pk],
        owner=csirt,
        categories=categories,
        status="contained",
    )
    busy.severity, busy.personal_data, busy.affected_people = "high", True, 1200
    incidents.append(busy)
    incidents.sort(key=lambda i: i.reported_at)
    Incident.objects.bulk_create(incidents, batch_size=BATCH)
    obligations, stages = add_obligations(incidents, now, rng)

    def entries():
        for incident in incidents:
            count = args.busy_entries if incident is busy else args.entries_per_incident
            yield from timeline_of(incident, count, handler=csirt, now=now, rng=rng)

    # The timeline's insert trigger writes the database's clock into created_at; it is
    # bypassed for this one transaction (session_replication_role, as the superuser the
    # benchmark connects as) so that the entries lie in the past, after their report.
    entry_count = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        batch = []
        for entry in entries():
            batch.append(entry)
            if len(batch) == BATCH:
                TimelineEntry.objects.bulk_create(batch)
                entry_count += len(batch)
                batch = []
        if batch:
            TimelineEntry.objects.bulk_create(batch)
            entry_count += len(batch)

    # An ordinary timeline beside the long one: in the same department and, if there is
    # one, in the same state, so that the two pages differ by their timelines only.
    others = [
        i
        for i in reversed(incidents)
        if i.department_id in {s.pk for s in head_sections}
        and i.triaged_at is not None
        and i.reported_by_id != people["staff"].pk
        and i is not busy
    ]
    ordinary = next((i for i in others if i.status == busy.status), others[0])
    own = next(
        i for i in incidents if i.reported_by_id == people["staff"].pk and i.status == "contained"
    )
    ids = {name: user.pk for name, user in people.items()}
    ids.update(
        busy=busy.pk,
        ordinary=ordinary.pk,
        own=own.pk,
        head_department=head_department.pk,
    )
    sizes = {
        "incidents": len(incidents),
        "timeline entries": entry_count,
        "obligations": obligations,
        "report stages": stages,
        "sections": len(sections),
        "departments": len(departments),
    }
    return ids, sizes


# --- what each person may see, independently of incidents.access -----------------------


def expected_incidents(persona, ids):
    """The incidents the person may list, written out here rather than taken from
    incidents.access, so that a page that shows too much or too little is caught."""
    from incidents.models import Incident

    if persona in ("csirt", "ciso", "auditor"):
        return Incident.objects.all()
    if persona == "head":
        return in_department(Incident.objects.filter(triaged_at__isnull=False), ids)
    return Incident.objects.filter(reported_by_id=ids["staff"])


def in_department(queryset, ids):
    """The incidents of the head's department: the department itself and its sections (a
    department has no deeper units here)."""
    from django.db.models import Q

    department = ids["head_department"]
    return queryset.filter(Q(department_id=department) | Q(department__parent_id=department))


# --- the figures -------------------------------------------------------------------------

LIST_STATUS = "triaged"  # the CSIRT's queue: triaged, not contained yet
API_QUERY = "status=closed&severity=high"


def figures_for(ids, args):
    """(persona, label, path, check) for each figure; `check(response)` returns an error
    message or None."""
    from incidents.models import TimelineEntry

    def list_check(expected, page=1):
        count = expected.count()

        def check(response):
            if "page" not in (response.context or {}):
                return "no incident list in the page"
            shown = response.context["page"]
            if shown.paginator.count != count:
                return f"count {shown.paginator.count} != {count}"
            rows = min(PAGE_SIZE, max(0, count - (page - 1) * PAGE_SIZE))
            if shown.number != page or len(shown.object_list) != rows:
                return f"page {shown.number} with {len(shown.object_list)} rows"
            return None

        return check

    def api_check(expected, handling):
        count = expected.count()

        def check(response):
            body = response.json()
            if body["count"] != count:
                return f"count {body['count']} != {count}"
            shown = [row["handling"] is not None for row in body["results"]]
            if any(shown) and handling == "none":
                return "handling shown to someone who does not read it"
            if not all(shown) and handling == "all":
                return "handling missing"
            return None

        return check

    def detail_check(incident_id, details):
        entries = TimelineEntry.objects.filter(incident_id=incident_id)
        if not details:
            entries = entries.filter(kind="status")
        count = entries.count()

        def check(response):
            timeline = list(response.context["timeline"])
            if len(timeline) != count:
                return f"{len(timeline)} timeline entries shown, {count} expected"
            if response.context["details"] != details:
                return f"details {response.context['details']}, expected {details}"
            return None

        return check

    def dashboard_check(expected):
        counts = {
            "incidents-category": expected.filter(
                triaged_at__isnull=False, category__isnull=False
            ).count(),
            "incidents-department": expected.filter(triaged_at__isnull=False).count(),
        }

        def check(response):
            charts = {c.chart.key: c.data for c in response.context["charts"]}
            for key, count in counts.items():
                if key not in charts:
                    return f"no chart {key}"
                total = sum(row.value for row in charts[key].rows)
                if total != count:
                    return f"{key}: {total} incidents, {count} expected"
            if "incidents-month" not in charts:
                return "no chart incidents-month"
            return None

        return check

    department = ids["head_department"]
    for persona in ("csirt", "head", "ciso", "auditor"):
        seen = expected_incidents(persona, ids)
        full = persona in ("csirt", "head")
        last = max(1, -(-seen.count() // PAGE_SIZE))
        yield persona, "page list", "/incidents/", list_check(seen)
        if full:
            yield (
                persona,
                f"page ?status={LIST_STATUS}",
                f"/incidents/?status={LIST_STATUS}",
                list_check(seen.filter(status=LIST_STATUS)),
            )
            yield (
                persona,
                "page ?severity=high",
                "/incidents/?severity=high",
                list_check(seen.filter(severity="high")),
            )
            yield (
                persona,
                "page ?department=<head's>",
                f"/incidents/?department={department}",
                list_check(in_department(seen, ids)),
            )
            yield persona, "page ?page=2", "/incidents/?page=2", list_check(seen, min(2, last))
        if persona != "ciso":
            yield (
                persona,
                f"page ?page={last} (last)",
                f"/incidents/?page={last}",
                list_check(seen, last),
            )
        if persona != "ciso":
            yield (
                persona,
                f"incident ({args.busy_entries} entries)",
                f"/incidents/{ids['busy']}/",
                detail_check(ids["busy"], True),
            )
        if full:
            yield (
                persona,
                f"incident ({args.entries_per_incident} entries)",
                f"/incidents/{ids['ordinary']}/",
                detail_check(ids["ordinary"], True),
            )
        # The CSIRT has no dashboard (isms.roles.can_see_dashboard: the citywide readers
        # and the heads).
        if persona != "csirt":
            yield persona, "dashboard", "/dashboard/", dashboard_check(seen)
        if not args.no_api:
            filtered = seen.filter(status="closed", severity="high")
            yield (
                persona,
                "API ?" + API_QUERY,
                f"/api/incidents/?{API_QUERY}",
                api_check(filtered, "all"),
            )
    staff = expected_incidents("staff", ids)
    yield "staff", "page list (own reports)", "/incidents/", list_check(staff)
    yield (
        "staff",
        "incident (own report)",
        f"/incidents/{ids['own']}/",
        detail_check(ids["own"], False),
    )
    if not args.no_api:
        yield "staff", "API (own reports)", "/api/incidents/", api_check(staff, "none")


def clients_for(ids):
    from django.test import Client

    from isms.models import User

    clients = {}
    for persona in ("csirt", "head", "ciso", "auditor", "staff"):
        client = Client()
        client.force_login(User.objects.get(pk=ids[persona]))
        clients[persona] = client
    return clients


class FullCollections:
    """Python's full garbage collections (generation 2) while a request runs: each walks
    every object of the process (about 180,000 here) and took 90-150 ms on the 2-core
    machine, and it lands on whichever request is running."""

    def __init__(self):
        self.count, self.ms, self._started = 0, 0.0, None

    def __call__(self, phase, info):
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.count += 1
            self.ms += (time.perf_counter() - self._started) * 1000


def measure(figures, clients, requests):
    """Each figure's requests in rounds (one request per figure per round), so that
    whatever else the machine does weighs on every figure alike; the first round warms the
    templates and caches up and is not timed. The order within a round is shuffled: in a
    fixed order the full garbage collections, which come every so many allocations, fell
    on the same one or two figures in every round and doubled their median."""
    import gc

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(20261208)
    results = [
        {
            "persona": p,
            "label": label,
            "path": path,
            "check": check,
            "ms": [],
            "sql": set(),
            "sql_ms": [],
            "gc": 0,
            "errors": [],
        }
        for p, label, path, check in figures
    ]
    collections = FullCollections()
    gc.callbacks.append(collections)
    try:
        for round_ in range(requests + 1):
            for figure in rng.sample(results, len(results)):
                client = clients[figure["persona"]]
                # The log keeps 9,000 statements at most; a full one would count nothing.
                connection.queries_log.clear()
                before = collections.count
                try:
                    with CaptureQueriesContext(connection) as queries:
                        started = time.perf_counter()
                        response = client.get(figure["path"])
                        took = time.perf_counter() - started
                except Exception as error:  # a view that raises: recorded, not fatal
                    figure["errors"].append(f"{type(error).__name__}: {error}"[:200])
                    continue
                if response.status_code != 200:
                    figure["errors"].append(f"HTTP {response.status_code}")
                    continue
                if round_ <= 1:  # the checks read the database: not in every round
                    problem = figure["check"](response)
                    if problem:
                        figure["errors"].append(problem)
                if round_:
                    figure["ms"].append(took * 1000)
                    figure["sql"].add(len(queries))
                    # Django logs each statement's time to the millisecond.
                    figure["sql_ms"].append(sum(float(q["time"]) for q in queries) * 1000)
                    figure["gc"] += collections.count - before
            if not round_:  # the warm-up round is not counted
                collections.count, collections.ms = 0, 0.0
    finally:
        gc.callbacks.remove(collections)
    return results, collections


# --- the plans ---------------------------------------------------------------------------

EXPLAINED = [
    ("csirt", "list", "/incidents/"),
    ("csirt", f"list ?status={LIST_STATUS}", f"/incidents/?status={LIST_STATUS}"),
    ("csirt", "list ?department", "/incidents/?department={department}"),
    ("csirt", "list, last page", "/incidents/?page={csirt_last}"),
    ("head", "list", "/incidents/"),
    ("head", "list ?severity=high", "/incidents/?severity=high"),
    ("head", "list, last page", "/incidents/?page={head_last}"),
    ("csirt", "API ?" + API_QUERY, "/api/incidents/?" + API_QUERY),
    ("head", "API ?" + API_QUERY, "/api/incidents/?" + API_QUERY),
]


def list_statements(client, path):
    """The statements of one request that read the incidents table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT")
        and 'FROM "incidents_incident"' in q["sql"]
    ]


def explain(clients, ids, show, api):
    """EXPLAIN ANALYZE of the incident queries the list pages and the API send (the
    paginator's count and the page's rows): the plan once if `show`, and the best of three
    timings, taken without per-node timing (whose clock calls inflate a plan that visits
    20,000 rows)."""
    from django.db import connection

    seen = {p: expected_incidents(p, ids).count() for p in ("csirt", "head")}
    values = {
        "department": ids["head_department"],
        "csirt_last": max(1, -(-seen["csirt"] // PAGE_SIZE)),
        "head_last": max(1, -(-seen["head"] // PAGE_SIZE)),
    }
    times = []

    def plan(options, sql):
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN ({options}) {sql}")
            return "\n".join(row[0] for row in cursor.fetchall())

    for persona, label, path in EXPLAINED:
        if "/api/" in path and not api:
            continue
        path = path.format(**values)
        for sql in list_statements(clients[persona], path):
            kind = "count" if "COUNT(*)" in sql.split("FROM")[0].upper() else "rows"
            if show:
                print(f"\n=== {persona}: {label} ({path}): {kind}")
                print(sql)
                print(plan("ANALYZE, BUFFERS", sql))
            runs = [plan("ANALYZE, TIMING OFF", sql) for _ in range(3)]

            def ms(plan, label):
                line = next(x for x in plan.splitlines() if x.startswith(label))
                return float(line.split(":")[1].split()[0])

            times.append(
                (
                    persona,
                    f"{label}: {kind}",
                    min(ms(p, "Planning Time") for p in runs),
                    min(ms(p, "Execution Time") for p in runs),
                )
            )
    return times


# --- the report --------------------------------------------------------------------------


def percentile(values, p):
    """The nearest rank: the 29th of 30 for the 95th."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def code_state():
    """The commit measured and how many files differ from it."""

    def git(*arguments):
        done = subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=30
        )
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    changed = git("status", "--porcelain")
    if commit is None or changed is None:
        return "not a git checkout"
    return f"{commit}, {len(changed.splitlines())} files changed or new in the working tree"


def report(results, plans, sizes, args, seen):
    print()
    print(", ".join(f"{value:,} {name}" for name, value in sizes.items()))
    print("incidents each person may list: " + ", ".join(f"{p} {n:,}" for p, n in seen.items()))
    print(
        f"{args.requests} timed requests per line after one warm-up round, one at a time, "
        "in-process (Django's test client); SQL: statements of one request (4 more once a "
        "minute per session: its last-seen time); SQL ms: their time, median"
    )
    print()
    print(f"{'':<44}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'SQL':>7}{'SQL ms':>8}{'GC':>4}")
    failed = False
    for f in results:
        name = f"{f['persona']:<8}{f['label']}"
        if f["ms"]:
            p95 = percentile(f["ms"], 95)
            times = f"{statistics.median(f['ms']):>9.1f}{p95:>9.1f}{max(f['ms']):>9.1f}"
            sql_ms = f"{statistics.median(f['sql_ms']):>8.0f}"
            flag = f"   p95 > {SLOW_MS} ms" if p95 > SLOW_MS else ""
        else:
            times, sql_ms, flag = f"{'—':>9}{'—':>9}{'—':>9}", f"{'—':>8}", ""
        sql = "/".join(str(n) for n in sorted(f["sql"])) or "—"
        print(f"{name:<44}{times}{sql:>7}{sql_ms}{f['gc']:>4}{flag}")
        if f["errors"]:
            failed = True
            print(f"      errors ({len(f['errors'])}): {sorted(set(f['errors']))[:3]}")
    if plans:
        print()
        print(
            "EXPLAIN (ANALYZE, TIMING OFF) of the list queries, best of three: "
            "planning + execution (ms)"
        )
        for persona, label, planning, execution in plans:
            print(f"{persona:<8}{label:<40}{planning:>8.2f} + {execution:.2f}")
    return failed


def main():
    args = parse_args()
    stop_on_sigterm()
    # The personas sign in with a password only: the second step that production asks of
    # heads, the CISO and auditors (MFA_ENABLED, isms.second_factor) is not what this
    # measures. Mail stays in memory.
    env = portal_env(f"{args.server}/{args.database}", MFA_ENABLED="0", EMAIL_URL="memorymail://")
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print("code:", code_state())
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    # Django's test client talks to "testserver".
    use_in_process(env, allowed_hosts="testserver")

    print(f"database {args.database}: creating, migrating ...", flush=True)
    drop_database(args.server, args.database, create=True)
    try:
        migrate(env)
        import django

        django.setup()
        from django.db import connections
        from django.test.utils import override_settings, setup_test_environment

        setup_test_environment()
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        t0 = time.perf_counter()
        ids, sizes = populate(args)
        vacuum_analyze()
        print(f"  built and analysed in {time.perf_counter() - t0:.1f} s", flush=True)
        # Pages render with plain static file names (no manifest: nothing is collected).
        storages = {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(STORAGES=storages):
            clients = clients_for(ids)
            seen = {p: expected_incidents(p, ids).count() for p in clients}
            plans = [] if args.no_explain else explain(clients, ids, True, not args.no_api)
            figures = list(figures_for(ids, args))
            print(f"measuring {len(figures)} figures ...", flush=True)
            load_before = os.getloadavg()
            results, collections = measure(figures, clients, args.requests)
            load_after = os.getloadavg()
        connections.close_all()
    finally:
        if not args.keep:
            drop_database(args.server, args.database)

    failed = report(results, plans, sizes, args, seen)
    print()
    print(
        f"full garbage collections during the timed requests: {collections.count}, "
        f"{collections.ms:.0f} ms in all (GC: how many fell in a line's requests)"
    )
    print()
    print(
        "load average (1, 5, 15 min): measuring began {:.2f} {:.2f} {:.2f}; ".format(*load_before)
        + "ended {:.2f} {:.2f} {:.2f}".format(*load_after)
    )
    if failed:
        print("FAILED: see above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
