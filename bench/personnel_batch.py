#!/usr/bin/env python
"""How long the April batches of the personnel system take to check and to apply at the
design size, and whether their SQL is bounded per batch rather than per person.

Builds a throw-away PostgreSQL database with a city of 50,000 members of staff (each with
a staff number and a current posting) in 50 departments of 10 sections, the two default
role rules (部長 of a department -> department head, 課長 of a section -> section chief),
every head and chief holding their role (isms.roles.assign_role, marked as given by a rule,
as the first batch would have), two open acknowledgement campaigns (all staff, and ten
departments), two courses of the coming fiscal year (for heads and chiefs, and for five
departments) and 100,000 assets. Then, as the personnel system would for 1 April 2027:

- an ORGANISATION file (組織コード, 組織名, 種別, 上位組織コード, 終了日, 統合先コード) of the
  whole tree in which 20 sections end on 31 March and merge into a neighbour;
- a STAFF file of every member of staff (職員番号 … ログインID) in which 5,000 people move
  to another section and posts change so that about 300 roles change: chiefs promoted in
  place (the former chief becomes 主幹), chiefs and heads rotated, chiefs who become heads
  (the former head becomes 参与), the chiefs of the merged sections becoming 主幹.

Both are uploaded through isms.personnel.services.upload_batch, checked with
services.check_batch (the job's own call, in this process) and scheduled for 1 April with
services.schedule_batch; services.apply_due_batches(today=1 April) then applies the
organisation batch and the staff batch, each in its own transaction. Each check and each
apply is timed and its SQL statements counted (connection.execute_wrapper). Finally the
same staff file is uploaded, checked and applied again as a new batch, which must change
nothing.

Exits non-zero unless both batches applied, the city afterwards is exactly what the files
say (every person's section and post, one current posting each, one chief per section and
one head per department, the merged sections ended, empty and without roles), the counts
are those the scenario implies, and the repeated batch changed nothing. The database and
the uploaded files are removed in every case (unless --keep).

    .venv/bin/python bench/personnel_batch.py            # see bench/README.md

Not a test: pytest only collects tests/.
"""

import argparse
import cProfile
import csv
import datetime
import io
import os
import pstats
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass

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

APRIL = datetime.date(2027, 4, 1)
LAST_DAY = APRIL - datetime.timedelta(days=1)

# The files as the personnel system writes them (the headers of tests/personnel_helpers.py).
STAFF_HEADER = [
    "職員番号",
    "姓",
    "名",
    "セイ",
    "メイ",
    "メールアドレス",
    "所属コード",
    "役職",
    "任用区分",
    "開始日",
    "終了日",
    "ログインID",
]
UNIT_HEADER = ["組織コード", "組織名", "種別", "上位組織コード", "終了日", "統合先コード"]
KIND_WORD = {"body": "機関", "department": "部", "section": "課"}
EMPLOYMENT_WORD = {"regular": "正規", "fiscal_year": "会計年度任用", "reappointed": "再任用"}

FAMILY = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("渡辺", "ワタナベ"),
    ("伊藤", "イトウ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("大分", "オオイタ"),
    ("清水", "シミズ"),
]
GIVEN = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("一郎", "イチロウ"),
    ("美咲", "ミサキ"),
    ("健太", "ケンタ"),
    ("陽子", "ヨウコ"),
    ("翔太", "ショウタ"),
    ("由美", "ユミ"),
    ("大輔", "ダイスケ"),
    ("直美", "ナオミ"),
    ("誠", "マコト"),
    ("恵", "メグミ"),
]
# Posts without a role rule, and the promotion some movers get with their move.
ORDINARY_POSTS = ("係長", "主査", "主任", "主事")
PROMOTION = {"主事": "主任", "主任": "主査", "主査": "係長", "係長": "係長"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--staff", type=int, default=50_000, help="members of staff (50000)")
    parser.add_argument("--departments", type=int, default=50, help="departments (50)")
    parser.add_argument("--sections", type=int, default=10, help="sections per department (10)")
    parser.add_argument("--merges", type=int, default=20, help="sections merged (20)")
    parser.add_argument("--movers", type=int, default=5_000, help="people moved (5000)")
    parser.add_argument("--assets", type=int, default=100_000, help="assets (100000)")
    parser.add_argument(
        "--file",
        choices=("full", "changes"),
        default="full",
        help="files of every unit and person (full, default) or of the changes only",
    )
    parser.add_argument(
        "--profile", action="store_true", help="run each phase under cProfile and print it"
    )
    parser.add_argument(
        "--patterns", type=int, default=8, help="most repeated statements shown per phase (8)"
    )
    add_database_arguments(parser, "isms_bench_personnel")
    return parser.parse_args()


# --- the city ----------------------------------------------------------------------------


@dataclass
class Person:
    number: str
    username: str
    family: tuple[str, str]
    given: tuple[str, str]
    unit: str  # unit code
    post: str
    employment: str
    joined: datetime.date

    def row(self, unit=None, post=None):
        """The person's row of the staff file, in April's unit and post."""
        return [
            self.number,
            self.family[0],
            self.given[0],
            self.family[1],
            self.given[1],
            f"{self.username}@city.example.jp",
            unit or self.unit,
            post or self.post,
            EMPLOYMENT_WORD[self.employment],
            "",
            "",
            self.username,
        ]


@dataclass
class City:
    body: str
    departments: list[str]
    sections: dict[str, list[str]]  # department code -> its section codes
    people: list[Person]
    names: dict[str, str]  # unit code -> name

    @property
    def all_sections(self):
        return [s for d in self.departments for s in self.sections[d]]


def design_city(args, rng):
    """The city before April, in Python: units and people with their posts."""
    departments = [f"bu{d:02d}" for d in range(1, args.departments + 1)]
    sections = {d: [f"{d}-ka{s:02d}" for s in range(1, args.sections + 1)] for d in departments}
    names = {"mayor": "市長事務部局"}
    for i, d in enumerate(departments, 1):
        names[d] = f"第{i}部"
        for j, s in enumerate(sections[d], 1):
            names[s] = f"第{i}部第{j}課"
    city = City("mayor", departments, sections, [], names)
    all_sections = city.all_sections

    def person(n, unit, post, employment="regular"):
        return Person(
            number=f"{100000 + n}",
            username=f"staff{n:05d}",
            family=rng.choice(FAMILY),
            given=rng.choice(GIVEN),
            unit=unit,
            post=post,
            employment=employment,
            joined=datetime.date(1988 + rng.randrange(38), 4, 1),
        )

    for n, d in enumerate(departments):
        city.people.append(person(n, d, "部長"))
    for i in range(args.staff - len(departments)):
        n = len(departments) + i
        rank = i // len(all_sections)  # 0: the chief, 1: the deputy, then the others
        post = (
            "課長"
            if rank == 0
            else "課長補佐"
            if rank == 1
            else "係長"
            if rank < 5
            else "主査"
            if rank < 20
            else "主任"
            if rank < 50
            else "主事"
        )
        employment = "regular"
        if rank >= 2:
            employment = (
                "fiscal_year" if i % 10 == 7 else "reappointed" if i % 31 == 5 else employment
            )
        city.people.append(person(n, all_sections[i % len(all_sections)], post, employment))
    return city


@dataclass
class April:
    """What the April files say, against the city before."""

    merged: dict[str, str]  # merged section -> successor
    after: dict[str, tuple[str, str]]  # staff number -> (unit, post) from 1 April
    movers: int  # moved by the staff batch (not by a merge)
    merged_members: int  # moved by the organisation batch
    role_changes: int  # roles given by the staff batch (as many are taken)
    groups: dict[str, int]


def plan_april(city, args, rng):
    by_unit_post = {
        (p.unit, p.post): p for p in city.people if p.post in ("部長", "課長", "課長補佐")
    }
    after = {p.number: (p.unit, p.post) for p in city.people}
    if args.sections < 3:
        raise SystemExit("--sections must be 3 or more (a merge and a section that stays)")
    if args.merges > args.departments:
        raise SystemExit("--merges must not exceed --departments (one merge per department)")
    # The last section of the first departments merges into the one before it.
    merged = {city.sections[d][-1]: city.sections[d][-2] for d in city.departments[: args.merges]}
    for p in city.people:
        if p.unit in merged:
            after[p.number] = (merged[p.unit], "主幹" if p.post == "課長" else p.post)
    merged_members = sum(1 for p in city.people if p.unit in merged)

    used = set(merged) | set(merged.values())
    departments = list(city.departments)
    rng.shuffle(departments)
    n_new_heads = max(1, round(len(departments) * 0.2))
    n_rotated_heads = round(len(departments) * 0.4)
    n_rotated_heads = n_rotated_heads if n_rotated_heads >= 2 else 0
    new_heads = departments[:n_new_heads]
    rotated_heads = departments[n_new_heads : n_new_heads + n_rotated_heads]
    moved_people = set()
    # A chief becomes head of their department; the former head becomes 参与; the deputy
    # becomes chief.
    for d in new_heads:
        section = next(s for s in city.sections[d] if s not in used)
        used.add(section)
        chief = by_unit_post[(section, "課長")]
        after[chief.number] = (d, "部長")
        after[by_unit_post[(d, "部長")].number] = (d, "参与")
        after[by_unit_post[(section, "課長補佐")].number] = (section, "課長")
        moved_people.add(chief.number)
    # Heads rotate among departments.
    for i, d in enumerate(rotated_heads):
        head = by_unit_post[(d, "部長")]
        after[head.number] = (rotated_heads[(i + 1) % len(rotated_heads)], "部長")
        moved_people.add(head.number)
    pool = [s for s in city.all_sections if s not in used]
    rng.shuffle(pool)
    n_promoted = round(len(city.all_sections) * 0.12)
    n_rotated_chiefs = round(len(city.all_sections) * 0.08)
    n_rotated_chiefs = n_rotated_chiefs if n_rotated_chiefs >= 2 else 0
    promoted = pool[:n_promoted]
    rotated_chiefs = pool[n_promoted : n_promoted + n_rotated_chiefs]
    # The deputy becomes chief in place; the former chief stays as 主幹.
    for s in promoted:
        after[by_unit_post[(s, "課長")].number] = (s, "主幹")
        after[by_unit_post[(s, "課長補佐")].number] = (s, "課長")
    # Chiefs rotate among sections.
    for i, s in enumerate(rotated_chiefs):
        chief = by_unit_post[(s, "課長")]
        after[chief.number] = (rotated_chiefs[(i + 1) % len(rotated_chiefs)], "課長")
        moved_people.add(chief.number)

    # Everyone else who moves: people without a ruled post, to a section that stays; one in
    # five with a promotion.
    targets = [s for s in city.all_sections if s not in merged]
    candidates = [p for p in city.people if p.post in ORDINARY_POSTS and p.unit not in merged]
    ordinary = args.movers - len(moved_people)
    if ordinary < 0 or ordinary > len(candidates):
        raise SystemExit(f"--movers must lie between {len(moved_people)} and {len(candidates)}")
    for n, p in enumerate(rng.sample(candidates, ordinary)):
        unit = p.unit
        while unit == p.unit:
            unit = rng.choice(targets)
        after[p.number] = (unit, PROMOTION[p.post] if n % 5 == 0 else p.post)
        moved_people.add(p.number)
    groups = {
        "chiefs promoted in place": len(promoted),
        "chiefs rotated": len(rotated_chiefs),
        "heads rotated": len(rotated_heads),
        "chiefs made heads": len(new_heads),
    }
    return April(
        merged=merged,
        after=after,
        movers=len(moved_people),
        merged_members=merged_members,
        role_changes=len(promoted) + len(rotated_chiefs) + len(rotated_heads) + 2 * len(new_heads),
        groups=groups,
    )


# --- the files ---------------------------------------------------------------------------


def csv_bytes(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def organisation_file(city, april, full):
    rows = []
    if full:
        rows.append([city.body, city.names[city.body], KIND_WORD["body"], "", "", ""])
    for d in city.departments:
        if full:
            rows.append([d, city.names[d], KIND_WORD["department"], city.body, "", ""])
        for s in city.sections[d]:
            if s in april.merged:
                rows.append(
                    [
                        s,
                        city.names[s],
                        KIND_WORD["section"],
                        d,
                        LAST_DAY.isoformat(),
                        april.merged[s],
                    ]
                )
            elif full:
                rows.append([s, city.names[s], KIND_WORD["section"], d, "", ""])
    return csv_bytes(UNIT_HEADER, rows)


def staff_file(city, april, full):
    rows = []
    for p in city.people:
        unit, post = april.after[p.number]
        if full or (unit, post) != (p.unit, p.post):
            rows.append(p.row(unit, post))
    return csv_bytes(STAFF_HEADER, rows), len(rows)


# --- the database ------------------------------------------------------------------------


def populate(city, n_assets, rng):
    """The city in the database; returns the programme admin."""
    from django.db.models import Q

    from isms.models import (
        Department,
        PersonnelRoleGrant,
        Posting,
        Role,
        RoleAssignment,
        RoleRule,
        User,
    )
    from isms.roles import assign_role

    # Migration isms 0013 seeds the two default rules; a database flushed since has none.
    for post, kind, role in (
        ("部長", "department", Role.DEPARTMENT_HEAD),
        ("課長", "section", Role.SECTION_CHIEF),
    ):
        if not RoleRule.objects.filter(post=post, unit_kind=kind, unit=None, role=role).exists():
            RoleRule.objects.create(post=post, unit_kind=kind, role=role)
            print(f"  role rule {post}@{kind} -> {role} was missing: created")

    since = datetime.date(2020, 4, 1)
    body = Department.objects.create(
        code=city.body, name=city.names[city.body], kind="body", valid_from=since
    )
    departments = Department.objects.bulk_create(
        Department(
            code=d,
            name=city.names[d],
            kind="department",
            parent=body,
            sort_order=i,
            valid_from=since,
        )
        for i, d in enumerate(city.departments, 1)
    )
    units = {body.code: body} | {d.code: d for d in departments}
    sections = Department.objects.bulk_create(
        Department(
            code=s,
            name=city.names[s],
            kind="section",
            parent=units[d],
            sort_order=j,
            valid_from=since,
        )
        for d in city.departments
        for j, s in enumerate(city.sections[d], 1)
    )
    units |= {s.code: s for s in sections}

    admin = User.objects.create(username="bench_admin", password="!")
    ciso = User.objects.create(username="bench_ciso", password="!")
    assign_role(admin, Role.PROGRAMME_ADMIN)
    assign_role(ciso, Role.CISO)

    # Nobody logs in: an unusable password instead of 50,000 Argon2 hashes.
    people = User.objects.bulk_create(
        (
            User(
                username=p.username,
                staff_number=p.number,
                last_name=p.family[0],
                first_name=p.given[0],
                display_name=f"{p.family[0]} {p.given[0]}",
                family_name_reading=p.family[1],
                given_name_reading=p.given[1],
                email=f"{p.username}@city.example.jp",
                section_id=units[p.unit].pk,
                post=p.post,
                employment_type=p.employment,
                joined_on=p.joined,
                password="!",
            )
            for p in city.people
        ),
        batch_size=2000,
    )
    # bulk_create skips User.save(), which opens the first posting.
    Posting.objects.bulk_create(
        (
            Posting(
                user_id=u.pk,
                unit_id=u.section_id,
                post=u.post,
                employment_type=u.employment_type,
                valid_from=u.joined_on,
            )
            for u in people
        ),
        batch_size=2000,
    )

    # Every head and chief holds their role, as the first batch gave it.
    by_id = {u.pk: u for u in units.values()}
    for user in people:
        if user.post == "部長":
            assign_role(user, Role.DEPARTMENT_HEAD, by_id[user.section_id])
        elif user.post == "課長":
            assign_role(user, Role.SECTION_CHIEF, by_id[user.section_id])
    PersonnelRoleGrant.objects.bulk_create(
        PersonnelRoleGrant(assignment=a)
        for a in RoleAssignment.objects.filter(
            Q(role=Role.DEPARTMENT_HEAD) | Q(role=Role.SECTION_CHIEF)
        )
    )

    publish_all_staff_standard(admin, ciso)
    publish_procedure_for(admin, ciso, departments[:10])
    add_courses(admin, departments[-5:])
    if n_assets:
        add_assets(n_assets, sections, rng)
    vacuum_analyze()
    return admin


def publish_procedure_for(admin, ciso, departments):
    """A second open campaign: a procedure for named departments (people who move into
    them get their own deadline)."""
    from django.utils import timezone

    from isms import policy_actions
    from isms.models import PolicyDocument

    title = "窓口業務における個人情報取扱手順"
    document = PolicyDocument.objects.create(
        code="procedure-counter", title=title, kind="procedure", audience="departments"
    )
    document.audience_departments.set(departments)
    revision = policy_actions.create_draft(
        document,
        by=admin,
        title=title,
        body="## 第1条\n\n" + "窓口で受け取った書類は施錠保管する。\n\n" * 20,
        effective_date=timezone.localdate(),
        is_material=True,
        change_summary="ベンチマーク",
    )
    policy_actions.submit_for_review(revision, by=admin)
    policy_actions.approve(revision, by=ciso)
    revision = policy_actions.publish(revision, by=admin)
    assert revision.campaign.pk
    return revision


def add_courses(admin, departments):
    """Two published courses of the fiscal year that starts on 1 April, their audiences
    enrolled: one for heads and chiefs (a new head or chief is enrolled by the batch), one
    for five departments (so is whoever moves into them)."""
    from django.utils import timezone

    from training.models import Course
    from training.services import sync_enrolments

    for title, audience, roles in (
        ("管理職のための情報セキュリティ", "roles", ["department_head", "section_chief"]),
        ("窓口部門の個人情報保護研修", "departments", []),
    ):
        course = Course.objects.create(
            title=title,
            content="## 研修\n\n本文。",
            fiscal_year=APRIL.year,
            deadline=datetime.date(2027, 6, 30),
            audience=audience,
            roles=roles,
            is_published=True,
            published_at=timezone.now(),
            created_by=admin,
        )
        if audience == "departments":
            course.departments.set(departments)
        sync_enrolments(course, today=APRIL)


def add_assets(n_assets, sections, rng):
    """Assets spread over the sections (a merge passes its section's to the successor)."""
    from asset_register import BASE_NAMES, weighted

    from assets.models import Asset, ClassificationLevel, NetworkTier

    levels = {
        (level.axis, level.code): level
        for level in ClassificationLevel.objects.filter(scheme__is_active=True)
    }
    tiers = {tier.code: tier for tier in NetworkTier.objects.all()}

    def asset(n):
        kind, base = rng.choice(BASE_NAMES)
        confidentiality = levels[
            ("confidentiality", weighted(rng, [("1", 50), ("2", 42), ("3", 8)]))
        ]
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

    Asset.objects.bulk_create((asset(n) for n in range(1, n_assets + 1)), batch_size=2000)


# --- the measurement ---------------------------------------------------------------------

NUMBERS = re.compile(r"\b\d+\b")
PLACEHOLDERS = re.compile(r"%s(?:\s*,\s*%s)+")
VALUE_ROWS = re.compile(r"\((?:%s(?:::\w+)?\s*,?\s*)+\)(?:\s*,\s*\((?:%s(?:::\w+)?\s*,?\s*)+\))+")
CASES = re.compile(r"(?:WHEN .*? THEN .*?)(?:\s+WHEN .*? THEN .*?)+(?= ELSE| END)")


def pattern(sql):
    """The statement's shape: lists of placeholders, VALUES rows and CASE branches folded."""
    sql = PLACEHOLDERS.sub("%s…", sql)
    sql = VALUE_ROWS.sub("(…), …", sql)
    sql = CASES.sub("WHEN … THEN …", sql)
    sql = NUMBERS.sub("N", sql)
    return sql


class QueryCounter:
    """Counts the statements Django sends (execute and executemany), by their first word and
    by their shape, and the time spent in them (sending, PostgreSQL, the answer; not the
    rows fetched afterwards). The FETCHes of a server-side cursor (QuerySet.iterator() on
    PostgreSQL) are not seen: the training receiver reads its people through one."""

    def __init__(self):
        self.statements = 0
        self.seconds = 0.0
        self.by_kind = Counter()
        self.by_pattern = Counter()
        self.pattern_seconds = Counter()
        # Inside isms.roles.assign_role / revoke_role (one call per role given or taken).
        self.in_roles = 0
        self.role_calls = 0
        self.role_statements = 0
        self.role_seconds = 0.0

    def __call__(self, execute, sql_text, params, many, context):
        self.statements += 1
        if self.in_roles:
            self.role_statements += 1
        kind = sql_text.lstrip("( \n").split(None, 1)[0].upper() if sql_text else "?"
        self.by_kind[kind] += 1
        shape = pattern(sql_text)
        self.by_pattern[shape] += 1
        started = time.perf_counter()
        try:
            return execute(sql_text, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            self.pattern_seconds[shape] += elapsed


@dataclass
class Phase:
    name: str
    rows: int
    moved: int  # people the phase moves (the denominator of the per-1,000 figures)
    seconds: float = 0.0
    counter: QueryCounter | None = None
    counts: dict | None = None
    status: str = ""
    profiler: cProfile.Profile | None = None


class Measure:
    """Time and statements of one call (and its profile, if the phase has a profiler)."""

    def __init__(self, phase):
        self.phase, self.profiler = phase, phase.profiler

    def __enter__(self):
        from django.db import connection

        self.phase.counter = QueryCounter()
        self.wrapper = connection.execute_wrapper(self.phase.counter)
        self.wrapper.__enter__()
        if self.profiler:
            self.profiler.enable()
        self.started = time.perf_counter()
        return self.phase

    def __exit__(self, *exc):
        self.phase.seconds = time.perf_counter() - self.started
        if self.profiler:
            self.profiler.disable()
        self.wrapper.__exit__(*exc)
        return False


def upload(data, name, kind, admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from isms.personnel import services

    started = time.perf_counter()
    batch = services.upload_batch(
        SimpleUploadedFile(name, data, "text/csv"), kind, by=admin, effective_on=APRIL
    )
    print(f"  uploaded {name} ({len(data) / 1e6:.1f} MB) in {time.perf_counter() - started:.2f} s")
    return batch


def check(batch, phase):
    from isms.models import PersonnelBatch
    from isms.personnel import services

    with Measure(phase):
        status = services.check_batch(batch.pk)
    batch = PersonnelBatch.objects.get(pk=batch.pk)
    phase.status = status
    phase.counts = batch.preview.get("counts", {})
    if batch.errors:
        print(f"  {phase.name}: {batch.error_count} problems, first: {batch.errors[:5]}")
    return batch


def apply_due(admin, phases_by_batch):
    """services.apply_due_batches(today=1 April), each batch's apply_batch timed apart."""
    from isms.models import PersonnelBatch
    from isms.personnel import apply, services

    for batch_id in phases_by_batch:
        services.schedule_batch(batch_id, APRIL, by=admin)
    original = services.apply_batch, apply.assign_role, apply.revoke_role
    current = []

    def measured_apply_batch(batch_id, today=None):
        with Measure(phases_by_batch[batch_id]) as phase:
            current[:] = [phase.counter]
            return original[0](batch_id, today)

    def counted(function):
        def role_call(*args, **kwargs):
            counter = current[0]
            counter.in_roles += 1
            counter.role_calls += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                counter.role_seconds += time.perf_counter() - started
                counter.in_roles -= 1

        return role_call

    services.apply_batch = measured_apply_batch
    apply.assign_role, apply.revoke_role = counted(original[1]), counted(original[2])
    try:
        done = services.apply_due_batches(today=APRIL)
    finally:
        services.apply_batch, apply.assign_role, apply.revoke_role = original
    for batch_id, phase in phases_by_batch.items():
        batch = PersonnelBatch.objects.get(pk=batch_id)
        phase.status = done.get(batch_id) or batch.status
        phase.counts = batch.preview.get("counts", {})
        if batch.errors:
            print(f"  {phase.name}: {batch.error_count} problems, first: {batch.errors[:5]}")
    return done


def snapshot():
    """Row counts that a batch which changes nothing leaves as they were."""
    from acknowledgements.models import PersonalDeadline
    from isms.models import Posting, RoleAssignment, UnitChange, User
    from training.models import Enrolment

    return {
        "postings": Posting.objects.count(),
        "role assignments": RoleAssignment.objects.count(),
        "unit changes": UnitChange.objects.count(),
        "active people": User.objects.filter(is_active=True).count(),
        "personal deadlines": PersonalDeadline.objects.count(),
        "enrolments": Enrolment.objects.count(),
    }


def verify(city, april):
    """Problems with the city after April's batches (empty: as the files say)."""
    from django.db import connection
    from django.db.models import Count

    from isms.models import Department, Role, RoleAssignment, User

    problems = []
    units = dict(Department.objects.values_list("pk", "code"))
    now = {
        number: (units.get(section_id), post)
        for number, section_id, post in User.objects.filter(staff_number__isnull=False).values_list(
            "staff_number", "section_id", "post"
        )
    }
    wrong = [n for n, expected in april.after.items() if now.get(n) != expected]
    if wrong:
        problems.append(f"{len(wrong)} people not where the file puts them, e.g. {wrong[:3]}")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM isms_user u WHERE u.staff_number IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM isms_posting p WHERE p.user_id = u.id AND p.valid_until IS NULL"
            " AND p.unit_id = u.section_id)"
        )
        (unposted,) = cursor.fetchone()
    if unposted:
        problems.append(f"{unposted} people without a current posting in their section")
    holders = {
        (role, units[dept]): n
        for role, dept, n in RoleAssignment.objects.filter(
            role__in=(Role.SECTION_CHIEF, Role.DEPARTMENT_HEAD)
        )
        .values_list("role", "department_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    for d in city.departments:
        if holders.get((Role.DEPARTMENT_HEAD, d)) != 1:
            problems.append(f"{d} has {holders.get((Role.DEPARTMENT_HEAD, d), 0)} heads")
        for s in city.sections[d]:
            expected = 0 if s in april.merged else 1
            if holders.get((Role.SECTION_CHIEF, s), 0) != expected:
                problems.append(f"{s} has {holders.get((Role.SECTION_CHIEF, s), 0)} chiefs")
    merged = Department.objects.filter(code__in=april.merged)
    for unit in merged.select_related("successor"):
        if unit.valid_until != LAST_DAY or unit.successor.code != april.merged[unit.code]:
            problems.append(f"{unit.code} not ended into {april.merged[unit.code]}")
    left = User.objects.filter(is_active=True, section__in=merged).count()
    if left:
        problems.append(f"{left} people still in merged sections")
    return problems


# --- the report --------------------------------------------------------------------------


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(phases, args, build_seconds, n_patterns):
    print()
    print(
        f"{'':<32}{'rows':>7}{'moved':>7}{'seconds':>9}{'in SQL':>8}{'s/1,000':>9}{'SQL':>7}"
        f"{'SQL/1,000':>11}  status"
    )
    for p in phases:
        per_k = f"{p.seconds / p.moved * 1000:.2f}" if p.moved else "—"
        sql_k = f"{p.counter.statements / p.moved * 1000:.1f}" if p.moved else "—"
        print(
            f"{p.name:<32}{p.rows:>7}{p.moved:>7}{p.seconds:>9.2f}{p.counter.seconds:>8.2f}"
            f"{per_k:>9}{p.counter.statements:>7}{sql_k:>11}  {p.status}"
        )
    print()
    for p in phases:
        nonzero = {k: v for k, v in (p.counts or {}).items() if v}
        print(f"{p.name}: counts {nonzero or 'all 0'}")
        print(
            f"    statements: {', '.join(f'{k} {v}' for k, v in sorted(p.counter.by_kind.items()))}"
        )
        c = p.counter
        if c.role_calls:
            rest = c.statements - c.role_statements
            per_k = f", {rest / p.moved * 1000:.1f} per 1,000 moved" if p.moved else ""
            print(
                f"    {c.role_calls} assign_role/revoke_role calls: {c.role_statements} statements"
                f" ({c.role_statements / c.role_calls:.1f} each), {c.role_seconds:.2f} s;"
                f" the rest: {rest} statements{per_k}, {p.seconds - c.role_seconds:.2f} s"
            )
        slowest = sorted(p.counter.pattern_seconds.items(), key=lambda item: -item[1])
        for sql, seconds in slowest[:n_patterns]:
            if seconds < 0.1:
                break
            n = p.counter.by_pattern[sql]
            print(f"    {n:>6} × {seconds:>6.2f} s  {sql[:130]}")
        for sql, n in p.counter.by_pattern.most_common(n_patterns):
            if n < 10:
                break
            print(f"    {n:>6} ×           {sql[:130]}")
    print("(each phase: the statements that took longest in all, then the most repeated)")
    print(
        f"\nbuilding the city took {build_seconds:.1f} s; peak RSS {peak_rss_mb():.0f} MB; "
        f"files: {args.file}"
    )


def main():
    args = parse_args()
    stop_on_sigterm()
    media = tempfile.mkdtemp(prefix="isms-bench-personnel-")
    env = portal_env(f"{args.server}/{args.database}", MEDIA_ROOT=media)
    use_in_process(env)
    os.environ["MEDIA_ROOT"] = media
    # The check job is called here (services.check_batch), not run inline at the upload's
    # commit; what the services queue goes to Celery's in-memory broker and stays there.
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"

    rng = random.Random(20270401)
    city = design_city(args, rng)
    april = plan_april(city, args, rng)
    n_sections = len(city.all_sections)
    print(
        f"database {args.database}: creating, migrating, adding {len(city.people)} staff in "
        f"{args.departments} departments of {args.sections} sections ({n_sections}) ..."
    )
    drop_database(args.server, args.database, create=True)
    phases, problems = [], []
    try:
        migrate(env)
        import django

        django.setup()
        from django.conf import settings
        from django.db import connections

        assert not settings.CELERY_TASK_ALWAYS_EAGER

        t0 = time.perf_counter()
        admin = populate(city, args.assets, rng)
        build_seconds = time.perf_counter() - t0
        print(f"  built in {build_seconds:.1f} s")

        full = args.file == "full"
        org_data = organisation_file(city, april, full)
        staff_data, staff_rows = staff_file(city, april, full)
        org_rows = org_data.count(b"\r\n") - 1
        print(
            f"April: {len(april.merged)} sections merge ({april.merged_members} people), "
            f"{april.movers} people move, {april.role_changes} roles given and as many taken "
            f"({', '.join(f'{k} {v}' for k, v in april.groups.items())}), plus the "
            f"{len(april.merged)} chiefs' roles of the merged sections"
        )

        org = upload(org_data, "soshiki_20270401.csv", "organisation", admin)
        staff = upload(staff_data, "shokuin_20270401.csv", "staff", admin)
        check_org = Phase("1. check organisation", org_rows, april.merged_members)
        check_staff = Phase("2. check staff", staff_rows, april.movers)
        apply_org = Phase("3. apply organisation", org_rows, april.merged_members)
        apply_staff = Phase("4. apply staff", staff_rows, april.movers)
        if args.profile:
            for phase in (check_org, check_staff, apply_org, apply_staff):
                phase.profiler = cProfile.Profile()
        print("checking ...")
        check(org, check_org)
        check(staff, check_staff)
        phases += [check_org, check_staff]
        print("applying on 1 April ...")
        apply_due(admin, {org.pk: apply_org, staff.pk: apply_staff})
        phases += [apply_org, apply_staff]
        problems += verify(city, april)

        print("the same staff file again ...")
        before = snapshot()
        again = upload(staff_data, "shokuin_20270401_again.csv", "staff", admin)
        check_again = Phase("5. check staff again (no-op)", staff_rows, 0)
        apply_again = Phase("6. apply staff again (no-op)", staff_rows, 0)
        if args.profile:
            for phase in (check_again, apply_again):
                phase.profiler = cProfile.Profile()
        check(again, check_again)
        apply_due(admin, {again.pk: apply_again})
        phases += [check_again, apply_again]
        after = snapshot()
        if after != before:
            problems.append(f"the repeated batch changed rows: {before} -> {after}")
        connections.close_all()
    finally:
        shutil.rmtree(media, ignore_errors=True)
        if not args.keep:
            drop_database(args.server, args.database)

    report(phases, args, build_seconds, args.patterns)
    for phase in phases:
        if phase.profiler:
            out = io.StringIO()
            stats = pstats.Stats(phase.profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(35)
            stats.sort_stats("tottime").print_stats(15)
            print(f"=== profile: {phase.name} ===")
            print(out.getvalue())

    expected_statuses = ["ready", "ready", "applied", "applied", "ready", "applied"]
    for phase, status in zip(phases, expected_statuses, strict=True):
        if phase.status != status:
            problems.append(f"{phase.name}: {phase.status}, expected {status}")
    counts = apply_staff.counts or {}
    if counts.get("people_moved") != april.movers:
        problems.append(f"staff batch moved {counts.get('people_moved')}, expected {april.movers}")
    for key in ("roles_given", "roles_taken"):
        if counts.get(key) != april.role_changes:
            problems.append(f"staff batch {key} {counts.get(key)}, expected {april.role_changes}")
    if (apply_org.counts or {}).get("units_merged") != len(april.merged):
        problems.append(f"organisation batch merged {apply_org.counts}")
    for phase in (check_again, apply_again):
        if any((phase.counts or {}).values()) or not phase.counts:
            problems.append(f"{phase.name}: counts {phase.counts}, expected all 0")
    if problems:
        print("FAILED:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
