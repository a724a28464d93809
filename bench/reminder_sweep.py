#!/usr/bin/env python
"""How long the daily acknowledgement sweep takes when the whole city has to be reminded.

Builds a throw-away PostgreSQL database with N members of staff (each with an e-mail
address) who all still have to acknowledge one published material revision, and runs the
Celery task acknowledgements.tasks.remind_acknowledgements in this process, as a worker would, with
Django's in-memory mail backend. Reports the wall time, the number of reminders sent, the
SQL statements issued (and per 1,000 recipients: a few per batch, plus the one UPDATE that
stamps each mail sent as it is accepted); then runs the sweep again, which must send
nothing, and reports how long that took.

Exits non-zero unless the first run sent exactly N reminders (N mails, N notifications,
N ledger rows, none left unsent) and the second sent none. The database is dropped in every case.

    .venv/bin/python bench/reminder_sweep.py            # see bench/README.md

Not a test: pytest only collects tests/.
"""

import argparse
import cProfile
import datetime
import io
import pstats
import resource
import sys
import time

from common import (
    add_database_arguments,
    drop_database,
    migrate,
    portal_env,
    publish_all_staff_standard,
    stop_on_sigterm,
    use_in_process,
    vacuum_analyze,
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--staff", type=int, default=50_000, help="members of staff (50000)")
    parser.add_argument("--sections", type=int, default=200, help="sections (200)")
    parser.add_argument(
        "--english", type=float, default=0.1, help="share of staff reading English (0.1)"
    )
    parser.add_argument(
        "--acknowledged",
        type=float,
        default=0.8,
        help="share of staff who acknowledge before the due-soon sweep (0.8)",
    )
    parser.add_argument("--profile", action="store_true", help="run the first sweep under cProfile")
    add_database_arguments(parser, "isms_bench_reminders")
    return parser.parse_args()


# --- the data ----------------------------------------------------------------------------


def populate(staff, n_sections, english):
    """One published material revision of an all-staff standard (its campaign opens with
    nobody in the audience yet), then N staff in the sections of 20 departments, none of
    whom has acknowledged it."""

    from isms.models import Department, Role, User
    from isms.roles import assign_role

    city = Department.objects.create(code="mayor", name="市長事務部局", kind="body")
    departments = Department.objects.bulk_create(
        Department(code=f"bu{d:02d}", name=f"第{d}部", kind="department", parent=city, sort_order=d)
        for d in range(1, 21)
    )
    sections = Department.objects.bulk_create(
        Department(
            code=f"ka{s:03d}",
            name=f"第{s}課",
            kind="section",
            parent=departments[s % len(departments)],
            sort_order=s,
        )
        for s in range(1, n_sections + 1)
    )
    # Nobody logs in: an unusable password instead of N Argon2 hashes.
    admin = User.objects.create(username="bench_admin", password="!")
    ciso = User.objects.create(username="bench_ciso", password="!")
    assign_role(admin, Role.PROGRAMME_ADMIN)
    assign_role(ciso, Role.CISO)
    revision = publish_all_staff_standard(admin, ciso)

    every = round(1 / english) if english else 0
    User.objects.bulk_create(
        (
            User(
                username=f"staff{n:05d}",
                display_name=f"職員{n:05d}",
                email=f"staff{n:05d}@city.example.jp",
                section=sections[n % len(sections)],
                language="en" if every and n % every == 0 else "ja",
                password="!",
            )
            for n in range(staff)
        ),
        batch_size=2000,
    )
    vacuum_analyze()
    return revision


# --- the measurement ---------------------------------------------------------------------


class QueryCounter:
    """Counts the statements Django sends (execute and executemany), by their first word.
    (The FETCH round trips of a server-side cursor, QuerySet.iterator() on PostgreSQL, would
    not be seen; the sweep uses none.)"""

    def __init__(self):
        self.statements = 0
        self.by_kind = {}

    def __call__(self, execute, sql_text, params, many, context):
        self.statements += 1
        kind = sql_text.lstrip("( \n").split(None, 1)[0].upper() if sql_text else "?"
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        return execute(sql_text, params, many, context)


def sweep(today=None, profile=False):
    """One run of the task, in this process; returns a Phase without its name."""
    from django.core import mail
    from django.db import connection

    from acknowledgements.tasks import remind_acknowledgements

    mail.outbox = []
    counter = QueryCounter()
    profiler = cProfile.Profile() if profile else None
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        # As a worker runs it: the task's own call, in this process (no broker).
        sent = remind_acknowledgements(today)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    mails = len(mail.outbox)
    mail.outbox = []
    return sent, mails, elapsed, counter, profiler


def acknowledge_share(revision, share):
    """The first share of the staff acknowledge (bulk_create, as if over the weeks)."""
    from django.utils import timezone

    from acknowledgements.models import Acknowledgement
    from isms.models import User

    people = User.objects.filter(username__startswith="staff").order_by("pk")
    count = round(people.count() * share)
    now = timezone.now()
    Acknowledgement.objects.bulk_create(
        (
            Acknowledgement(
                user_id=pk,
                revision=revision,
                content_sha256=revision.content_sha256,
                acknowledged_at=now,
            )
            for pk in people.values_list("pk", flat=True)[:count]
        ),
        batch_size=2000,
    )
    return count


def ledger_counts(campaign):
    from django.db.models import Count

    from isms.models import Notification, SentReminder

    sent = SentReminder.objects.filter(subject=f"campaign:{campaign.pk}", sent_at__isnull=False)
    return {
        "ledger": dict(sent.values_list("stage").annotate(n=Count("pk")).order_by()),
        # Every mail is stamped as it is accepted: nothing may be left claimed but unsent.
        "unsent": SentReminder.objects.filter(sent_at__isnull=True).count(),
        "notifications": Notification.objects.filter(kind__startswith="acknowledgement.").count(),
    }


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def kinds(counter):
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.by_kind.items()))


def report(phases, counts, build_seconds):
    print()
    print(f"{'':<34}{'sent':>7}{'mails':>7}{'seconds':>9}{'s/1,000':>9}{'SQL':>6}{'SQL/1,000':>11}")
    for name, (sent, mails, elapsed, counter, _profiler), _expected in phases:
        per_thousand = f"{elapsed / sent * 1000:.2f}" if sent else "—"
        sql_per_thousand = f"{counter.statements / sent * 1000:.1f}" if sent else "—"
        print(
            f"{name:<34}{sent:>7}{mails:>7}{elapsed:>9.2f}{per_thousand:>9}"
            f"{counter.statements:>6}{sql_per_thousand:>11}"
        )
    print()
    for name, (_s, _m, _e, counter, _p), _expected in phases:
        print(f"{name}: {kinds(counter)}")
    print(
        f"ledger rows sent per stage: {counts['ledger']}; notifications: "
        f"{counts['notifications']}; building the data took {build_seconds:.1f} s; "
        f"peak RSS {peak_rss_mb():.0f} MB"
    )


def main():
    args = parse_args()
    stop_on_sigterm()
    # Django's in-memory mail backend: every message is built (MIME and all) and kept. No
    # Redis: the opening notification queued at publication runs inline (and finds nobody
    # yet), and nothing else shares the run.
    env = portal_env(f"{args.server}/{args.database}", EMAIL_URL="memorymail://")
    # This process builds the data and runs the sweep with the portal's own code.
    use_in_process(env)

    print(f"database {args.database}: creating, migrating, adding {args.staff} staff ...")
    drop_database(args.server, args.database, create=True)
    phases = []
    try:
        migrate(env)
        import django

        django.setup()
        from django.conf import settings
        from django.db import connections

        assert settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"
        t0 = time.perf_counter()
        revision = populate(args.staff, args.sections, args.english)
        build_seconds = time.perf_counter() - t0
        print(f"  {args.staff} staff in {args.sections} sections in {build_seconds:.1f} s")
        campaign = revision.campaign

        def run(name, expected, **kwargs):
            print(f"{name} ...")
            phases.append((name, sweep(**kwargs), expected))

        run("1. opening sweep", args.staff, profile=args.profile)
        run("2. the same again (no-op)", 0)
        acknowledged = acknowledge_share(revision, args.acknowledged)
        print(f"  {acknowledged} acknowledge")
        due_soon = campaign.deadline - datetime.timedelta(days=3)
        run(f"3. due-soon sweep ({due_soon})", args.staff - acknowledged, today=due_soon)
        run("4. the same again (no-op)", 0, today=due_soon)
        counts = ledger_counts(campaign)
        connections.close_all()
    finally:
        if not args.keep:
            drop_database(args.server, args.database)

    report(phases, counts, build_seconds)
    if args.profile:
        out = io.StringIO()
        pstats.Stats(phases[0][1][4], stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
    pending = args.staff - acknowledged
    good = all(result[0] == result[1] == expected for _name, result, expected in phases) and (
        counts["ledger"] == {"opened": args.staff, "due_soon": pending}
        and counts["unsent"] == 0
        and counts["notifications"] == args.staff + pending
    )
    if not good:
        print("FAILED: see above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
