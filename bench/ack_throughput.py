#!/usr/bin/env python
"""How many acknowledgements per second the portal records, next to a trivial Django view.

Builds a throw-away PostgreSQL database with N members of staff (API tokens included) and
one published material revision with its campaign, serves the portal with gunicorn, and has
every member of staff POST /api/acknowledgements/ once from concurrent clients. Then it hits
/healthz (no database, no session) the same number of times with the same concurrency, so
the acknowledgement figure can be read against what Django itself costs on this machine.

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
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (a free one)")
    add_database_arguments(parser, "isms_bench", keep=False)
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
    return parser.parse_args()


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
    keys, tokens = [], []
    expires = timezone.now() + datetime.timedelta(days=1)
    for person in staff:
        key, prefix, hashed = new_key()
        keys.append(key)
        tokens.append(
            ApiToken(user=person, name="bench", prefix=prefix, key_hash=hashed, expires_at=expires)
        )
    ApiToken.objects.bulk_create(tokens, batch_size=1000)

    admin = User.objects.create(username="bench_admin", password=password)
    ciso = User.objects.create(username="bench_ciso", password=password)
    assign_role(admin, Role.PROGRAMME_ADMIN)
    assign_role(ciso, Role.CISO)
    revision = publish_all_staff_standard(admin, ciso, title="対策基準")
    connections.close_all()
    return revision.pk, keys


def acknowledgement_counts(revision_id):
    from django.db import connections
    from django.db.models import Count, Q

    from acknowledgements.models import Acknowledgement

    counts = Acknowledgement.objects.aggregate(
        rows=Count("pk"),
        for_revision=Count("pk", filter=Q(revision_id=revision_id)),
        people=Count("user", distinct=True),
    )
    connections.close_all()
    return counts


# --- gunicorn ----------------------------------------------------------------------------


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

    print(f"POST /api/acknowledgements/ x {len(keys)}, {args.concurrency} clients ...")
    body = {"revision": revision_id}
    ack = run_load(
        "POST /api/acknowledgements/",
        base_url,
        [Job("POST", "/api/acknowledgements/", key, body) for key in keys],
        expected=(201,),
        **load,
    )
    # Pressing the button again, twice at once, returns the record (200) and adds nothing.
    sample = random.sample(keys, min(len(keys), 250))
    replay = run_load(
        "replay",
        base_url,
        [Job("POST", "/api/acknowledgements/", key, body) for key in sample for _ in range(2)],
        expected=(200,),
        **load,
    )
    print(f"GET /healthz x {len(keys)}, {args.concurrency} clients ...")
    health = run_load(
        "GET /healthz",
        base_url,
        [Job("GET", "/healthz") for _ in keys],
        expected=(200,),
        **load,
    )
    return ack, replay, health


def report(ack, health, replay, counts, users):
    def row(result):
        return (
            f"{result.name:<32}{result.requests:>9}{result.errors:>8}"
            f"{result.throughput:>10.0f}{result.percentile(50) * 1000:>9.1f}"
            f"{result.percentile(95) * 1000:>9.1f}"
        )

    print()
    print(f"{'':<32}{'requests':>9}{'errors':>8}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}")
    print(row(ack))
    print(row(health))
    if ack.throughput and ack.percentile(95):
        print(
            f"{'healthz / acknowledgement':<32}{'':>17}"
            f"{health.throughput / ack.throughput:>9.1f}x"
            f"{'':>9}{ack.percentile(95) / health.percentile(95):>8.1f}x"
        )
        print("(throughput: healthz is that many times faster; p95: acknowledgements are")
        print(" that many times slower)")
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


# --- main --------------------------------------------------------------------------------


def main():
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
        print(f"  {args.users} staff and tokens in {time.perf_counter() - t0:.1f} s")
        port = args.port or free_port()
        base_url = f"http://127.0.0.1:{port}"
        print(f"gunicorn: {args.workers} sync workers on {base_url} (log: {log.name})")
        process = start_gunicorn(env, port, args.workers, log)
        try:
            wait_until_up(base_url, process)
            ack, replay, health = measure(base_url, revision_id, keys, args)
        finally:
            stop_gunicorn(process)
            log.close()
        counts = acknowledgement_counts(revision_id)
    finally:
        if not args.keep:
            drop_database(args.server, args.database)

    report(ack, health, replay, counts, args.users)
    good = (
        counts["rows"] == counts["for_revision"] == counts["people"] == args.users
        and ack.errors == replay.errors == health.errors == 0
    )
    if not good:
        print(f"FAILED: see above, and the gunicorn log {log.name}", file=sys.stderr)
        return 1
    os.unlink(log.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
