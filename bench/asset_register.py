#!/usr/bin/env python
"""How fast the information asset register answers with a city-sized register behind it.

Builds a throw-away PostgreSQL database with 100,000 assets over 200 sections, a section
chief of one section and an auditor, serves the portal with gunicorn, and times, one
request after another, the permission-filtered register page (GET /assets/, first page,
filtered by level and by a search word) with a session cookie and the API list
(GET /api/assets/) with a token, for each of the two. Then it times a full CSV export of
the register for the auditor and reads the gunicorn workers' peak memory.

Exits non-zero unless every request got its expected status and the counts the API and
the export return match the database. gunicorn is stopped and the database dropped in
every case, Ctrl-C and SIGTERM included, and the whole run is bounded by --max-seconds.

    .venv/bin/python bench/asset_register.py            # see bench/README.md

Not a test: pytest only collects tests/.
"""

import argparse
import datetime
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from common import (
    PYTHON,
    ROOT,
    add_database_arguments,
    drop_database,
    free_port,
    migrate,
    portal_env,
    server_log,
    start_gunicorn,
    stop_gunicorn,
    stop_on_sigterm,
    use_in_process,
    vacuum_analyze,
    wait_until_up,
)

PASSWORD = "benchmark-password-1"
SEARCH_WORD = "バックアップ"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=100_000, help="assets (100000)")
    parser.add_argument("--sections", type=int, default=200, help="sections (200)")
    parser.add_argument("--requests", type=int, default=200, help="requests per figure (200)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (a free one)")
    add_database_arguments(parser, "isms_bench_assets")
    parser.add_argument("--request-timeout", type=float, default=30, help="seconds (30)")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=600,
        help="seconds for all the latency figures, and again for the export (600)",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=1800, help="the whole run, clean-up aside (1800)"
    )
    parser.add_argument("--no-export", action="store_true", help="skip the CSV export")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print EXPLAIN ANALYZE of the register's queries for both personas",
    )
    return parser.parse_args()


class OutOfTime(Exception):
    pass


# --- the register ------------------------------------------------------------------------

BASE_NAMES = [
    ("system", "住民基本台帳システム"),
    ("system", "財務会計システム"),
    ("system", "庁内グループウェア"),
    ("system", "職員用端末"),
    ("system", "ファイルサーバ"),
    ("system", "バックアップ装置"),
    ("system", "公開ウェブサイトCMS"),
    ("system", "USBメモリ"),
    ("information", "住民情報データ"),
    ("information", "課税台帳データ"),
    ("information", "職員名簿"),
    ("information", "バックアップデータ"),
    ("information", "アクセスログ"),
    ("documentation", "システム設計書"),
    ("documentation", "運用手順書"),
    ("documentation", "ネットワーク構成図"),
    ("document", "補助金申請書類"),
    ("document", "契約書"),
    ("document", "会議録"),
    ("document", "起案文書"),
    ("document", "広報原稿"),
]
LOCATIONS = ["本庁舎サーバ室", "本庁舎3階書庫", "第二庁舎", "データセンター", "各課執務室", ""]


def weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def populate(n_assets, n_sections):
    """One body, departments of 10 sections each, `n_assets` assets spread over the
    sections with a realistic mix of levels and tiers, a chief of one section in the middle
    of the organisation and an auditor. Returns their ids and API tokens."""
    from django.contrib.auth.hashers import make_password
    from django.db import connections

    from assets.models import Asset, ClassificationLevel, NetworkTier
    from isms.models import Department, Role, User
    from isms.roles import assign_role
    from isms.tokens import issue_token

    rng = random.Random(20250401)
    city = Department.objects.create(code="mayor", name="市長事務部局", kind="body")
    departments = Department.objects.bulk_create(
        Department(code=f"bu{i:02d}", name=f"第{i}部", kind="department", parent=city, sort_order=i)
        for i in range(1, (n_sections + 9) // 10 + 1)
    )
    sections = Department.objects.bulk_create(
        Department(
            code=f"ka{i:03d}",
            name=f"{departments[(i - 1) // 10].name}第{(i - 1) % 10 + 1}課",
            kind="section",
            parent=departments[(i - 1) // 10],
            sort_order=i,
        )
        for i in range(1, n_sections + 1)
    )
    own = sections[len(sections) // 2]
    password = make_password(PASSWORD)
    chief = User.objects.create(username="bench_chief", section=own, password=password)
    assign_role(chief, Role.SECTION_CHIEF, own)
    auditor = User.objects.create(username="bench_auditor", password=password)
    assign_role(auditor, Role.AUDITOR)
    tokens = {
        "chief": issue_token(chief, name="bench")[1],
        "auditor": issue_token(auditor, name="bench")[1],
    }

    levels = {
        (level.axis, level.code): level
        for level in ClassificationLevel.objects.filter(scheme__is_active=True)
    }
    tiers = {tier.code: tier for tier in NetworkTier.objects.all()}
    today = datetime.date.today()

    def asset(n):
        kind, base = rng.choice(BASE_NAMES)
        c = weighted(rng, [("1", 50), ("2", 42), ("3", 8)])
        tier = weighted(rng, [("lgwan", 55), ("internet", 15), ("mynumber", 10), ("none", 20)])
        external = rng.random() < 0.1
        confidentiality = levels[("confidentiality", c)]
        return Asset(
            name=f"{base} {n:06d}",
            kind=kind,
            description=rng.choice(["", "", f"{base}の管理台帳。定期的に棚卸しする。"]),
            section=sections[rng.randrange(len(sections))],
            location=rng.choice(LOCATIONS),
            tier=tiers[tier],
            has_personal_data=c != "1" and rng.random() < 0.5,
            has_my_number=tier == "mynumber" and rng.random() < 0.8,
            external_service="委託先クラウド" if external else "",
            contract_reference=f"契約第{n}号" if external and rng.random() < 0.9 else "",
            confidentiality=confidentiality,
            # bulk_create does not call save(), which copies the rank.
            confidentiality_rank=confidentiality.rank,
            integrity=levels[("integrity", weighted(rng, [("1", 60), ("2", 40)]))],
            availability=levels[("availability", weighted(rng, [("1", 65), ("2", 35)]))],
            status="retired" if rng.random() < 0.05 else "in_use",
            last_reviewed_on=(
                today - datetime.timedelta(days=rng.randrange(730)) if rng.random() < 0.8 else None
            ),
        )

    Asset.objects.bulk_create((asset(n) for n in range(1, n_assets + 1)), batch_size=2000)
    vacuum_analyze()
    connections.close_all()
    return {"chief": chief.pk, "auditor": auditor.pk}, tokens


def expected_counts(user_ids):
    """What each persona may see, in all and with confidentiality 2, from the database."""
    from django.db import connections

    from assets.access import visible_assets
    from isms.models import User

    counts = {}
    for persona, pk in user_ids.items():
        visible = visible_assets(User.objects.get(pk=pk))
        counts[persona] = {
            "all": visible.count(),
            "c2": visible.filter(confidentiality__code="2").count(),
        }
    counts["total"] = visible_assets(User.objects.get(pk=user_ids["auditor"])).count()
    connections.close_all()
    return counts


def explain(user_ids):
    """The plans of the page's two queries (count, then the first 50) for each persona."""
    from django.db import connections
    from django.http import QueryDict
    from django.test.utils import CaptureQueriesContext

    from assets.access import visible_assets
    from assets.filters import AssetFilter, above_public
    from assets.views import LIST_RELATED
    from isms.models import User

    for persona, pk in user_ids.items():
        user = User.objects.get(pk=pk)
        for query in ("", "confidentiality=2", f"q={SEARCH_WORD}"):
            base = visible_assets(user, public=not above_public(QueryDict(query)))
            base = base.select_related(*LIST_RELATED)
            qs = AssetFilter(QueryDict(query) or None, queryset=base).qs
            qs = qs.order_by("section_id", "name", "pk")
            print(f"\n=== {persona} /assets/?{query}: count")
            # The paginator's own statement: COUNT(*) reads no column a SELECT of ids would.
            with CaptureQueriesContext(connections["default"]) as captured:
                qs.count()
            with connections["default"].cursor() as cursor:
                cursor.execute("EXPLAIN ANALYZE " + captured[-1]["sql"])
                print("\n".join(row[0] for row in cursor.fetchall()))
            print(f"=== {persona} /assets/?{query}: first page")
            print(qs[:50].explain(analyze=True))
    connections.close_all()


# --- gunicorn ----------------------------------------------------------------------------


def served_settings(env, workdir):
    """The portal's settings with STATIC_ROOT in `workdir`, and the static files collected
    there: with DEBUG=0 pages are rendered with the hashed names of the manifest, as in
    production, and nothing is written into the repository."""
    static_root = Path(workdir) / "static"
    (Path(workdir) / "bench_asset_settings.py").write_text(
        f"from isms.settings import *  # noqa: F403\n\nSTATIC_ROOT = {str(static_root)!r}\n"
    )
    env = dict(env, DJANGO_SETTINGS_MODULE="bench_asset_settings")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [workdir, env.get("PYTHONPATH")]))
    subprocess.run(
        [str(PYTHON), "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    return env


def worker_memory(master_pid):
    """{pid: (peak RSS, current RSS) in MiB} of the gunicorn master's children (Linux)."""
    memory = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() != str(master_pid):
            continue
        kib = {k: int(fields[k].split()[0]) for k in ("VmHWM", "VmRSS") if k in fields}
        if len(kib) == 2:
            memory[int(entry.name)] = (kib["VmHWM"] / 1024, kib["VmRSS"] / 1024)
    return memory


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    latencies: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def percentile(self, p):
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def log_in(client, username):
    """Through the login form, as a browser does: the session cookie stays in the client."""
    form = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if form.status_code != 200 or token is None:
        raise RuntimeError(f"login form: HTTP {form.status_code}")
    response = client.post(
        "/accounts/login/",
        data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD},
    )
    if response.status_code != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"logging in as {username} failed: HTTP {response.status_code}")


@dataclass
class Target:
    """One figure's request: a client (session or token) and a URL."""

    figure: Figure
    client: httpx.Client
    path: str
    params: dict
    check: Callable  # check(response) -> an error message or None

    def hit(self, record=True):
        started = time.perf_counter()
        try:
            response = self.client.get(self.path, params=self.params)
            response.read()
        except httpx.HTTPError as error:
            self.figure.errors.append(type(error).__name__)
            return
        took = time.perf_counter() - started
        problem = self.check(response)
        if problem:
            self.figure.errors.append(problem)
        if record:
            self.figure.latencies.append(took)


def page_ok(response):
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    if 'data-testid="asset-table"' not in response.text:
        return "no register table in the page"
    return None


def api_ok(expected_count):
    def check(response):
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        body = response.json()
        if body.get("count") != expected_count:
            return f"count {body.get('count')}, expected {expected_count}"
        if len(body.get("results", [])) != min(50, expected_count):
            return "not a full first page"
        return None

    return check


def measure(base_url, tokens, counts, args):
    """Every figure's requests one after another, in rounds (one request per figure per
    round), so that whatever else the machine does weighs on every figure alike."""
    headers = {"User-Agent": "isms-bench"}
    targets = []
    with ExitStack() as clients:
        for persona, username in (("chief", "bench_chief"), ("auditor", "bench_auditor")):
            web = clients.enter_context(
                httpx.Client(base_url=base_url, headers=headers, timeout=args.request_timeout)
            )
            log_in(web, username)
            api = clients.enter_context(
                httpx.Client(
                    base_url=base_url,
                    headers={**headers, "Authorization": f"Token {tokens[persona]}"},
                    timeout=args.request_timeout,
                )
            )
            for params in ({}, {"confidentiality": "2"}, {"q": SEARCH_WORD}):
                label = f"{persona:<8}page /assets/{_query(params)}"
                targets.append(Target(Figure(label), web, "/assets/", params, page_ok))
            for params, count in (
                ({}, counts[persona]["all"]),
                ({"confidentiality": "2"}, counts[persona]["c2"]),
            ):
                label = f"{persona:<8}API  /api/assets/{_query(params)}"
                targets.append(Target(Figure(label), api, "/api/assets/", params, api_ok(count)))

        # Warm-up: every worker loads its templates and opens its database connection.
        for _ in range(2 * args.workers):
            for target in targets:
                target.hit(record=False)
        print(f"  {len(targets)} figures x {args.requests} requests, in rounds ...", flush=True)
        deadline = time.monotonic() + args.time_limit
        for done in range(args.requests):
            if time.monotonic() > deadline:
                for target in targets:
                    target.figure.errors.append(f"time limit reached after {done} rounds")
                break
            for target in targets:
                target.hit()
    return [target.figure for target in targets]


def _query(params):
    return "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""


@dataclass
class Export:
    seconds: float = float("nan")
    rows: int = 0
    megabytes: float = 0.0
    error: str | None = None
    memory_before: dict = field(default_factory=dict)
    memory_after: dict = field(default_factory=dict)


def export_csv(base_url, master_pid, args):
    """The auditor's full CSV export, streamed and counted line by line."""
    result = Export(memory_before=worker_memory(master_pid))
    deadline = time.monotonic() + args.time_limit
    with httpx.Client(base_url=base_url, timeout=args.request_timeout) as client:
        log_in(client, "bench_auditor")
        started = time.perf_counter()
        size = lines = 0
        try:
            with client.stream("GET", "/assets/export/", params={"output": "csv"}) as response:
                if response.status_code != 200:
                    result.error = f"HTTP {response.status_code}"
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    lines += chunk.count(b"\n")
                    if time.monotonic() > deadline:
                        result.error = "time limit reached"
                        break
        except httpx.HTTPError as error:
            result.error = type(error).__name__
        result.seconds = time.perf_counter() - started
    result.rows = lines - 1  # the header; no field of the generated data holds a newline
    result.megabytes = size / 1024 / 1024
    result.memory_after = worker_memory(master_pid)
    return result


# --- the report --------------------------------------------------------------------------


def pad(text, width):
    """Left-justify to a width in terminal columns: kanji and kana take two."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - columns)


def report(figures, export, counts, args):
    print()
    print(
        f"{args.assets} assets in {args.sections} sections; the chief sees "
        f"{counts['chief']['all']}, the auditor {counts['auditor']['all']}; "
        f"{args.requests} requests per line, one at a time, {args.workers} gunicorn workers"
    )
    print()
    print(f"{'':<46}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for figure in figures:
        print(
            f"{pad(figure.name, 46)}{len(figure.latencies):>9}{len(figure.errors):>8}"
            f"{statistics.median(figure.latencies) * 1000 if figure.latencies else 0:>9.1f}"
            f"{figure.percentile(95) * 1000:>9.1f}{figure.percentile(100) * 1000:>9.1f}"
        )
        if figure.errors:
            print(f"    errors: {sorted(set(figure.errors))[:5]}")
    if export is not None:
        print()
        print(
            f"auditor CSV export: {export.rows} rows, {export.megabytes:.1f} MiB in "
            f"{export.seconds:.1f} s ({export.rows / export.seconds:.0f} rows/s)"
            + (f" — {export.error}" if export.error else "")
        )
        before = max((peak for peak, _ in export.memory_before.values()), default=0)
        after = max((peak for peak, _ in export.memory_after.values()), default=0)
        print(
            f"gunicorn workers' peak RSS: {before:.0f} MiB before the export, "
            f"{after:.0f} MiB after (per worker: "
            + ", ".join(
                f"{peak:.0f}" for peak, _ in sorted(export.memory_after.values(), reverse=True)
            )
            + ")"
        )


def good(figures, export, counts, args):
    if any(figure.errors for figure in figures):
        return False
    if export is not None and (export.error or export.rows != counts["total"]):
        return False
    return True


# --- main --------------------------------------------------------------------------------


def main():
    args = parse_args()
    stop_on_sigterm()

    def out_of_time(*_):
        raise OutOfTime(f"the run took more than {args.max_seconds:.0f} s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(int(args.max_seconds))

    database_url = f"{args.server}/{args.database}"
    # The personas sign in with a password only: the second step that production asks of
    # chiefs and auditors (MFA_ENABLED, isms.second_factor) is not what this measures.
    env = portal_env(database_url, MFA_ENABLED="0")
    use_in_process(env)

    print(f"database {args.database}: creating, migrating ...")
    drop_database(args.server, args.database, create=True)
    log = server_log()
    workdir = tempfile.TemporaryDirectory(prefix="isms-bench-assets-")
    export = None
    try:
        migrate(env)
        import django

        django.setup()
        t0 = time.perf_counter()
        user_ids, tokens = populate(args.assets, args.sections)
        took = time.perf_counter() - t0
        print(f"  {args.assets} assets in {args.sections} sections in {took:.1f} s")
        counts = expected_counts(user_ids)
        if args.explain:
            explain(user_ids)
        print("collecting static files ...")
        served = served_settings(env, workdir.name)
        port = args.port or free_port()
        base_url = f"http://127.0.0.1:{port}"
        print(f"gunicorn: {args.workers} sync workers on {base_url} (log: {log.name})")
        # A sync worker is killed when one request takes longer: the full export must fit.
        process = start_gunicorn(served, port, args.workers, log, timeout=300)
        try:
            wait_until_up(base_url, process)
            figures = measure(base_url, tokens, counts, args)
            if not args.no_export:
                print("  auditor CSV export ...", flush=True)
                export = export_csv(base_url, process.pid, args)
        finally:
            signal.alarm(0)  # nothing interrupts the clean-up
            stop_gunicorn(process)
            log.close()
    finally:
        signal.alarm(0)
        workdir.cleanup()
        if not args.keep:
            drop_database(args.server, args.database)

    report(figures, export, counts, args)
    if not good(figures, export, counts, args):
        print(f"FAILED: see above, and the gunicorn log {log.name}", file=sys.stderr)
        return 1
    os.unlink(log.name)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OutOfTime as error:
        print(
            f"FAILED: {error} (--max-seconds); gunicorn stopped, database dropped", file=sys.stderr
        )
        sys.exit(2)
