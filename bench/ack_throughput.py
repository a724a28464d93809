#!/usr/bin/env python
"""How many acknowledgements per second the portal records, next to the least an
authenticated API write costs on the same server (the "floor").

Builds a throw-away PostgreSQL database with N members of staff (API tokens included) and
one published material revision with its campaign, and serves the portal with gunicorn
under bench/floor_settings.py: the portal's own URLs plus two reference views
(bench/floor_urls.py), token authentication and one INSERT ("floor"), and the same with an
audit event in the transaction ("floor + audit"). The staff are split into rounds; in each
round their tokens go through the floor, the floor + audit, POST /api/acknowledgements/ and
GET /healthz (no database), one request per person each, from the same concurrent clients,
so that whatever else the machine does weighs on every phase alike.

Exits non-zero unless exactly N acknowledgement rows exist afterwards, one per person, and
every request succeeded. gunicorn is stopped and the database dropped in every case.

    .venv/bin/python bench/ack_throughput.py            # see bench/README.md

Not a test: pytest only collects tests/.
"""

import argparse
import datetime
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue

import httpx
from common import (
    add_database_arguments,
    drop_database,
    free_port,
    migrate,
    portal_env,
    publish_all_staff_standard,
    server_log,
    start_gunicorn,
    stop_gunicorn,
    stop_on_sigterm,
    use_in_process,
    wait_until_up,
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=5000, help="members of staff (5000)")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads (16)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds the staff are split into; each round runs every phase once (3)",
    )
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (a free one)")
    add_database_arguments(parser, "isms_bench_floor", keep=False)
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=None,
        help="persistent DB connections for the workers (seconds); default: the "
        "portal's default (60); 0 opens a new connection per request",
    )
    parser.add_argument("--request-timeout", type=float, default=30, help="seconds (30)")
    parser.add_argument(
        "--time-limit", type=float, default=600, help="seconds for each load phase (600)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if not 2 <= args.rounds <= args.users:
        parser.error("--rounds must be at least 2 and at most --users")
    return args


# --- the data ----------------------------------------------------------------------------


def populate(users):
    """N staff in 50 sections of one department, their tokens, and one published material
    revision of an all-staff standard (which opens its acknowledgement campaign)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connections
    from django.utils import timezone

    from isms.models import ApiToken, Department, Role, User
    from isms.roles import assign_role
    from isms.tokens import new_key

    city = Department.objects.create(code="mayor", name="市長事務部局", kind="body")
    somu = Department.objects.create(code="somu", name="総務部", kind="department", parent=city)
    sections = Department.objects.bulk_create(
        Department(code=f"ka{i:02d}", name=f"第{i}課", kind="section", parent=somu, sort_order=i)
        for i in range(1, 51)
    )
    # Argon2 is slow by design: one hash shared by everybody (nobody logs in with it here).
    password = make_password("benchmark-password-1")
    staff = User.objects.bulk_create(
        (
            User(
                username=f"staff{n:05d}",
                display_name=f"職員{n:05d}",
                section=sections[n % len(sections)],
                password=password,
            )
            for n in range(users)
        ),
        batch_size=1000,
    )
    # One token each, made in bulk: isms.tokens.issue_token() would write 5,000 audit events.
    # isms.tokens.authenticate() notes last_used_at at most once a minute per token, so
    # whichever phase used a token first in a minute would pay an UPDATE the others do not.
    # Noted as ahead of the clock, it is never written: every phase authenticates with the
    # one SELECT of the token and its user that a token in steady use costs.
    keys, tokens = [], []
    expires = timezone.now() + datetime.timedelta(days=1)
    for person in staff:
        key, prefix, hashed = new_key()
        keys.append(key)
        tokens.append(
            ApiToken(
                user=person,
                name="bench",
                prefix=prefix,
                key_hash=hashed,
                expires_at=expires,
                last_used_at=expires,
            )
        )
    ApiToken.objects.bulk_create(tokens, batch_size=1000)

    admin = User.objects.create(username="bench_admin", password=password)
    ciso = User.objects.create(username="bench_ciso", password=password)
    assign_role(admin, Role.PROGRAMME_ADMIN)
    assign_role(ciso, Role.CISO)
    revision = publish_all_staff_standard(admin, ciso, title="対策基準")
    connections.close_all()
    return revision.pk, keys


def create_floor_table():
    """The table the floor views of floor_urls.py insert into: the benchmark's own, in its
    throw-away database, so the portal has no model or migration for it."""
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, user_id int NOT NULL, "
            "at timestamptz NOT NULL DEFAULT now())"
        )
    connections.close_all()


def row_counts(revision_id):
    from django.db import connection, connections
    from django.db.models import Count, Q

    from acknowledgements.models import Acknowledgement
    from isms.models import AuditAction, AuditEvent

    counts = Acknowledgement.objects.aggregate(
        rows=Count("pk"),
        for_revision=Count("pk", filter=Q(revision_id=revision_id)),
        people=Count("user", distinct=True),
    )
    # The acknowledgements' events and those of the floor + audit view.
    counts["acknowledged_events"] = AuditEvent.objects.filter(
        action=AuditAction.REVISION_ACKNOWLEDGED
    ).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_floor")
        counts["floor"] = cursor.fetchone()[0]
    connections.close_all()
    return counts


# --- gunicorn ----------------------------------------------------------------------------


def floor_env(env):
    """The portal's environment with the floor's settings (floor_settings.py, in bench/)."""
    bench = os.path.dirname(os.path.abspath(__file__))
    env = dict(env, DJANGO_SETTINGS_MODULE="floor_settings")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [bench, env.get("PYTHONPATH")]))
    return env


# --- load --------------------------------------------------------------------------------


@dataclass
class Job:
    method: str
    path: str
    token: str | None = None
    json: dict | None = None


@dataclass
class Result:
    name: str
    expected: tuple
    elapsed: float = 0.0
    latencies: list = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    unfinished: int = 0

    @property
    def requests(self):
        return len(self.latencies)

    @property
    def errors(self):
        wrong = sum(n for status, n in self.statuses.items() if status not in self.expected)
        return wrong + self.unfinished

    @property
    def throughput(self):
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, p):
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    @classmethod
    def of_rounds(cls, results):
        """One phase over all its rounds: every request, and the time spent in that phase."""
        total = cls(results[0].name, results[0].expected)
        for result in results:
            total.elapsed += result.elapsed
            total.latencies += result.latencies
            total.statuses.update(result.statuses)
            total.unfinished += result.unfinished
        return total


@dataclass(frozen=True)
class Phase:
    name: str
    method: str
    path: str
    expected: int
    with_token: bool = True


FLOOR = Phase("floor: token + INSERT", "POST", "/bench-floor/insert/", 201)
FLOOR_AUDIT = Phase("floor + audit", "POST", "/bench-floor/insert-with-audit/", 201)
ACKNOWLEDGE = Phase("POST /api/acknowledgements/", "POST", "/api/acknowledgements/", 201)
HEALTHZ = Phase("GET /healthz", "GET", "/healthz", 200, with_token=False)
PHASES = (FLOOR, FLOOR_AUDIT, ACKNOWLEDGE, HEALTHZ)


def run_load(name, base_url, jobs, *, concurrency, expected, request_timeout, time_limit):
    """Every job once, from `concurrency` threads each holding one httpx client."""
    queue = SimpleQueue()
    for job in jobs:
        queue.put(job)
    result = Result(name, expected)
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + time_limit

    def worker():
        headers = {"Accept": "application/json", "User-Agent": "isms-bench"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=request_timeout) as client:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    job = queue.get_nowait()
                except Empty:
                    return
                auth = {"Authorization": f"Token {job.token}"} if job.token else {}
                started = time.perf_counter()
                try:
                    status = client.request(
                        job.method, job.path, json=job.json, headers=auth
                    ).status_code
                except httpx.HTTPError as error:
                    status = type(error).__name__
                took = time.perf_counter() - started
                with lock:
                    result.latencies.append(took)
                    result.statuses[status] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + request_timeout + 5)
    stop.set()
    result.elapsed = time.perf_counter() - started
    result.unfinished = len(jobs) - result.requests
    if any(thread.is_alive() for thread in threads):
        print(f"{name}: clients still busy after the time limit", file=sys.stderr)
    return result


def measure(base_url, revision_id, keys, args):
    """Every phase once per round, each round with its own share of the staff; returns
    {phase: [result of each round]} and the replay's result."""
    load = {
        "concurrency": args.concurrency,
        "request_timeout": args.request_timeout,
        "time_limit": args.time_limit,
    }
    # Warm every worker up on both paths without acknowledging anything.
    warm = [Job("GET", "/healthz") for _ in range(8 * args.concurrency)]
    warm += [
        Job("GET", "/api/acknowledgements/pending/", key)
        for key in random.sample(keys, min(len(keys), 8 * args.concurrency))
    ]
    random.shuffle(warm)
    run_load("warm-up", base_url, warm, expected=(200,), **load)

    # The floor views ignore it; sent all the same so every POST carries the same request.
    body = {"revision": revision_id}
    results = {phase: [] for phase in PHASES}
    for number in range(args.rounds):
        # Nobody acknowledges twice: each round has its own people, whose tokens all its
        # phases use.
        people = keys[number :: args.rounds]
        # Each round starts with another phase, so that none always comes first.
        shift = number % len(PHASES)
        order = PHASES[shift:] + PHASES[:shift]
        print(f"round {number + 1}/{args.rounds}: {len(people)} requests per phase")
        for phase in order:
            jobs = [
                Job(
                    phase.method,
                    phase.path,
                    key if phase.with_token else None,
                    body if phase.method == "POST" else None,
                )
                for key in people
            ]
            result = run_load(phase.name, base_url, jobs, expected=(phase.expected,), **load)
            results[phase].append(result)
            print(
                f"  {phase.name:<30}{result.throughput:>7.0f} req/s"
                f"{result.percentile(95) * 1000:>8.1f} ms p95{result.errors:>5} errors"
            )

    # Pressing the button again, twice at once, returns the record (200) and adds nothing.
    sample = random.sample(keys, min(len(keys), 250))
    replay = run_load(
        "replay",
        base_url,
        [Job("POST", ACKNOWLEDGE.path, key, body) for key in sample for _ in range(2)],
        expected=(200,),
        **load,
    )
    return results, replay


# The goal: the acknowledgement at least half the throughput of the floor + audit,
# and its p95 under twice the floor + audit's.
GOAL_THROUGHPUT, GOAL_P95 = 0.5, 2.0
LABEL = 36


def report(results, replay, counts, users, loads):
    def ms(seconds):
        return seconds * 1000

    def row(result):
        return (
            f"{result.name:<{LABEL}}{result.requests:>9}{result.errors:>8}"
            f"{result.throughput:>10.0f}{ms(result.percentile(50)):>9.1f}"
            f"{ms(result.percentile(95)):>9.1f}"
        )

    totals = {phase: Result.of_rounds(rounds) for phase, rounds in results.items()}
    ack = totals[ACKNOWLEDGE]
    print()
    print(f"{'':<{LABEL}}{'requests':>9}{'errors':>8}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}")
    for phase in PHASES:
        print(row(totals[phase]))
    print()
    ratios = {}
    for reference, label in (
        (FLOOR, "acknowledgement ÷ floor"),
        (FLOOR_AUDIT, "acknowledgement ÷ (floor + audit)"),
    ):
        floor = totals[reference]
        throughput = ack.throughput / floor.throughput if floor.throughput else float("nan")
        p95 = ack.percentile(95) / floor.percentile(95)
        ratios[reference] = throughput, p95
        print(f"{label:<{LABEL}}{'':>17}{throughput:>9.2f}x{'':>9}{p95:>8.2f}x")
    throughput, p95 = ratios[FLOOR_AUDIT]
    met = throughput >= GOAL_THROUGHPUT and p95 < GOAL_P95
    print(
        f"goal against floor + audit (throughput >= {GOAL_THROUGHPUT}x, p95 < {GOAL_P95}x): "
        f"{'met' if met else 'NOT met'}"
    )

    rounds = len(results[ACKNOWLEDGE])
    print()
    print(
        f"{'per round: req/s, p95 ms':<{LABEL}}"
        + "".join(f"{f'round {n + 1}':>16}" for n in range(rounds))
    )
    for phase in PHASES:
        print(
            f"{phase.name:<{LABEL}}"
            + "".join(
                f"{result.throughput:>8.0f}{ms(result.percentile(95)):>8.1f}"
                for result in results[phase]
            )
        )
    print()
    print(
        f"replayed {replay.requests} POSTs (2 racing per person for {replay.requests // 2} "
        f"people): {dict(replay.statuses)}"
    )
    print(f"acknowledgement statuses: {dict(ack.statuses)}")
    print(
        f"rows: {counts['rows']} acknowledgements, {counts['for_revision']} for the revision, "
        f"{counts['people']} distinct people (expected {users})"
    )
    print(
        f"floor rows: {counts['floor']}; 'revision.acknowledged' audit events: "
        f"{counts['acknowledged_events']} (acknowledgements and floor + audit)"
    )
    print(
        "load average (1, 5, 15 min): "
        + "; ".join(f"{when} {a:.2f} {b:.2f} {c:.2f}" for when, (a, b, c) in loads)
    )


def counts_add_up(counts, results, users):
    """Each row the server said it wrote is there, and no more: one acknowledgement per
    person, one floor row per floor request, one audit event per acknowledgement and per
    floor + audit request."""

    def created(phase):
        return sum(result.statuses[201] for result in results[phase])

    return (
        counts["rows"] == counts["for_revision"] == counts["people"] == users
        and counts["floor"] == created(FLOOR) + created(FLOOR_AUDIT)
        and counts["acknowledged_events"] == counts["rows"] + created(FLOOR_AUDIT)
    )


# --- main --------------------------------------------------------------------------------


def main():
    loads = [("at start", os.getloadavg())]
    args = parse_args()
    stop_on_sigterm()
    database_url = f"{args.server}/{args.database}"
    if args.conn_max_age is not None:
        database_url += f"?conn_max_age={args.conn_max_age}"
    env = portal_env(database_url)
    # This process builds and checks the data with the portal's own models.
    use_in_process(env)

    print(f"database {args.database}: creating, migrating, adding {args.users} staff ...")
    drop_database(args.server, args.database, create=True)
    log = server_log()
    try:
        migrate(env)
        import django

        django.setup()
        t0 = time.perf_counter()
        revision_id, keys = populate(args.users)
        create_floor_table()
        print(f"  {args.users} staff and tokens in {time.perf_counter() - t0:.1f} s")
        port = args.port or free_port()
        base_url = f"http://127.0.0.1:{port}"
        print(f"gunicorn: {args.workers} sync workers on {base_url} (log: {log.name})")
        process = start_gunicorn(floor_env(env), port, args.workers, log)
        try:
            wait_until_up(base_url, process)
            print(f"{args.concurrency} clients, {args.rounds} rounds")
            loads.append(("rounds began", os.getloadavg()))
            results, replay = measure(base_url, revision_id, keys, args)
            loads.append(("rounds ended", os.getloadavg()))
        finally:
            stop_gunicorn(process)
            log.close()
        counts = row_counts(revision_id)
    finally:
        if not args.keep:
            drop_database(args.server, args.database)

    report(results, replay, counts, args.users, loads)
    errors = replay.errors + sum(r.errors for rounds in results.values() for r in rounds)
    if errors or not counts_add_up(counts, results, args.users):
        print(f"FAILED: see above, and the gunicorn log {log.name}", file=sys.stderr)
        return 1
    os.unlink(log.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
