#!/usr/bin/env python
"""How fast the pages people open every day answer at the design size.

Builds a throw-away PostgreSQL database with 50,003 people in 500 sections under 50
departments (one body above), an all-staff standard whose acknowledgement campaign is open
and 60 % acknowledged, 50,000 notifications and 200,000 audit events over a year, all in
bulk. Four people open their pages: a member of staff (the home page, their
acknowledgements), the head of a department of about 1,000 people (the campaign status),
the CISO (the campaign status of the whole city, the API's status and the CSV export) and
the programme admin (the audit trail, whole and filtered). In this process (Django's test
client, no gunicorn) each page is timed over rounds of requests after warm-up rounds, and
the SQL statements of one request are counted; the CSV export runs in a fresh process whose
peak memory is read.

Exits non-zero unless every request answered 200 with what it should hold (the API's and
the export's counts equal the database's). The database is dropped unless --keep or
--reuse is given.

    .venv/bin/python bench/daily_pages.py                 # the design size, see bench/README.md
    .venv/bin/python bench/daily_pages.py --people 2000   # a small city, while developing

Not a test: pytest only collects tests/.
"""

import argparse
import datetime
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import time
import unicodedata
import warnings
from pathlib import Path

from common import (
    PYTHON,
    ROOT,
    add_database_arguments,
    build_departments,
    drop_database,
    migrate,
    portal_env,
    publish_all_staff_standard,
    stop_on_sigterm,
    use_in_process,
    vacuum_analyze,
)

BATCH = 5000
# The audit trail filtered by action, and by a person and an action: the programme admin's
# own classification changes.
FILTER_ACTION = "signin.failed"
FILTER_ACTOR_ACTION = "asset.classified"
# What the issue asks of each kind of page (p95, ms) and of the export (peak RSS, MiB).
STAFF_GOAL_MS = 100
OVERSIGHT_GOAL_MS = 200
EXPORT_GOAL_MIB = 150


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--people",
        type=int,
        default=50_000,
        help="members of staff besides the head, the CISO and the programme admin (50000)",
    )
    parser.add_argument("--departments", type=int, default=50, help="departments (50)")
    parser.add_argument("--sections", type=int, default=10, help="sections per department (10)")
    parser.add_argument(
        "--acknowledged", type=float, default=0.6, help="share who acknowledged (0.6)"
    )
    parser.add_argument(
        "--notifications", type=int, default=None, help="notifications (as many as --people)"
    )
    parser.add_argument("--events", type=int, default=None, help="audit events (4 x --people)")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page (30)")
    parser.add_argument("--warmups", type=int, default=3, help="untimed rounds first (3)")
    parser.add_argument("--no-export", action="store_true", help="skip the CSV export")
    add_database_arguments(parser, "isms_bench_daily")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database a --keep run left, without building it (kept again)",
    )
    # The CSV export's own process (see measure_export): the revision whose status it reads.
    parser.add_argument("--export-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.notifications is None:
        args.notifications = args.people
    if args.events is None:
        args.events = 4 * args.people
    return args


# --- the data ----------------------------------------------------------------------------


def weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def populate(args):
    """The city, the campaign, the notifications, the audit trail and the four people."""
    from acknowledgements.models import Acknowledgement
    from isms.models import Department, Role, User
    from isms.roles import assign_role

    rng = random.Random(20261207)
    body = Department.objects.create(code="mayor", name="市長事務部局", kind="body")
    departments, sections = build_departments(body, args.departments, args.sections, BATCH)
    head_department = departments[len(departments) // 2]
    # The CISO's office sits in the first section, as 情報政策課 does in the demo.
    office = sections[0]
    admin = User.objects.create(
        username="bench_admin", display_name="統括 管理者", section=office, password="!"
    )
    ciso = User.objects.create(
        username="bench_ciso", display_name="最高 責任者", section=office, password="!"
    )
    # A head is posted to the department itself (部長), not to one of its sections.
    head = User.objects.create(
        username="bench_head", display_name="部長 太郎", section=head_department, password="!"
    )
    assign_role(admin, Role.PROGRAMME_ADMIN)
    assign_role(ciso, Role.CISO)
    assign_role(head, Role.DEPARTMENT_HEAD, head_department)
    # Published before the staff exist: the opening notification, sent inline without
    # Redis, then reaches the three people above, not 50,000 (the notifications are built
    # below, in bulk).
    revision = publish_all_staff_standard(admin, ciso)

    acknowledged = [rng.random() < args.acknowledged for _ in range(args.people)]
    # The member of staff works in the head's department and has not acknowledged yet: their
    # home page lists the standard.
    staff_index = next(
        n
        for n in range(args.people)
        if sections[n % len(sections)].parent_id == head_department.pk and not acknowledged[n]
    )
    staff = User.objects.bulk_create(
        (
            User(
                username="bench_staff" if n == staff_index else f"staff{n:05d}",
                display_name=f"職員{n:05d}",
                section=sections[n % len(sections)],
                password="!",
            )
            for n in range(args.people)
        ),
        batch_size=BATCH,
    )
    Acknowledgement.objects.bulk_create(
        (
            Acknowledgement(
                user_id=person.pk, revision=revision, content_sha256=revision.content_sha256
            )
            for person, done in zip(staff, acknowledged, strict=True)
            if done
        ),
        batch_size=BATCH,
    )
    staff_ids = [person.pk for person in staff]
    people = {
        "staff": staff[staff_index].pk,
        "head": head.pk,
        "ciso": ciso.pk,
        "admin": admin.pk,
    }
    add_notifications(args.notifications, staff_ids, people, revision, rng)
    add_audit_events(args.events, staff, people, revision, rng)
    return people, revision.pk


NOTIFICATION_KINDS = [
    ("acknowledgement.opened", "「情報セキュリティ対策基準」の確認をお願いします", "ack", 40),
    ("acknowledgement.due_soon", "「情報セキュリティ対策基準」の期限が近づいています", "ack", 20),
    ("training.opened", "研修「情報セキュリティ基礎」を受講してください", "/training/", 25),
    ("audit.finding", "所見への是正処置の期限が近づいています", "/audits/findings/", 10),
    ("weekly", "週次報告", "/", 5),
]


def add_notifications(count, staff_ids, people, revision, rng):
    """`count` notifications, a fifth of them unread: 20 for the member of staff (5 unread),
    the rest spread at random over the staff, sent over the last year in id order."""
    from django.db import connection
    from django.utils import timezone

    from isms.models import Notification

    # Overwritten below with a time after the notification's.
    some_time = timezone.now()
    ack_url = f"/acknowledgements/revisions/{revision.pk}/"

    def notification(recipient, unread):
        kind, title, url, _ = weighted(rng, [(k, k[3]) for k in NOTIFICATION_KINDS])
        return Notification(
            recipient_id=recipient,
            kind=kind,
            title=title,
            body=title + "。詳細はポータルを確認してください。",
            url=ack_url if url == "ack" else url,
            read_at=None if unread else some_time,
        )

    own = min(20, count)
    rows = [notification(people["staff"], unread=n < 5) for n in range(own)]
    rows += [
        notification(rng.choice(staff_ids), unread=rng.random() < 0.2) for _ in range(count - own)
    ]
    rng.shuffle(rows)
    Notification.objects.bulk_create(rows, batch_size=BATCH)
    # created_at is auto_now_add: spread the rows over the year, the newest last.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE isms_notification SET created_at = now() - interval '365 days'"
            " * (1 - (id - lo)::float / greatest(hi - lo, 1)),"
            " read_at = CASE WHEN read_at IS NULL THEN NULL"
            " ELSE now() - interval '365 days' * (1 - (id - lo)::float / greatest(hi - lo, 1))"
            " + interval '2 hours' END"
            " FROM (SELECT min(id) lo, max(id) hi FROM isms_notification) bounds"
        )


def add_audit_events(count, staff, people, revision, rng):
    """`count` events over the last year, oldest first (ids follow time, as the trail is
    written): sign-ins and sign-outs of the staff, acknowledgements, completed courses,
    asset and finding work, failed sign-ins and a few role changes, with the details each
    action's sentence names. The trail's insert trigger writes the database's clock into
    created_at; it is bypassed for this one transaction (session_replication_role, as the
    superuser the benchmark connects as) so that the events can lie in the past. They stay
    unsealed: the pages do not read the seal."""
    from django.db import connection, transaction
    from django.utils import timezone

    from isms.models import AuditAction, AuditEvent

    admin_name, ciso_name = "bench_admin", "bench_ciso"
    revision_repr = str(revision)[:300]

    def person():
        # The two of the CISO's office act more than anyone else.
        pick = rng.random()
        if pick < 0.02:
            return people["admin"], admin_name
        if pick < 0.03:
            return people["ciso"], ciso_name
        user = staff[rng.randrange(len(staff))]
        return user.pk, user.username

    mix = event_mix()

    def event(at):
        action = weighted(rng, mix)
        actor_id, actor_name = person()
        target = ("", "", "")
        data = {}
        if action in (AuditAction.SIGNIN_SUCCEEDED, AuditAction.SIGNED_OUT):
            target = ("isms.user", str(actor_id), actor_name)
            data = {"method": "password"} if action == AuditAction.SIGNIN_SUCCEEDED else {}
        elif action == AuditAction.SIGNIN_FAILED:
            data = {"username": actor_name}
            actor_id, actor_name = None, ""
        elif action == AuditAction.REVISION_ACKNOWLEDGED:
            target = ("isms.policyrevision", str(revision.pk), revision_repr)
            data = {"sha256": revision.content_sha256, "acknowledgement": rng.randrange(1, 10**5)}
        elif action == AuditAction.COURSE_COMPLETED:
            target = ("training.course", "1", "情報セキュリティ基礎（令和8年度）")
            data = {"score": rng.choice([80, 90, 100]), "enrolment": rng.randrange(1, 10**5)}
        elif action in (AuditAction.ASSET_CREATED, AuditAction.ASSET_CLASSIFIED):
            n = rng.randrange(1, 10**5)
            target = ("assets.asset", str(n), f"ファイルサーバ {n:06d}")
            if action == AuditAction.ASSET_CLASSIFIED:
                data = {"changes": {"confidentiality": ["2", "3"]}, "reason": "個人情報を含むため"}
        elif action == AuditAction.FINDING_RECORDED:
            n = rng.randrange(1, 10**4)
            target = ("audits.finding", str(n), f"所見 {n:05d}")
            data = {"severity": rng.choice(["major", "minor", "observation"]), "department": "bu01"}
        elif action == AuditAction.ROLE_ASSIGNED:
            actor_id, actor_name = people["admin"], admin_name
            user = staff[rng.randrange(len(staff))]
            target = ("isms.roleassignment", str(rng.randrange(1, 10**4)), user.username)
            data = {"user": user.username, "role": "section_chief", "department": "bu01-ka01"}
        target_type, target_id, target_repr = target
        return AuditEvent(
            created_at=at,
            actor_id=actor_id,
            actor_name=actor_name,
            action=str(action),
            target_type=target_type,
            target_id=target_id,
            target_repr=target_repr,
            data=data,
            ip_address=f"10.{rng.randrange(1, 60)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edge/120.0",
        )

    now = timezone.now()
    year = 365 * 24 * 3600
    offsets = sorted((rng.random() * year for _ in range(count)), reverse=True)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        for start in range(0, count, BATCH):
            AuditEvent.objects.bulk_create(
                [
                    event(now - datetime.timedelta(seconds=offset))
                    for offset in offsets[start : start + BATCH]
                ]
            )


def event_mix():
    """(action, weight): what a year of the trail is made of."""
    from isms.models import AuditAction

    return [
        (AuditAction.SIGNIN_SUCCEEDED, 40),
        (AuditAction.SIGNED_OUT, 15),
        (AuditAction.REVISION_ACKNOWLEDGED, 15),
        (AuditAction.COURSE_COMPLETED, 8),
        (AuditAction.ASSET_CREATED, 5),
        (AuditAction.ASSET_CLASSIFIED, 5),
        (AuditAction.SIGNIN_FAILED, 4),
        (AuditAction.FINDING_RECORDED, 3),
        (AuditAction.MFA_ENROLLED, 2),
        (AuditAction.PASSWORD_CHANGED, 2),
        (AuditAction.ROLE_ASSIGNED, 1),
    ]


def existing_data():
    """The people and the revision of a database a --keep run left."""
    from acknowledgements.models import AcknowledgementCampaign
    from isms.models import User

    people = {
        persona: User.objects.get(username=f"bench_{persona}").pk
        for persona in ("staff", "head", "ciso", "admin")
    }
    return people, AcknowledgementCampaign.objects.latest("opened_at").revision_id


def describe_data(people):
    from acknowledgements.models import Acknowledgement
    from isms.models import AuditEvent, Department, Notification, User

    head = User.objects.get(pk=people["head"])
    in_department = User.objects.filter(
        section__in=Department.objects.within([head.section_id])
    ).count()
    return {
        "people": User.objects.count(),
        "sections": Department.objects.filter(kind="section").count(),
        "departments": Department.objects.filter(kind="department").count(),
        "acknowledged": Acknowledgement.objects.count(),
        "notifications": Notification.objects.count(),
        "unread of the member of staff": Notification.objects.filter(recipient_id=people["staff"])
        .unread()
        .count(),
        "audit events": AuditEvent.objects.count(),
        "people in the head's department": in_department,
    }


# --- the pages ---------------------------------------------------------------------------


def pages(people, revision_id):
    """(persona, label, path, goal in ms, check(response) -> a problem or None)."""
    from acknowledgements import services as acks
    from isms.models import AuditEvent, PolicyRevision, User

    revision = PolicyRevision.objects.get(pk=revision_id)
    ciso = User.objects.get(pk=people["ciso"])
    audience = revision.document.audience_members()
    expected_api = {"total": audience.count(), "acknowledged": revision.acknowledgements.count()}
    # The people the CISO sees must be the whole audience, as the export must list them.
    assert acks.people_status(revision, ciso).count() == expected_api["total"]

    def holds(*markers):
        def check(response):
            if response.status_code != 200:
                return f"HTTP {response.status_code}"
            text = response.content.decode()
            missing = [m for m in markers if f'data-testid="{m}"' not in text]
            return f"no {', '.join(missing)} in the page" if missing else None

        return check

    def events_listed(queryset):
        expected = min(50, queryset.count())

        def check(response):
            problem = holds("audit-trail")(response)
            if problem:
                return problem
            listed = response.content.decode().count('data-testid="event"')
            return None if listed == expected else f"{listed} events listed, expected {expected}"

        return check

    def api_status(response):
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        departments = response.json()["departments"]
        got = {
            "total": sum(d["total"] for d in departments),
            "acknowledged": sum(d["acknowledged"] for d in departments),
        }
        return None if got == expected_api else f"counts {got}, expected {expected_api}"

    admin_name = User.objects.get(pk=people["admin"]).username
    status = f"/acknowledgements/status/{revision_id}/"
    by_action = AuditEvent.objects.filter(action=FILTER_ACTION)
    by_actor = AuditEvent.objects.filter(actor_id=people["admin"], action=FILTER_ACTOR_ACTION)
    staff, oversight = STAFF_GOAL_MS, OVERSIGHT_GOAL_MS
    return [
        ("staff", "home /", "/", staff, holds("pending-revision")),
        ("staff", "/acknowledgements/", "/acknowledgements/", staff, holds("pending-panel")),
        ("ciso", "status (whole city)", status, oversight, holds("status-table")),
        ("head", "status (own department)", status, oversight, holds("status-table")),
        (
            "ciso",
            "API status",
            f"/api/acknowledgements/status/?revision={revision_id}",
            oversight,
            api_status,
        ),
        ("admin", "/audit-trail/", "/audit-trail/", oversight, events_listed(AuditEvent.objects)),
        (
            "admin",
            "audit trail by action",
            f"/audit-trail/?action={FILTER_ACTION}",
            oversight,
            events_listed(by_action),
        ),
        (
            "admin",
            "audit trail by actor and action",
            f"/audit-trail/?actor={admin_name}&action={FILTER_ACTOR_ACTION}",
            oversight,
            events_listed(by_actor),
        ),
    ]


def signed_in_client(user):
    """A test client with the person's session, as after their sign-in: with the second
    factor given where the person must use one (the head, the CISO, the programme admin),
    which the portal otherwise asks for before any page."""
    from django.test import Client

    from isms import mfa, second_factor

    client = Client()
    client.force_login(user)
    if second_factor.must_use(user):
        session = client.session
        session[second_factor.SESSION_AT] = time.time()
        session[second_factor.SESSION_SOURCE] = "totp"
        session[mfa.SESSION_HAS_DEVICE] = True
        session.save()
    return client


def get(client, path):
    """The response, or an exception of the view turned into a problem to report."""
    try:
        return client.get(path), None
    except Exception as error:  # a page that errors is reported, the others still measured
        return None, f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def measure(people, revision_id, args):
    """Each page's requests in rounds (one request per page per round), so that whatever
    else the machine does weighs on every page alike; then one more request per page with
    its SQL statements captured (capturing costs time, so it is not in the timed ones)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from isms.models import User

    clients = {persona: signed_in_client(User.objects.get(pk=pk)) for persona, pk in people.items()}
    figures = [
        {
            "persona": persona,
            "label": label,
            "path": path,
            "goal": goal,
            "check": check,
            "ms": [],
            "sql": None,
            "errors": [],
        }
        for persona, label, path, goal, check in pages(people, revision_id)
    ]
    for round_ in range(args.warmups + args.requests):
        for figure in figures:
            started = time.perf_counter()
            response, error = get(clients[figure["persona"]], figure["path"])
            took = time.perf_counter() - started
            problem = error or figure["check"](response)
            if problem:
                figure["errors"].append(problem)
            elif round_ >= args.warmups:
                figure["ms"].append(took * 1000)
    for figure in figures:
        # The log keeps 9,000 statements at most; a full one would count nothing.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as queries:
            response, error = get(clients[figure["persona"]], figure["path"])
        if error is None and response.status_code == 200:
            figure["sql"] = len(queries)
    return figures


# --- the CSV export, in a process of its own ---------------------------------------------


def memory_kib(field):
    """VmHWM (peak) or VmRSS (now) of this process, in KiB (Linux).

    Not getrusage()'s ru_maxrss, of this process or of the parent's children: Linux carries
    it across fork() and execve(), so a process started by a large parent (this script after
    building 50,000 people: about 200 MiB) reports the parent's peak as its own. VmHWM
    belongs to the address space the process got at execve()."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def export_child(revision_id):
    """The CISO's CSV export of the campaign status, read to the end, in a process that did
    nothing before but set Django up and answer /healthz once (as a fresh worker that has
    loaded the portal). Prints one line of JSON."""
    from django.db import connection

    from isms.models import User

    client = signed_in_client(User.objects.get(username="bench_ciso"))
    client.get("/healthz")
    before_peak, before_now = memory_kib("VmHWM"), memory_kib("VmRSS")
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    size = lines = 0
    with connection.execute_wrapper(count):
        response = client.get(f"/acknowledgements/status/{revision_id}/?export=csv")
        if not response.streaming:
            print(json.dumps({"status": response.status_code, "error": "not a streamed CSV"}))
            return
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "status": response.status_code,
                "rows": lines - 1,  # the header; no generated name holds a newline
                "bytes": size,
                "seconds": seconds,
                "sql": statements,
                "rss_before_kib": before_now,
                "peak_before_kib": before_peak,
                "peak_kib": memory_kib("VmHWM"),
            }
        )
    )


def measure_export(env, revision_id, expected_rows):
    command = [str(PYTHON), __file__, "--export-child", str(revision_id)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-500:]}"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "error" in result:
        return result
    if result["status"] != 200:
        result["error"] = f"HTTP {result['status']}"
    elif result["rows"] != expected_rows:
        result["error"] = f"{result['rows']} rows, expected {expected_rows}"
    return result


# --- the report --------------------------------------------------------------------------


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def pad(text, width):
    """Left-justify to a width in terminal columns: kanji and kana take two."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - columns)


def report(figures, export, data, args):
    print()
    print(", ".join(f"{value:,} {name}" for name, value in data.items()))
    print(
        f"{args.requests} timed requests per page after {args.warmups} warm-up rounds, "
        "one at a time, in-process (Django's test client); SQL: statements of one request"
    )
    print()
    print(f"{'page':<46}{'median ms':>10}{'p95 ms':>9}{'SQL':>6}   goal          met")
    failed = False
    for f in figures:
        name = f"{f['persona']:<6}{f['label']}"
        if f["ms"]:
            median, p95 = statistics.median(f["ms"]), percentile(f["ms"], 95)
            met = "yes" if p95 < f["goal"] else "NO"
            times = f"{median:>10.1f}{p95:>9.1f}"
        else:
            met, times = "—", f"{'—':>10}{'—':>9}"
        sql = "—" if f["sql"] is None else str(f["sql"])
        print(f"{pad(name, 46)}{times}{sql:>6}   p95 < {f['goal']:<4}ms  {met}")
        if f["errors"]:
            failed = True
            print(f"      errors ({len(f['errors'])}): {sorted(set(f['errors']))[:3]}")
    if export is not None:
        print()
        if "error" in export and "peak_kib" not in export:
            failed = True
            print(f"ciso  CSV export: FAILED — {export['error']}")
        else:
            peak = export["peak_kib"] / 1024
            before = export["rss_before_kib"] / 1024
            met = "yes" if peak < EXPORT_GOAL_MIB else "NO"
            print(
                f"ciso  CSV export ?export=csv: {export['rows']:,} rows, "
                f"{export['bytes'] / 1024 / 1024:.1f} MiB in {export['seconds']:.2f} s, "
                f"{export['sql']} SQL statements"
            )
            print(
                f"      peak RSS of a fresh process doing only the export (VmHWM): "
                f"{peak:.0f} MiB ({before:.0f} MiB before the request, so +{peak - before:.0f})"
                f"   goal < {EXPORT_GOAL_MIB} MiB  {met}"
            )
            if "error" in export:
                failed = True
                print(f"      error: {export['error']}")
    return failed


# --- main --------------------------------------------------------------------------------


def code_state():
    """The commit measured and how many files differ from it: the pages are being changed
    while they are measured, and a figure means little without the code it is of."""

    def git(*arguments):
        done = subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=30
        )
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    changed = git("status", "--porcelain", "--untracked-files=no")
    if commit is None or changed is None:
        return "not a git checkout"
    return f"{commit}, {len(changed.splitlines())} files changed in the working tree"


def main():
    args = parse_args()
    stop_on_sigterm()
    env = portal_env(
        f"{args.server}/{args.database}",
        # Mail stays in memory: nothing printed, nothing sent.
        EMAIL_URL="memorymail://",
    )
    if args.export_child is not None:
        use_in_process(env, allowed_hosts="testserver", setup=True)
        export_child(args.export_child)
        return 0

    print("command:", shlex.join([sys.executable, *sys.argv]))
    print("code:", code_state())
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    use_in_process(env, allowed_hosts="testserver")
    keep = args.keep or args.reuse
    if not args.reuse:
        print(f"database {args.database}: creating, migrating ...", flush=True)
        drop_database(args.server, args.database, create=True)
    figures, export = [], None
    try:
        if not args.reuse:
            migrate(env)
        import django

        django.setup()
        from django.db import connections
        from django.test.utils import override_settings

        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        if args.reuse:
            people, revision_id = existing_data()
        else:
            print(
                f"building: {args.people + 3:,} people, {args.notifications:,} notifications, "
                f"{args.events:,} audit events ...",
                flush=True,
            )
            t0 = time.perf_counter()
            people, revision_id = populate(args)
            vacuum_analyze()
            print(f"  built and analysed in {time.perf_counter() - t0:.1f} s", flush=True)
        data = describe_data(people)
        from isms.models import PolicyRevision

        revision = PolicyRevision.objects.select_related("document").get(pk=revision_id)
        audience = revision.document.audience_members().count()
        # Pages render with plain static file names (no manifest: nothing is collected).
        storages = {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(STORAGES=storages):
            print("measuring the pages ...", flush=True)
            figures = measure(people, revision_id, args)
        connections.close_all()
        if not args.no_export:
            print("measuring the CSV export in a fresh process ...", flush=True)
            export = measure_export(env, revision_id, expected_rows=audience)
    finally:
        if not keep:
            drop_database(args.server, args.database)

    failed = report(figures, export, data, args)
    print()
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if failed:
        print("FAILED: see above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
