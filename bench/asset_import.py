#!/usr/bin/env python
"""How long a city-sized asset import takes, and that the upload is answered at once.

Builds a throw-away PostgreSQL database with one section and its chief, serves the portal
with gunicorn (sync workers, the production --timeout) and runs a real Celery worker on
Redis, both sharing a temporary MEDIA_ROOT. It uploads a 120,000-row CSV (about 10 MB)
through POST /api/assets/import/ with a token, times the answer, then follows the job
through GET /api/imports/<id>/ until it has finished, sampling its progress. Last it times
the CSV and xlsx exports of the 120,000 assets, the longest work a page still does inline
(what gunicorn's timeout must fit).

Exits non-zero unless the upload was answered with 202, the job succeeded and the
database holds exactly the rows of the file. gunicorn and the worker are stopped and the
database dropped in every case.

    .venv/bin/python bench/asset_import.py            # see bench/README.md

Not a test: pytest only collects tests/.
"""

import argparse
import logging
import os
import sys
import tempfile
import time

import httpx
from common import (
    PYTHON,
    add_database_arguments,
    drop_database,
    free_port,
    migrate,
    portal_env,
    server_log,
    start_gunicorn,
    start_process,
    stop_on_sigterm,
    stop_process,
    use_in_process,
    wait_until_up,
)

# The timeout the Dockerfile and docker-compose.yml give gunicorn.
GUNICORN_TIMEOUT = 300


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=120_000, help="rows of the file (120000)")
    add_database_arguments(parser, "isms_bench_imports", keep=False)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/4"))
    parser.add_argument("--max-seconds", type=int, default=900, help="give up after (900)")
    return parser.parse_args()


def populate():
    from isms.models import Department, Role
    from isms.roles import assign_role
    from isms.tokens import issue_token

    body = Department.objects.create(code="bench-body", name="市長事務部局", kind="body")
    department = Department.objects.create(
        code="bench-dept", name="総務部", kind="department", parent=body
    )
    section = Department.objects.create(
        code="bench", name="情報政策課", kind="section", parent=department
    )
    from django.contrib.auth import get_user_model

    chief = get_user_model().objects.create_user("bench-chief", section=section)
    assign_role(chief, Role.SECTION_CHIEF, section)
    return issue_token(chief, name="bench")[1]


def csv_bytes(rows):
    header = "name,kind,section,confidentiality,integrity,availability,tier,location,description\n"
    lines = (
        f"業務システム{n:06d},system,bench,{1 + n % 3},1,1,lgwan,本庁舎{n % 9}階,"
        f"台帳の説明 第{n}号（保守契約あり、個人情報なし）\n"
        for n in range(rows)
    )
    return (header + "".join(lines)).encode("utf-8")


def asset_count():
    from assets.models import Asset

    return Asset.objects.count()


def main():
    args = parse_args()
    stop_on_sigterm()
    media = tempfile.mkdtemp(prefix="isms-bench-media-")
    # The servers use Redis (the job's queue and progress); this process does not.
    env = portal_env(
        f"{args.server}/{args.database}",
        REDIS_URL=args.redis,
        MEDIA_ROOT=media,
        CELERY_TASK_ALWAYS_EAGER="0",
    )
    use_in_process(env)
    deadline = time.monotonic() + args.max_seconds

    print(f"database {args.database}: creating and migrating ...")
    drop_database(args.server, args.database, create=True)
    log = server_log("isms-bench-import-")
    processes = []
    try:
        migrate(env)
        import django

        django.setup()
        token = populate()
        logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per poll
        data = csv_bytes(args.rows)
        print(f"file: {args.rows:,} rows, {len(data) / 1e6:.1f} MB")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn = start_gunicorn(env, port, 2, log, timeout=GUNICORN_TIMEOUT)
        processes.append(gunicorn)
        worker = start_process(
            [PYTHON, "-m", "celery", "-A", "isms", "worker", "--pool=solo",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            env,
            log,
        )  # fmt: skip
        processes.append(worker)
        wait_until_up(base, gunicorn)
        headers = {"Authorization": f"Token {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=GUNICORN_TIMEOUT) as client:
            started = time.perf_counter()
            response = client.post(
                "/api/assets/import/", files={"file": ("register.csv", data, "text/csv")}
            )
            answered = time.perf_counter() - started
            print(f"upload answered {response.status_code} in {answered:.2f} s")
            if response.status_code != 202:
                print(response.text[:2000], file=sys.stderr)
                return 1
            job_url = response.headers["Location"]
            samples = []
            while time.monotonic() < deadline:
                job = client.get(job_url).json()
                elapsed = time.perf_counter() - started
                samples.append((elapsed, job["status"], job["rows_checked"], job["rows_written"]))
                if job["status"] in ("succeeded", "failed"):
                    break
                time.sleep(1)
            total = time.perf_counter() - started
            for elapsed, status, checked, written in samples[:: max(1, len(samples) // 12)]:
                print(
                    f"  {elapsed:6.1f} s  {status:9}  checked {checked:>7,}  written {written:>7,}"
                )
            print(f"job {job['status']} in {total:.1f} s: {job['rows_written']:,} rows written")
            timings = {}
            for output in ("csv", "xlsx"):
                t0 = time.perf_counter()
                try:
                    export = client.get("/api/assets/export/", params={"output": output})
                except httpx.HTTPError as error:  # the worker killed at the timeout
                    print(f"export {output}: {error!r} after {time.perf_counter() - t0:.1f} s")
                    continue
                size = len(export.content)
                timings[output] = time.perf_counter() - t0
                print(
                    f"export {output}: HTTP {export.status_code}, {size / 1e6:.1f} MB "
                    f"in {timings[output]:.1f} s"
                )
        count = asset_count()
        good = job["status"] == "succeeded" and count == job["rows_written"] == args.rows
        print(f"assets in the database: {count:,}")
    finally:
        for process in processes:
            stop_process(process)
        log.close()
        drop_database(args.server, args.database)
    if not good:
        print(f"FAILED: see above and the log {log.name}", file=sys.stderr)
        return 1
    os.unlink(log.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
