"""What a staff batch does to people: roles follow the role rules (RoleRule) through
assign_role / revoke_role and the audit trail, hand-given roles stay; leavers lose their
account, roles, sessions and tokens but keep their records; postings say who belonged
where on any past date, and neither postings nor the units' history can be rewritten."""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client, TestCase
from django.urls import reverse

from acknowledgements.services import acknowledge
from isms import tokens
from isms.exceptions import ImmutableRecordError
from isms.models import (
    AuditEvent,
    Posting,
    Role,
    SignedInSession,
    UnitChange,
    UnitChangeKind,
    User,
)
from isms.personnel import services
from isms.roles import departments_managed

from .factories import PASSWORD
from .personnel_helpers import (
    APRIL,
    MARCH_31,
    applied,
    audit_mark,
    fresh,
    inline,  # noqa: F401 - fixture
    org_batch,
    person,
    role_events,
    staff_batch,
    unit,
)

pytestmark = pytest.mark.usefixtures("inline")

MAY = datetime.date(2027, 5, 1)
ONE_DAY = datetime.timedelta(days=1)


def signs_in(username):
    response = Client().post(reverse("login"), {"username": username, "password": PASSWORD})
    return response.status_code == 302


def roles_of(user):
    return sorted(
        (a.role, a.department.code if a.department else None)
        for a in user.role_assignments.select_related("department")
    )


# Roles ---------------------------------------------------------------------------------


@pytest.fixture
def chief_moved(people):
    """chief_joho, 課長, moves to 総務課 in April; a new 課長 joins 情報政策課."""
    mark = audit_mark()
    applied(
        staff_batch(
            [
                person("1002", "somuka", post="課長", login="chief_joho"),
                person("2001", "joho", post="課長"),
            ],
            by=people["admin"],
        ),
        by=people["admin"],
    )
    return mark


def test_a_chief_who_moves_is_chief_of_the_new_section_and_no_longer_of_the_old(
    people, chief_moved
):
    chief = fresh(people["chief"])

    assert roles_of(chief) == [(Role.SECTION_CHIEF, "somuka")]
    assert list(departments_managed(chief).values_list("code", flat=True)) == ["somuka"]
    assert roles_of(User.objects.get(staff_number="2001")) == [(Role.SECTION_CHIEF, "joho")]


def test_the_role_changes_of_a_batch_are_in_the_audit_trail(people, chief_moved):
    assert role_events(after=chief_moved) == [
        ("role.assigned", "2001", "section_chief", "joho"),
        ("role.assigned", "chief_joho", "section_chief", "somuka"),
        ("role.revoked", "chief_joho", "section_chief", "joho"),
    ]
    actors = AuditEvent.objects.filter(
        id__gt=chief_moved, action__in=["role.assigned", "role.revoked"]
    ).values_list("actor__username", flat=True)
    assert set(actors) == {"admin"}


def test_a_role_given_by_hand_to_someone_who_stays_is_kept(people):
    mark = audit_mark()

    applied(
        staff_batch(
            [
                person("1100", "somu", post="次長", login="head_somu"),
                person("1200", "kansa-ka", post="主査", login="auditor"),
            ],
            by=people["admin"],
        ),
        by=people["admin"],
    )

    assert roles_of(fresh(people["head"])) == [(Role.DEPARTMENT_HEAD, "somu")]
    assert roles_of(fresh(people["auditor"])) == [(Role.AUDITOR, None)]
    assert role_events(after=mark) == []


def test_a_role_a_rule_gave_is_taken_back_when_the_rule_no_longer_matches(people):
    admin = people["admin"]
    applied(staff_batch([person("2001", "somuka", post="課長")], by=admin), by=admin)
    promoted = User.objects.get(staff_number="2001")
    assert roles_of(promoted) == [(Role.SECTION_CHIEF, "somuka")]
    mark = audit_mark()

    applied(
        staff_batch([person("2001", "somuka", post="主査")], by=admin, on=MAY), by=admin, on=MAY
    )

    assert roles_of(promoted) == []
    assert role_events(after=mark) == [("role.revoked", "2001", "section_chief", "somuka")]


# Who they are ----------------------------------------------------------------------------


def test_a_file_without_login_names_or_addresses_keeps_the_peoples_own(people):
    User.objects.filter(pk=people["staff"].pk).update(
        staff_number="1001", email="staff.joho@city.example.jp"
    )

    applied(
        staff_batch([person("1001", "gakko", email="")], by=people["admin"]),
        by=people["admin"],
    )

    staff = fresh(people["staff"])
    assert (staff.username, staff.email, staff.section.code) == (
        "staff_joho",
        "staff.joho@city.example.jp",
        "gakko",
    )
    assert signs_in("staff_joho")


# Leavers ---------------------------------------------------------------------------------


@pytest.fixture
def left(people, standard):
    """staff_joho (signed in, with an API token and an acknowledgement) and chief_joho
    leave on 31 March: the April batch lists them with that last day."""
    signed_in = Client()
    response = signed_in.post(reverse("login"), {"username": "staff_joho", "password": PASSWORD})
    assert response.status_code == 302
    token, key = tokens.issue_token(people["staff"], name="集計")
    acknowledgement, _created = acknowledge(people["staff"], standard)
    mark = audit_mark()
    applied(
        staff_batch(
            [
                person("1001", "joho", end="2027-03-31", login="staff_joho"),
                person("1002", "joho", post="課長", end="2027-03-31", login="chief_joho"),
            ],
            by=people["admin"],
        ),
        by=people["admin"],
    )
    return {
        "client": signed_in,
        "token": token,
        "key": key,
        "acknowledgement": acknowledgement,
        "mark": mark,
    }


def test_a_leaver_can_no_longer_sign_in(people, left):
    assert not fresh(people["staff"]).is_active
    assert not signs_in("staff_joho")


def test_a_leavers_sessions_and_api_tokens_end(people, left):
    assert not SignedInSession.objects.filter(user=people["staff"]).exists()
    assert left["client"].get(reverse("account")).status_code == 302
    left["token"].refresh_from_db()
    assert left["token"].revoked_at is not None
    assert tokens.authenticate(left["key"]) is None


def test_a_leaver_loses_every_role(people, left):
    assert roles_of(fresh(people["chief"])) == []
    assert role_events(after=left["mark"]) == [
        ("role.revoked", "chief_joho", "section_chief", "joho")
    ]


def test_a_leavers_acknowledgements_stay_theirs(people, standard, left):
    acknowledgement = left["acknowledgement"]
    acknowledgement.refresh_from_db()
    assert (acknowledgement.user, acknowledgement.revision) == (people["staff"], standard)


def test_a_leavers_posting_ends_on_their_last_day(people, org, left):
    staff = fresh(people["staff"])

    assert not staff.postings.current().exists()
    last = staff.postings.get(valid_until__isnull=False)
    assert (last.unit, last.valid_until) == (org["joho"], MARCH_31)
    deactivated = AuditEvent.objects.get(action="personnel.deactivated", target_id=str(staff.pk))
    assert deactivated.data["last_day"] == "2027-03-31"


def test_a_leaver_listed_in_another_section_leaves_from_where_they_worked(people, org):
    applied(
        staff_batch(
            [person("1001", "gakko", end="2027-03-31", login="staff_joho")], by=people["admin"]
        ),
        by=people["admin"],
    )

    staff = fresh(people["staff"])
    assert not staff.is_active
    assert list(staff.postings.values_list("unit__code", "valid_until")) == [("joho", MARCH_31)]


def test_a_future_leaver_is_deactivated_the_day_after_their_last_day_and_not_before(people):
    applied(
        staff_batch(
            [person("1003", "somuka", end="2027-04-30", login="staff_somuka")],
            by=people["admin"],
        ),
        by=people["admin"],
    )
    assert fresh(people["staff_somuka"]).is_active

    assert services.deactivate_leavers(today=datetime.date(2027, 4, 30)) == 0
    assert fresh(people["staff_somuka"]).is_active

    assert services.deactivate_leavers(today=MAY) == 1
    leaver = fresh(people["staff_somuka"])
    assert not leaver.is_active
    assert leaver.postings.first().valid_until == datetime.date(2027, 4, 30)  # the latest
    assert not leaver.postings.filter(valid_until__isnull=True).exists()


def test_a_new_post_without_a_move_opens_a_posting_that_says_who_held_it_when(people, org):
    chief_before = fresh(people["staff"]).postings.get()
    applied(
        staff_batch([person("1001", "joho", post="課長", login="staff_joho")], by=people["admin"]),
        by=people["admin"],
    )

    postings = list(fresh(people["staff"]).postings.order_by("valid_from"))
    assert [(p.unit_id, p.post, p.valid_from, p.valid_until) for p in postings] == [
        (org["joho"].pk, chief_before.post, chief_before.valid_from, MARCH_31),
        (org["joho"].pk, "課長", APRIL, None),
    ]


# Postings --------------------------------------------------------------------------------


def test_postings_say_who_belonged_where_on_a_past_date(people, org):
    applied(
        staff_batch(
            [
                person("1001", "gakko", login="staff_joho"),
                person("1002", "joho", end="2027-03-31", login="chief_joho"),
                person("2001", "joho"),
            ],
            by=people["admin"],
        ),
        by=people["admin"],
    )
    newcomer = User.objects.get(staff_number="2001")

    def joho_on(day):
        return set(Posting.objects.on(day).filter(unit=org["joho"]).values_list("user", flat=True))

    assert joho_on(MARCH_31) >= {people["staff"].pk, people["chief"].pk}
    assert newcomer.pk not in joho_on(MARCH_31)
    assert joho_on(APRIL) & {people["staff"].pk, people["chief"].pk, newcomer.pk} == {newcomer.pk}
    assert Posting.objects.on(APRIL).get(user=people["staff"]).unit == org["gakko"]


# Records that cannot be rewritten ---------------------------------------------------------


@pytest.fixture
def history(org, people):
    """A closed posting and an entry of a unit's history."""
    posting = Posting.objects.get(user=people["staff"])
    Posting.objects.filter(pk=posting.pk).update(valid_until=MARCH_31)
    change = UnitChange.objects.create(
        unit=org["joho"], kind=UnitChangeKind.RENAMED, effective_on=APRIL, details={"name": []}
    )
    return {"posting": Posting.objects.get(pk=posting.pk), "change": change}


def _rewritten_in_bulk(record):
    column = {"post": "課長"} if isinstance(record, Posting) else {"kind": "created"}
    type(record).objects.filter(pk=record.pk).update(**column)


MODEL_CHANGES = {
    "saved again": lambda record: record.save(),
    "deleted": lambda record: record.delete(),
    "rewritten in bulk": _rewritten_in_bulk,
    "deleted in bulk": lambda record: type(record).objects.filter(pk=record.pk).delete(),
}


@pytest.mark.parametrize("record", ["posting", "change"])
@pytest.mark.parametrize("change", MODEL_CHANGES)
def test_postings_and_unit_history_cannot_be_rewritten_through_the_models(history, record, change):
    with pytest.raises(ImmutableRecordError):
        MODEL_CHANGES[change](history[record])


SQL = {
    ("posting", "rewritten"): "UPDATE isms_posting SET post = '課長' WHERE id = %s",
    (
        "posting",
        "its end moved",
    ): "UPDATE isms_posting SET valid_until = '2027-06-30' WHERE id = %s",
    ("posting", "deleted"): "DELETE FROM isms_posting WHERE id = %s",
    ("change", "rewritten"): "UPDATE isms_unitchange SET kind = 'created' WHERE id = %s",
    ("change", "deleted"): "DELETE FROM isms_unitchange WHERE id = %s",
}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL triggers")
@pytest.mark.parametrize("record, change", SQL)
def test_the_database_refuses_to_rewrite_postings_and_unit_history(history, record, change):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SQL[record, change], [history[record].pk])


def test_a_merge_and_a_move_on_the_same_day_leave_no_posting_that_ends_before_it_begins(
    people, org
):
    admin = people["admin"]
    merge = org_batch(
        [unit("somuka", "総務課", "課", "somu", until="2027-03-31", successor="joho")], by=admin
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.schedule_batch(merge.pk, APRIL, by=admin)
    move = staff_batch([person("1003", "gakko", login="staff_somuka")], by=admin)
    applied(move, by=admin)  # the organisation batch of the day first, then this one

    postings = list(fresh(people["staff_somuka"]).postings.order_by("valid_from", "id"))
    assert [p.unit_id for p in postings] == [org["somuka"].pk, org["joho"].pk, org["gakko"].pk]
    assert all(p.valid_until is None or p.valid_until >= p.valid_from - ONE_DAY for p in postings)
    assert [p.unit_id for p in Posting.objects.on(APRIL).filter(user=people["staff_somuka"])] == [
        org["gakko"].pk
    ]


def test_a_posting_that_begins_after_the_batch_date_ends_the_day_before_it_begins(people, org):
    # Registered ahead of their start (1 May); the April file already moves them.
    newcomer = User.objects.create(
        username="future", staff_number="3001", section=org["somuka"], joined_on=MAY
    )
    applied(
        staff_batch([person("3001", "gakko", login="future")], by=people["admin"]),
        by=people["admin"],
    )

    first, second = newcomer.postings.order_by("id")
    assert (first.valid_from, first.valid_until) == (MAY, MAY - ONE_DAY)  # never held
    assert (second.unit_id, second.valid_from, second.valid_until) == (org["gakko"].pk, APRIL, None)
