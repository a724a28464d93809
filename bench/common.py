"""What every benchmark of bench/ sets up the same way: a throw-away PostgreSQL database, the
portal's environment, Django in the script's own process, and gunicorn.

    from common import ROOT, drop_database, migrate, portal_env, ...

(each script is run as `.venv/bin/python bench/<script>.py`, so bench/ is on sys.path).
Not a test: pytest only collects tests/.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
SECRET_KEY = "benchmark-only-secret-key-not-for-production-0123456789abcdefghij"
# The PostgreSQL server of the test suite (bin/setup-system starts it).
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"


def add_database_arguments(parser, database, *, keep=True):
    """--database (created and dropped by the run), --server and, unless the script always
    drops its database, --keep."""
    parser.add_argument("--database", default=database, help="database to create and drop")
    parser.add_argument(
        "--server", default=DEFAULT_SERVER, help="PostgreSQL server, without a database name"
    )
    if keep:
        parser.add_argument("--keep", action="store_true", help="keep the database afterwards")


def stop_on_sigterm():
    """SIGTERM (a CI timeout, kill) unwinds like Ctrl-C: the `finally` blocks stop gunicorn
    and drop the database."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


# --- the database ------------------------------------------------------------------------


def admin_connection(server):
    import psycopg2

    connection = psycopg2.connect(f"{server}/postgres", connect_timeout=10)
    connection.autocommit = True
    return connection


def drop_database(server, name, *, create=False):
    from psycopg2 import sql

    connection = admin_connection(server)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            if create:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def portal_env(database_url, **extra):
    """The environment the portal runs with in a benchmark: production settings (DEBUG=0)
    on plain HTTP, and no Redis unless `extra` gives one (whatever the caller's shell has
    for Redis is not part of the benchmark)."""
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET_KEY,
        DEBUG="0",
        HTTPS="0",
        ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SETTINGS_MODULE="isms.settings",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def use_in_process(env, *, allowed_hosts=None, setup=False):
    """Let this process use the portal's models on the benchmark's database: the settings
    of `env` (without Redis), the repository as working directory and on sys.path, and
    django.setup() if `setup`."""
    for key in (
        "DATABASE_URL",
        "SECRET_KEY",
        "DEBUG",
        "HTTPS",
        "LOG_LEVEL",
        "EMAIL_URL",
        "MFA_ENABLED",
    ):
        if key in env:
            os.environ[key] = env[key]
    if allowed_hosts:
        os.environ["ALLOWED_HOSTS"] = allowed_hosts
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isms.settings")
    os.chdir(ROOT)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if setup:
        import django

        django.setup()


def migrate(env):
    subprocess.run(
        [str(PYTHON), "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )


def vacuum_analyze():
    """As after a night of autovacuum."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def publish_all_staff_standard(admin, ciso, *, title="情報セキュリティ対策基準"):
    """One material revision of an all-staff standard taken through draft, review, approval
    and publication (by the programme admin `admin` and the CISO `ciso`), which opens its
    acknowledgement campaign. Returns the published revision."""
    from django.utils import timezone

    from isms import policy_actions
    from isms.models import PolicyDocument

    document = PolicyDocument.objects.create(
        code="standard", title=title, kind="standard", audience="all_staff"
    )
    revision = policy_actions.create_draft(
        document,
        by=admin,
        title=title,
        body="## 第1章\n\n" + "職員は情報資産を適切に取り扱う。\n\n" * 40,
        effective_date=timezone.localdate(),
        is_material=True,
        change_summary="ベンチマーク",
    )
    policy_actions.submit_for_review(revision, by=admin)
    policy_actions.approve(revision, by=ciso)
    revision = policy_actions.publish(revision, by=admin)
    assert revision.campaign.pk, "publishing a material revision opens a campaign"
    return revision


# --- gunicorn ----------------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_log(prefix="isms-bench-gunicorn-"):
    """A log file for the servers, kept by the caller only when the run fails."""
    return tempfile.NamedTemporaryFile("w+", prefix=prefix, suffix=".log", delete=False)


def start_process(command, env, log):
    """A server of the benchmark in its own process group: stopped as a whole
    (stop_process), and Ctrl-C reaches only the script."""
    return subprocess.Popen(
        [str(part) for part in command],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_gunicorn(env, port, workers, log, *, timeout=60):
    """`gunicorn isms.wsgi` with `workers` sync workers; `timeout` is how long one request
    may take before its worker is killed."""
    command = [GUNICORN, "isms.wsgi", "-w", workers, "-b", f"127.0.0.1:{port}"]
    command += ["--timeout", timeout, "--graceful-timeout", "5"]
    return start_process(command, env, log)


def stop_process(process):
    """SIGTERM to the process group, SIGKILL after 15 s."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


stop_gunicorn = stop_process


def wait_until_up(base_url, process, timeout=60):
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s")


def build_departments(body, departments, sections_per_department, batch_size=5000):
    """`departments` departments (bu01, 第1部, …) under `body`, each with
    `sections_per_department` sections (bu01-ka01, 第1部第1課, …), in bulk: (departments,
    sections), the sections in the departments' order."""
    from isms.models import Department

    made = Department.objects.bulk_create(
        (
            Department(
                code=f"bu{d:02d}", name=f"第{d}部", kind="department", parent=body, sort_order=d
            )
            for d in range(1, departments + 1)
        ),
        batch_size=batch_size,
    )
    sections = Department.objects.bulk_create(
        (
            Department(
                code=f"bu{d:02d}-ka{s:02d}",
                name=f"第{d}部第{s}課",
                kind="section",
                parent=department,
                sort_order=s,
            )
            for d, department in enumerate(made, 1)
            for s in range(1, sections_per_department + 1)
        ),
        batch_size=batch_size,
    )
    return made, sections
