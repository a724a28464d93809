"""What a batch would change, worked out against the portal's state on the batch's date:
the preview shows it and apply.py writes it. Computed afresh when the batch is applied, so
a batch applied twice (or a second file with the same rows) finds nothing left to do.

Reads in bulk: the whole tree (a few hundred units), the people of the file by staff
number and by login name, and their role assignments, each a few queries per 5,000 rows."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from ..imports import RowError
from ..models import (
    DEPARTMENTAL_ROLES,
    BatchKind,
    BatchStatus,
    Department,
    DepartmentKind,
    PersonnelBatch,
    RoleAssignment,
    RoleRule,
    User,
)
from .rows import StaffRow, UnitRow

CHUNK = 5000
LEVEL = {DepartmentKind.BODY: 0, DepartmentKind.DEPARTMENT: 1, DepartmentKind.SECTION: 2}
# Items of each kind listed in a stored preview (the counts are always whole).
PREVIEW_LIMIT = 1000


@dataclass
class RoleChange:
    user: User | None  # None: a person the batch creates (found by staff number on apply)
    row: StaffRow
    give: list[tuple[str, Department | None]] = field(default_factory=list)
    take: list[RoleAssignment] = field(default_factory=list)


@dataclass
class Plan:
    kind: str
    on: datetime.date
    errors: list[RowError] = field(default_factory=list)
    # organisation
    units_created: list[UnitRow] = field(default_factory=list)
    units_changed: list[tuple[Department, UnitRow, dict]] = field(default_factory=list)
    units_ended: list[tuple[Department, UnitRow]] = field(default_factory=list)
    units_merged: list[tuple[Department, UnitRow]] = field(default_factory=list)
    members: dict[int, int] = field(default_factory=dict)  # unit id -> people posted there
    # staff
    people_created: list[StaffRow] = field(default_factory=list)
    people_moved: list[tuple[User, StaffRow, Department]] = field(default_factory=list)
    people_updated: list[tuple[User, StaffRow, dict]] = field(default_factory=list)
    people_leaving: list[tuple[User, StaffRow]] = field(default_factory=list)
    people_returning: list[tuple[User, StaffRow]] = field(default_factory=list)
    roles: list[RoleChange] = field(default_factory=list)
    units: dict[str, Department] = field(default_factory=dict)

    def counts(self):
        return {
            "units_created": len(self.units_created),
            "units_renamed": sum(1 for _u, _r, c in self.units_changed if "name" in c),
            "units_moved": sum(1 for _u, _r, c in self.units_changed if "parent" in c),
            "units_updated": len(self.units_changed),
            "units_ended": len(self.units_ended),
            "units_merged": len(self.units_merged),
            "people_created": len(self.people_created),
            "people_moved": len(self.people_moved),
            "people_updated": len(self.people_updated),
            "people_leaving": len(self.people_leaving),
            "people_returning": len(self.people_returning),
            "roles_given": sum(len(c.give) for c in self.roles),
            "roles_taken": sum(len(c.take) for c in self.roles),
        }

    def preview(self):
        """What the batch page shows, as JSON: the counts and the first PREVIEW_LIMIT items
        of each list."""

        def unit_label(unit):
            return f"{unit.code} {unit.name}" if unit is not None else ""

        def capped(items):
            return items[:PREVIEW_LIMIT]

        return {
            "on": self.on.isoformat(),
            "counts": self.counts(),
            "units_created": capped(
                [{"code": r.code, "name": r.name, "parent": r.parent} for r in self.units_created]
            ),
            "units_changed": capped(
                [{"code": u.code, "name": u.name, "changes": c} for u, _r, c in self.units_changed]
            ),
            "units_ended": capped(
                [
                    {"code": u.code, "name": u.name, "until": r.valid_until.isoformat()}
                    for u, r in self.units_ended
                ]
            ),
            "units_merged": capped(
                [
                    {
                        "code": u.code,
                        "name": u.name,
                        "until": r.valid_until.isoformat(),
                        "into": unit_label(self.units.get(r.successor)) or r.successor,
                        "members": self.members.get(u.pk, 0),
                    }
                    for u, r in self.units_merged
                ]
            ),
            "people_created": capped(
                [
                    {
                        "staff_number": r.staff_number,
                        "name": r.display_name,
                        "section": unit_label(self.units.get(r.section)) or r.section,
                        "post": r.post or "",
                    }
                    for r in self.people_created
                ]
            ),
            "people_moved": capped(
                [
                    {
                        "staff_number": r.staff_number,
                        "name": r.display_name,
                        "from": unit_label(self.units_by_id.get(u.section_id)),
                        "to": unit_label(to),
                        "post": u.post if r.post is None else r.post,
                    }
                    for u, r, to in self.people_moved
                ]
            ),
            "people_updated": capped(
                [
                    {
                        "staff_number": r.staff_number,
                        "name": r.display_name,
                        "fields": sorted(changes),
                    }
                    for _u, r, changes in self.people_updated
                ]
            ),
            "people_leaving": capped(
                [
                    {
                        "staff_number": r.staff_number,
                        "name": r.display_name,
                        "last_day": r.end_date.isoformat(),
                    }
                    for _u, r in self.people_leaving
                ]
            ),
            "people_returning": capped(
                [
                    {"staff_number": r.staff_number, "name": r.display_name}
                    for _u, r in self.people_returning
                ]
            ),
            "roles": capped(
                [
                    {
                        "staff_number": c.row.staff_number,
                        "name": c.row.display_name,
                        "given": [[role, unit_label(unit)] for role, unit in c.give],
                        "taken": [
                            [a.role, unit_label(self.units_by_id.get(a.department_id))]
                            for a in c.take
                        ],
                    }
                    for c in self.roles
                ]
            ),
        }

    @cached_property
    def units_by_id(self):
        """The units of the tree read for the plan, by id (apply.py's digest adds those it
        creates)."""
        return {u.pk: u for u in self.units.values() if u.pk}


def _tree():
    """Every unit by code, with its parent attached from the same read (one query)."""
    units = list(Department.objects.order_by())
    by_id = {u.pk: u for u in units}
    for unit in units:
        unit.parent = by_id.get(unit.parent_id)
    return {u.code: u for u in units}


def staying(on):
    """Active people whose last working day (if any) is not before `on`: a leaver whose
    last day has passed leaves from where they worked, even before the job that
    deactivates them has run."""
    return Q(is_active=True) & (Q(left_on__isnull=True) | Q(left_on__gte=on))


def _members_by_unit(on):
    return dict(
        User.objects.filter(staying(on), section__isnull=False)
        .order_by()
        .values_list("section_id")
        .annotate(n=Count("pk"))
    )


# --- organisation ------------------------------------------------------------------------


def plan_organisation(rows, on, errors=None):
    plan = Plan(BatchKind.ORGANISATION, on, errors=list(errors or []))
    units = _tree()
    plan.units = units
    in_file = {}
    for row in rows:
        if row.code in in_file:
            plan.errors.append(
                RowError(
                    row.row,
                    "code",
                    _("Row %(row)s has this code too.") % {"row": in_file[row.code].row},
                )
            )
            continue
        in_file[row.code] = row

    def kind_of(code):
        if code in in_file:
            return in_file[code].kind
        return units[code].kind if code in units else None

    def ends(code):
        if code in in_file and in_file[code].valid_until:
            return True
        unit = units.get(code)
        return unit is not None and unit.valid_until is not None and unit.valid_until < on

    members = _members_by_unit(on)
    plan.members = members
    parent_after = {code: (u.parent.code if u.parent else "") for code, u in units.items()}
    parent_after.update({code: r.parent for code, r in in_file.items()})
    for code, row in in_file.items():
        before = len(plan.errors)
        if row.parent:
            if kind_of(row.parent) is None:
                plan.errors.append(RowError(row.row, "parent", _("No unit has this code.")))
            elif LEVEL[kind_of(row.parent)] >= LEVEL[row.kind]:
                plan.errors.append(
                    RowError(
                        row.row,
                        "parent",
                        _("A body holds departments, a department holds sections."),
                    )
                )
            elif ends(row.parent) and not row.valid_until:
                plan.errors.append(
                    RowError(row.row, "parent", _("This unit ends; its children must move."))
                )
        elif row.kind != DepartmentKind.BODY:
            plan.errors.append(
                RowError(row.row, "parent", _("A department or section needs its parent."))
            )
        if row.successor:
            if kind_of(row.successor) is None:
                plan.errors.append(RowError(row.row, "successor", _("No unit has this code.")))
            elif ends(row.successor):
                plan.errors.append(RowError(row.row, "successor", _("The successor ends too.")))
        unit = units.get(code)
        if unit is not None and row.valid_until and unit.valid_until is None:
            staying = [
                child_code
                for child_code, parent_code in parent_after.items()
                if parent_code == code and not ends(child_code)
            ]
            if staying:
                plan.errors.append(
                    RowError(
                        row.row,
                        "valid_until",
                        _("Units below this one do not end or move: %(codes)s.")
                        % {"codes": ", ".join(sorted(staying)[:10])},
                    )
                )
            if members.get(unit.pk) and not row.successor:
                plan.errors.append(
                    RowError(
                        row.row,
                        "successor",
                        _("%(count)s people are posted here: name a successor, or move them first.")
                        % {"count": members[unit.pk]},
                    )
                )
        if len(plan.errors) > before:
            continue
        if unit is None:
            plan.units_created.append(row)
            continue
        if row.valid_until and unit.valid_until is None:
            (plan.units_merged if row.successor else plan.units_ended).append((unit, row))
            continue
        changes = {}
        if row.name != unit.name:
            changes["name"] = [unit.name, row.name]
        if row.parent != (unit.parent.code if unit.parent else ""):
            changes["parent"] = [unit.parent.code if unit.parent else "", row.parent]
        if row.kind != unit.kind:
            changes["kind"] = [unit.kind, row.kind]
        if row.name_en and row.name_en != unit.name_en:
            changes["name_en"] = [unit.name_en, row.name_en]
        if row.sort_order is not None and row.sort_order != unit.sort_order:
            changes["sort_order"] = [unit.sort_order, row.sort_order]
        if row.valid_from and row.valid_from != unit.valid_from:
            changes["valid_from"] = [
                unit.valid_from.isoformat() if unit.valid_from else None,
                row.valid_from.isoformat(),
            ]
        if changes:
            plan.units_changed.append((unit, row, changes))
    _cycle_check(plan, in_file, parent_after)
    return plan


def _cycle_check(plan, in_file, parent_after):
    for code, row in in_file.items():
        seen, node = set(), code
        while node:
            if node in seen:
                plan.errors.append(
                    RowError(row.row, "parent", _("A unit cannot be its own ancestor."))
                )
                break
            seen.add(node)
            node = parent_after.get(node, "")


# --- staff -------------------------------------------------------------------------------


def pending_units(batch):
    """Units that organisation batches scheduled on or before `batch`'s date will have
    created when it applies: a staff file may already post people there."""
    if batch is None or batch.effective_on is None:
        return {}
    found = {}
    for earlier in PersonnelBatch.objects.filter(
        kind=BatchKind.ORGANISATION,
        status=BatchStatus.SCHEDULED,
        effective_on__lte=batch.effective_on,
    ).exclude(pk=batch.pk):
        for data in earlier.rows:
            found[data["code"]] = Department(
                code=data["code"], name=data["name"], kind=data["kind"]
            )
    return found


def plan_staff(rows, on, errors=None, *, extra_units=None):
    plan = Plan(BatchKind.STAFF, on, errors=list(errors or []))
    units = _tree()
    plan.units = {**(extra_units or {}), **units}
    rules = list(RoleRule.objects.select_related("unit"))
    seen_numbers, seen_logins = {}, {}
    valid = []
    for row in rows:
        problems = len(plan.errors)
        repeated_number = row.staff_number in seen_numbers
        if repeated_number:
            plan.errors.append(
                RowError(
                    row.row,
                    "staff_number",
                    _("Row %(row)s has this staff number too.")
                    % {"row": seen_numbers[row.staff_number]},
                )
            )
        seen_numbers.setdefault(row.staff_number, row.row)
        # Without a login column the login name is the staff number: a repeated number is
        # one problem, of the staff number, not a second one of the empty login cell.
        if row.username in seen_logins and (row.login or not repeated_number):
            plan.errors.append(
                RowError(
                    row.row,
                    "login",
                    _("Row %(row)s has this login name too.") % {"row": seen_logins[row.username]},
                )
            )
        seen_logins.setdefault(row.username, row.row)
        unit = plan.units.get(row.section)
        if unit is None:
            plan.errors.append(RowError(row.row, "section", _("No unit has this code.")))
        elif unit.valid_until is not None and unit.valid_until < on:
            plan.errors.append(
                RowError(
                    row.row,
                    "section",
                    _("This unit ended on %(date)s.") % {"date": unit.valid_until.isoformat()},
                )
            )
        if len(plan.errors) == problems:
            valid.append((row, unit))

    by_number, by_login = _people_of(valid)
    assignments = _assignments_of(
        [p.pk for p in by_number.values()] + [p.pk for p in by_login.values()]
    )
    for row, unit in valid:
        person = by_number.get(row.staff_number)
        # Without a login name, a person the portal knows keeps theirs (_plan_person): only
        # a newcomer takes the staff number as theirs.
        holder = by_login.get(row.username) if row.login or person is None else None
        if holder is not None and person is not None and holder.pk != person.pk:
            plan.errors.append(RowError(row.row, "login", _("Another person has this login name.")))
            continue
        if person is None and holder is not None:
            if holder.staff_number:
                plan.errors.append(
                    RowError(
                        row.row,
                        "login",
                        _("This login name belongs to staff number %(number)s.")
                        % {"number": holder.staff_number},
                    )
                )
                continue
            person = holder  # an account made before the personnel system named it
        _plan_person(
            plan, row, unit, person, assignments.get(person.pk, []) if person else [], rules, on
        )
    return plan


def _people_of(valid):
    numbers = [row.staff_number for row, _unit in valid]
    logins = [row.username for row, _unit in valid]
    by_number, by_login = {}, {}
    fields = (
        "pk",
        "username",
        "staff_number",
        "first_name",
        "last_name",
        "display_name",
        "family_name_reading",
        "given_name_reading",
        "email",
        "section_id",
        "post",
        "employment_type",
        "left_on",
        "is_active",
        "joined_on",
    )
    for start in range(0, len(numbers), CHUNK):
        for person in User.objects.filter(staff_number__in=numbers[start : start + CHUNK]).only(
            *fields
        ):
            by_number[person.staff_number] = person
    # Whoever was found by staff number holds their own login name: only the other login
    # names are looked up (in a file of people already known, none), so that 50,000 rows
    # load 50,000 people, not twice as many.
    by_login = {person.username: person for person in by_number.values()}
    logins = [login for login in logins if login not in by_login]
    for start in range(0, len(logins), CHUNK):
        for person in User.objects.filter(username__in=logins[start : start + CHUNK]).only(*fields):
            by_login[person.username] = person
    return by_number, by_login


def _assignments_of(user_ids):
    found = defaultdict(list)
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), CHUNK):
        # The user and the unit too: revoke_role() reads both (a query each per role taken).
        for assignment in RoleAssignment.objects.filter(
            user_id__in=ids[start : start + CHUNK]
        ).select_related("personnel_grant", "user", "department"):
            found[assignment.user_id].append(assignment)
    return found


def _line_of(unit):
    """The unit and those above it (parents attached by _tree)."""
    ids, node = set(), unit
    while node is not None:
        if node.pk:
            ids.add(node.pk)
        node = node.parent
    return ids


def wanted_roles(rules, post, unit):
    wanted = []
    for rule in rules:
        if rule.matches(post, unit):
            key = (rule.role, unit if rule.role in DEPARTMENTAL_ROLES else None)
            if key not in wanted:
                wanted.append(key)
    return wanted


def _plan_person(plan, row, unit, person, held, rules, on):
    leaves_now = row.end_date is not None and row.end_date < on
    if person is None:
        if leaves_now:
            plan.errors.append(
                RowError(
                    row.row,
                    "end_date",
                    _("A new person whose last day lies before the batch's date."),
                )
            )
            return
        plan.people_created.append(row)
        give = wanted_roles(rules, row.post or "", unit)
        if give:
            plan.roles.append(RoleChange(None, row, give=give))
        return

    if not person.is_active:
        if leaves_now:
            return  # gone already, and the file says so too
        if person.left_on is None:
            # Deactivated in the portal (a suspended account), not by leaving: a file of the
            # personnel system does not switch it back on.
            plan.errors.append(
                RowError(
                    row.row,
                    "staff_number",
                    _("This account was deactivated in the portal; reactivate it there first."),
                )
            )
            return
        plan.people_returning.append((person, row))
    # A leaver whose last day has passed leaves from where they worked: a section the file
    # names for them is not a move (no posting, no digest entry in a unit they never joined).
    moved = person.section_id != unit.pk and not leaves_now
    if moved:
        plan.people_moved.append((person, row, unit))
    changes = {}
    fields = [
        ("last_name", row.family_name),
        ("first_name", row.given_name),
        ("display_name", row.display_name),
        ("family_name_reading", row.family_name_reading),
        ("given_name_reading", row.given_name_reading),
        ("post", person.post if row.post is None else row.post),
        (
            "employment_type",
            person.employment_type if row.employment_type is None else row.employment_type,
        ),
        ("staff_number", row.staff_number),
    ]
    # A login name or an address left blank (or a file without those columns: a personnel
    # system that does not keep them) changes nothing: the person keeps the login name
    # they sign in with (not their staff number) and the address their mail goes to.
    if row.login:
        fields.append(("username", row.login))
    if row.email:
        fields.append(("email", row.email))
    for name, value in fields:
        if getattr(person, name) != value:
            changes[name] = value
    if (row.end_date or None) != person.left_on:
        changes["left_on"] = row.end_date
        if row.end_date is not None:
            plan.people_leaving.append((person, row))
    if row.start_date and person.joined_on is None:
        changes["joined_on"] = row.start_date
    if changes:
        plan.people_updated.append((person, row, changes))

    # Roles: what the rules give for the post and unit on the batch's date, against what the
    # person holds. A rule's role that no longer applies goes; so does any departmental role
    # outside the new unit's line when the person moves (a chief who moves is no longer the
    # chief of the old section). A leaver keeps theirs until the last day (then all go).
    post = person.post if row.post is None else row.post
    wanted = [] if leaves_now else wanted_roles(rules, post, unit)
    wanted_keys = {(role, u.pk if u is not None else None) for role, u in wanted}
    line = _line_of(unit)
    take = []
    for assignment in held:
        key = (assignment.role, assignment.department_id)
        if key in wanted_keys:
            continue
        rule_given = _has_grant(assignment)
        outside = assignment.role in DEPARTMENTAL_ROLES and assignment.department_id not in line
        if rule_given or (moved and outside) or leaves_now:
            take.append(assignment)
    held_keys = {(a.role, a.department_id) for a in held}
    give = [
        (role, u) for role, u in wanted if (role, u.pk if u is not None else None) not in held_keys
    ]
    if give or take:
        plan.roles.append(RoleChange(person, row, give=give, take=take))


def _has_grant(assignment):
    try:
        return assignment.personnel_grant is not None
    except RoleAssignment.personnel_grant.RelatedObjectDoesNotExist:
        return False
