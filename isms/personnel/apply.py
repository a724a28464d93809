"""Writing a plan (plan.py): units first, then people, then their roles, then what follows
(the signals people_moved and unit_merged, which the apps answer). Everything happens in
the caller's transaction (services.apply_batch), so a batch is applied whole or not at
all, and a worker killed half-way leaves the batch scheduled for the next run.

Bounded per batch, not per person: people are created, moved and updated with bulk
statements in chunks; only role changes (through assign_role / revoke_role, which keep the
django-guardian grants and write the audit trail) and leavers (whose sessions and tokens
end with their account) go one at a time."""

import datetime
from collections import defaultdict

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

from .. import audit, signals
from ..audit import AuditAction
from ..models import (
    BatchKind,
    Department,
    PersonnelRoleGrant,
    Posting,
    RoleAssignment,
    UnitChange,
    UnitChangeKind,
    User,
    department_id_of,
)
from ..roles import assign_role, revoke_role
from .plan import CHUNK, LEVEL, staying

DAY = datetime.timedelta(days=1)


class Digest:
    """Who joined and who left each department, for its heads: names and sections only
    of that department's own people."""

    def __init__(self, units_by_id):
        self.units = units_by_id
        self.departments = defaultdict(lambda: {"joined": [], "left": []})

    def moved(self, name, old_unit_id, new_unit_id):
        old = self.units.get(old_unit_id) if old_unit_id else None
        new = self.units.get(new_unit_id) if new_unit_id else None
        old_department = department_id_of(old) if old else None
        new_department = department_id_of(new) if new else None
        if old_department == new_department:
            return
        if old_department:
            self.departments[old_department]["left"].append(f"{old.name} {name}")
        if new_department:
            self.departments[new_department]["joined"].append(f"{new.name} {name}")

    def as_json(self):
        return {str(k): v for k, v in self.departments.items()}


def apply_plan(plan, batch, *, by):
    """Write the plan; returns the digest of joiners and leavers per department."""
    digest = Digest(plan.units_by_id)
    if plan.kind == BatchKind.ORGANISATION:
        _apply_organisation(plan, batch, by, digest)
    else:
        _apply_staff(plan, batch, by, digest)
    return digest


# --- organisation ------------------------------------------------------------------------


def _apply_organisation(plan, batch, by, digest):
    on = plan.on
    by_code = {code: unit for code, unit in plan.units.items() if unit.pk}
    history = []
    for row in sorted(plan.units_created, key=lambda r: LEVEL[r.kind]):
        unit = Department.objects.create(
            code=row.code,
            name=row.name,
            name_en=row.name_en,
            kind=row.kind,
            parent=by_code.get(row.parent) if row.parent else None,
            sort_order=row.sort_order or 0,
            valid_from=row.valid_from or on,
        )
        by_code[unit.code] = unit
        digest.units[unit.pk] = unit
        history.append(
            UnitChange(
                unit=unit,
                kind=UnitChangeKind.CREATED,
                effective_on=on,
                details={"name": row.name},
                batch=batch,
            )
        )
    for stale, row, changes in plan.units_changed:
        unit = Department.objects.get(pk=stale.pk)
        unit.name = row.name
        unit.kind = row.kind
        unit.parent = by_code.get(row.parent) if row.parent else None
        if row.name_en:
            unit.name_en = row.name_en
        if row.sort_order is not None:
            unit.sort_order = row.sort_order
        if row.valid_from:
            unit.valid_from = row.valid_from
        unit.full_clean(exclude=["code"])
        unit.save()
        by_code[unit.code] = unit
        if "name" in changes:
            kind = UnitChangeKind.RENAMED
        elif "parent" in changes:
            kind = UnitChangeKind.MOVED
        else:
            kind = UnitChangeKind.UPDATED
        history.append(
            UnitChange(unit=unit, kind=kind, effective_on=on, details=changes, batch=batch)
        )
    for stale, row in plan.units_ended:
        unit = _end(stale, row.valid_until, None, by)
        history.append(
            UnitChange(
                unit=unit,
                kind=UnitChangeKind.ENDED,
                effective_on=on,
                details={"until": row.valid_until.isoformat()},
                batch=batch,
            )
        )
    for stale, row in plan.units_merged:
        successor = by_code[row.successor]
        unit = _end(stale, row.valid_until, successor, by)
        # Its people, not its former staff: a leaver's section stays the record of where
        # they last worked, with no posting in a unit they never joined.
        members = list(
            User.objects.filter(staying(on), section=unit).only(
                "pk", "display_name", "username", "section_id", "post", "employment_type"
            )
        )
        for person in members:
            person.section_id = successor.pk
        _move_people(members, on, batch, digest)
        moved_records = {"members": len(members)}
        for _receiver, counts in signals.unit_merged.send(
            sender=Department, unit=unit, successor=successor, on=on, batch=batch, by=by
        ):
            moved_records.update(counts or {})
        history.append(
            UnitChange(
                unit=unit,
                kind=UnitChangeKind.MERGED,
                effective_on=on,
                other_unit=successor,
                details=moved_records,
                batch=batch,
            )
        )
        history.append(
            UnitChange(
                unit=successor,
                kind=UnitChangeKind.RECEIVED,
                effective_on=on,
                other_unit=unit,
                details=moved_records,
                batch=batch,
            )
        )
        if members:
            signals.people_moved.send(
                sender=User,
                moves=[(p.pk, unit.pk, successor.pk) for p in members],
                on=on,
                batch=batch,
            )
    UnitChange.objects.bulk_create(history)


def _end(stale, last_day, successor, by):
    unit = Department.objects.get(pk=stale.pk)
    unit.valid_until = last_day
    unit.successor = successor
    unit.save(update_fields=["valid_until", "successor"])
    # A role on a unit that no longer exists protects nothing and would keep escalations
    # going to it.
    for assignment in RoleAssignment.objects.filter(department=unit).select_related("user"):
        revoke_role(assignment, by=by)
    return unit


# --- staff -------------------------------------------------------------------------------


def _apply_staff(plan, batch, by, digest):
    on = plan.on
    units = {code: unit for code, unit in plan.units.items()}
    missing = [code for code, unit in units.items() if unit.pk is None]
    if missing:  # created meanwhile by an organisation batch of the same date
        for unit in Department.objects.filter(code__in=missing):
            units[unit.code] = unit
            digest.units[unit.pk] = unit
    created = _create_people(plan.people_created, units, on, batch, digest)

    updated_fields = set()
    for person, _row, changes in plan.people_updated:
        for name, value in changes.items():
            setattr(person, name, value)
            updated_fields.add(name)
    if updated_fields:
        _bulk_update([p for p, _r, _c in plan.people_updated], sorted(updated_fields))

    returning = [person.pk for person, _row in plan.people_returning]
    for start in range(0, len(returning), CHUNK):
        User.objects.filter(pk__in=returning[start : start + CHUNK]).update(is_active=True)
    movers = {}
    for person, _row, unit in plan.people_moved:
        movers[person.pk] = (person, unit)
    for person, row in plan.people_returning:
        movers.setdefault(person.pk, (person, units[row.section]))
    moves = []
    people = []
    for person, unit in movers.values():
        moves.append((person.pk, person.section_id, unit.pk))
        person.section_id = unit.pk
        people.append(person)
    _move_people(people, on, batch, digest)
    # A new post or employment type without a move opens a posting too, so that the
    # history says who held which post when.
    leaving_now = {p.pk for p, row in plan.people_leaving if row.end_date < on}
    _move_people(
        [
            person
            for person, _row, changes in plan.people_updated
            if {"post", "employment_type"} & set(changes)
            and person.pk not in movers
            and person.pk not in leaving_now
        ],
        on,
        batch,
        digest,
    )

    granted = []
    for change in plan.roles:
        person = change.user or created[change.row.staff_number]
        for assignment in change.take:
            revoke_role(assignment, by=by)
        for role, unit in change.give:
            if unit is not None and unit.pk is None:
                unit = units[unit.code]
            assignment = assign_role(person, role, unit, by=by)
            granted.append(PersonnelRoleGrant(assignment=assignment, batch=batch))
    # Marked as given by a rule in one statement; a role already marked keeps its grant.
    PersonnelRoleGrant.objects.bulk_create(granted, batch_size=CHUNK, ignore_conflicts=True)

    for person, row in plan.people_leaving:
        if row.end_date < on:
            deactivate(person, by=by, batch=batch, digest=digest)

    joined = [(p.pk, None, p.section_id) for p in created.values()]
    # A new role without a move may call for a course of that role.
    moving = {m[0] for m in moves} | {j[0] for j in joined}
    new_roles = [
        (c.user.pk, c.user.section_id, c.user.section_id)
        for c in plan.roles
        if c.user is not None and c.give and c.user.pk not in moving
    ]
    if moves or joined or new_roles:
        signals.people_moved.send(sender=User, moves=moves + joined + new_roles, on=on, batch=batch)


def _create_people(rows, units, on, batch, digest):
    if not rows:
        return {}
    unusable = make_password(None)  # signs in through the directory or a reset, never this
    people = [
        User(
            username=row.username,
            staff_number=row.staff_number,
            last_name=row.family_name,
            first_name=row.given_name,
            display_name=row.display_name,
            family_name_reading=row.family_name_reading,
            given_name_reading=row.given_name_reading,
            email=row.email,
            section_id=units[row.section].pk,
            post=row.post or "",
            employment_type=row.employment_type or "",
            joined_on=row.start_date or on,
            left_on=row.end_date,
            password=unusable,
        )
        for row in rows
    ]
    created = {}
    for start in range(0, len(people), CHUNK):
        chunk = User.objects.bulk_create(people[start : start + CHUNK])
        if any(p.pk is None for p in chunk):  # a database that returns no ids
            ids = dict(
                User.objects.filter(staff_number__in=[p.staff_number for p in chunk]).values_list(
                    "staff_number", "pk"
                )
            )
            for person in chunk:
                person.pk = ids[person.staff_number]
        for person in chunk:
            created[person.staff_number] = person
    _open_postings(people, batch)
    for person in people:
        digest.moved(str(person), None, person.section_id)
    return created


def _move_people(people, on, batch, digest):
    """People whose section_id is already set to their new unit: close their current
    posting the day before `on`, open the new one, save the section. Bulk, in chunks."""
    if not people:
        return
    ids = [p.pk for p in people]
    old_units = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        old_units.update(User.objects.filter(pk__in=chunk).values_list("pk", "section_id"))
        Posting.objects.filter(user_id__in=chunk).end_before(on)
    _open_postings(people, batch, valid_from=on)
    _bulk_update(people, ["section", "post", "employment_type"])
    for person in people:
        digest.moved(str(person), old_units.get(person.pk), person.section_id)


def _open_postings(people, batch, valid_from=None):
    """A posting for each person in their section, post and employment type, from
    `valid_from` (a newcomer: from the day they join)."""
    Posting.objects.bulk_create(
        [
            Posting(
                user_id=p.pk,
                unit_id=p.section_id,
                post=p.post,
                employment_type=p.employment_type,
                valid_from=valid_from or p.joined_on,
                batch=batch,
            )
            for p in people
        ],
        batch_size=CHUNK,
    )


def _bulk_update(people, fields):
    """Write `fields` of `people`: one UPDATE … FROM (VALUES …) per CHUNK people.

    QuerySet.bulk_update() builds a CASE WHEN branch for every person in every field and
    resolves each as an expression, seconds of Python for the April batch's thousands of
    people (bench/personnel_batch.py); this sends the same rows as plain values."""
    if not people:
        return
    if connection.vendor != "postgresql":  # the SQLite demo: small, and no ::casts
        User.objects.bulk_update(people, fields, batch_size=500)
        return
    pk = User._meta.pk
    columns = [User._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    row = (
        "("
        + ", ".join(
            f"%s::{f.rel_db_type(connection) if f is pk else f.db_type(connection)}"
            for f in [pk, *columns]
        )
        + ")"
    )
    names = ", ".join(quote(f.column) for f in [pk, *columns])
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    table = quote(User._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(people), CHUNK):
            chunk = people[start : start + CHUNK]
            params = []
            for person in chunk:
                params.append(person.pk)
                params += [
                    f.get_db_prep_save(getattr(person, f.attname), connection) for f in columns
                ]
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} FROM (VALUES "
                + ", ".join([row] * len(chunk))
                + f") AS v({names}) WHERE t.{quote(pk.column)} = v.{quote(pk.column)}",
                params,
            )


def deactivate(person, *, by=None, batch=None, digest=None):
    """A leaver after their last day: every role taken back (no escalation reaches them
    again), their posting closed on the last day, their account deactivated, which ends
    their sessions and revokes their API tokens (isms.sessions, isms.tokens). Their records
    stay, and stay theirs."""
    person = User.objects.get(pk=person.pk)
    if not person.is_active:
        return False
    last_day = person.left_on or timezone.localdate()
    for assignment in RoleAssignment.objects.filter(user=person).select_related("user"):
        revoke_role(assignment, by=by)
    Posting.objects.filter(user=person).end_before(last_day + DAY)
    person.is_active = False
    # save() of the section would open a posting: the section stays as it was, the
    # record of where the person last worked.
    person.save(update_fields=["is_active"])
    audit.record(
        AuditAction.PERSON_DEACTIVATED,
        actor=by,
        target=person,
        data={
            "user": person.username,
            "last_day": last_day.isoformat(),
            "batch": batch.pk if batch else None,
        },
    )
    if digest is not None:
        digest.moved(str(person), person.section_id, None)
    return True
