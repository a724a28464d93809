"""What follows a batch in the apps: a person who moves is asked to acknowledge what their
new unit's audience must (by a deadline counted from the move), enrolled in the courses
that now concern them, and loses the old unit's assets and its head's view of them at
once; a merged unit passes its assets, open findings, corrective actions and
self-inspections to its successor, with history; the heads get a digest of their own
department's joiners and leavers, once."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from acknowledgements.services import audience_in_scope, pending_campaigns, people_status
from assets.access import visible_assets
from assets.models import AssetChange
from audits import services as audits
from audits.models import Area, CycleKind, FindingStatus, Severity
from audits.starter_checklist import load_starter_checklist
from isms import tasks
from isms.models import BatchStatus, Notification, Posting, Role, UnitChange, User
from isms.personnel import services
from training.models import Course, CourseAudience, Enrolment

from .personnel_helpers import (
    APRIL,
    MARCH_31,
    applied,
    fresh,
    inline,  # noqa: F401 - fixture
    org_batch,
    person,
    staff_batch,
    unit,
)

pytestmark = pytest.mark.usefixtures("inline")


@pytest.fixture
def swapped(people):
    """In April staff_joho moves to 学校教育課 (教育部) and staff_kyoiku to 情報政策課 (総務部)."""
    applied(
        staff_batch(
            [
                person("1001", "gakko", login="staff_joho"),
                person("1005", "joho", login="staff_kyoiku"),
            ],
            by=people["admin"],
        ),
        by=people["admin"],
    )


# Acknowledgements, assets and the heads' view --------------------------------------------


def due_dates(user):
    return {c.revision.document.code: c.due_on for c in pending_campaigns(fresh(user))}


def test_a_person_who_moves_in_is_asked_for_the_new_units_procedure_by_a_deadline_from_the_move(
    people, standard, procedure
):
    assert set(due_dates(people["other_staff"])) == {"standard"}

    applied(
        staff_batch([person("1005", "joho", login="staff_kyoiku")], by=people["admin"]),
        by=people["admin"],
    )

    assert due_dates(people["other_staff"]) == {
        "standard": standard.campaign.deadline,
        "procedure": APRIL + datetime.timedelta(days=settings.ACKNOWLEDGEMENT_DEADLINE_DAYS),
    }


def test_a_person_who_moves_out_is_no_longer_asked_for_the_old_units_procedure(
    people, procedure, swapped
):
    assert set(due_dates(people["staff"])) == {"standard"}


def test_a_person_who_moves_no_longer_sees_the_old_sections_restricted_assets(
    people, register, swapped
):
    seen = set(visible_assets(fresh(people["staff"])).values_list("name", flat=True))

    assert "庁内グループウェア" not in seen  # 情報政策課, confidential
    assert {"成績処理システム", "市ホームページ"} <= seen  # 学校教育課's own, and public


def test_the_old_head_no_longer_sees_a_person_who_moved_out_in_the_acknowledgement_status(
    people, standard
):
    staff = people["staff"]
    assert audience_in_scope(standard, people["head"]).filter(pk=staff.pk).exists()

    applied(
        staff_batch([person("1001", "gakko", login="staff_joho")], by=people["admin"]),
        by=people["admin"],
    )

    assert not people_status(standard, fresh(people["head"])).filter(pk=staff.pk).exists()
    assert people_status(standard, fresh(people["other_head"])).filter(pk=staff.pk).exists()


# Training ---------------------------------------------------------------------------------


def course(admin, **fields):
    return Course.objects.create(
        title=fields.pop("title", "研修"),
        content="本文",
        fiscal_year=2027,
        is_published=True,
        published_at=timezone.now(),
        created_by=admin,
        **fields,
    )


def test_a_newcomer_is_enrolled_in_the_new_staff_course_due_from_their_first_day(people):
    induction = course(people["admin"], deadline=datetime.date(2027, 6, 30), for_new_staff=True)

    applied(
        staff_batch(
            [person("2001", "joho"), person("1001", "gakko", login="staff_joho")],
            by=people["admin"],
        ),
        by=people["admin"],
    )

    assert list(
        Enrolment.objects.filter(course=induction).values_list("user__username", "due_on")
    ) == [("2001", APRIL + datetime.timedelta(days=settings.NEW_STAFF_COURSE_DAYS))]


def test_a_person_promoted_to_chief_is_enrolled_in_the_chiefs_course(people):
    chiefs = course(
        people["admin"],
        deadline=datetime.date(2027, 4, 15),
        audience=CourseAudience.ROLES,
        roles=[Role.SECTION_CHIEF],
    )

    applied(
        staff_batch(
            [person("1003", "somuka", post="課長", login="staff_somuka")], by=people["admin"]
        ),
        by=people["admin"],
    )

    assert list(
        Enrolment.objects.filter(course=chiefs).values_list("user__username", "due_on")
    ) == [("staff_somuka", APRIL + datetime.timedelta(days=settings.NEW_STAFF_COURSE_DAYS))]


# Reorganisation ---------------------------------------------------------------------------


@pytest.fixture
def somuka_records(org, people, register):
    """総務課's self-inspection in progress, an open finding with its corrective action and
    a closed one."""
    admin, auditor, head = people["admin"], people["auditor"], people["head"]
    today = timezone.localdate()
    cycle = audits.open_cycle(
        by=admin,
        departments=[org["somuka"]],
        name="令和8年度 自己点検",
        kind=CycleKind.SELF_INSPECTION,
        fiscal_year=2026,
        checklist=load_starter_checklist(),
        starts_on=today,
        due_on=today + datetime.timedelta(days=200),
    )
    audits.assign_auditor(cycle, org["somuka"], auditor, by=admin)

    def finding(title):
        found = audits.record_finding(
            by=auditor,
            cycle=cycle,
            department=org["somuka"],
            area=Area.HUMAN,
            title=title,
            severity=Severity.MINOR,
            description=title,
        )
        audits.add_corrective_action(
            found, by=head, owner=head, plan="見直す", due_on=today + datetime.timedelta(days=30)
        )
        return found

    closed = finding("閉じた指摘")
    audits.close_finding(closed, by=auditor)
    return {"cycle": cycle, "open": finding("開いた指摘"), "closed": closed}


@pytest.fixture
def merged(org, people, somuka_records):
    """総務課 ends on 31 March, merged into 情報政策課; 学校教育課 is renamed."""
    batch = applied(
        org_batch(
            [
                unit("somuka", "総務課", "課", "somu", until="2027-03-31", successor="joho"),
                unit("gakko", "学校教育推進課", "課", "kyoiku"),
            ],
            by=people["admin"],
        ),
        by=people["admin"],
    )
    assert batch.status == BatchStatus.APPLIED
    return batch


def test_a_merged_sections_assets_belong_to_its_successor_with_a_history_entry(
    org, people, register, merged
):
    asset = register["somuka_secret"]
    asset.refresh_from_db()

    assert asset.section == org["joho"]
    entry = AssetChange.objects.filter(asset=asset).latest("pk")
    assert (entry.changes, entry.changed_by) == (
        {"section": ["総務課", "情報政策課"]},
        people["admin"],
    )
    assert "総務課" in entry.reason and "情報政策課" in entry.reason


def test_a_merged_sections_open_findings_and_inspection_pass_to_its_successor_closed_ones_stay(
    org, somuka_records, merged
):
    for record in somuka_records.values():
        record.refresh_from_db()

    assert somuka_records["open"].department == org["joho"]
    assert somuka_records["open"].corrective_actions.count() == 1
    assert somuka_records["closed"].department == org["somuka"]
    cycle = somuka_records["cycle"]
    assert list(cycle.inspections.values_list("department__code", flat=True)) == ["joho"]
    assert set(cycle.departments.values_list("code", flat=True)) == {"somuka", "joho"}


def test_the_assigned_auditor_still_closes_a_finding_passed_to_the_successor(
    people, somuka_records, merged
):
    finding = audits.close_finding(somuka_records["open"], by=people["auditor"])

    assert finding.status == FindingStatus.CLOSED


def test_the_history_of_both_units_records_the_merge_with_counts(org, merged):
    moved = {
        "members": 1,
        "assets": 1,
        "findings": 1,
        "corrective_actions": 1,
        "self_inspections": 1,
    }

    ended = UnitChange.objects.get(unit=org["somuka"])
    received = UnitChange.objects.get(unit=org["joho"])
    renamed = UnitChange.objects.get(unit=org["gakko"])
    assert (ended.kind, ended.other_unit, ended.effective_on, ended.details) == (
        "merged",
        org["joho"],
        APRIL,
        moved,
    )
    assert (received.kind, received.other_unit, received.details) == (
        "received",
        org["somuka"],
        moved,
    )
    assert (renamed.kind, renamed.details) == (
        "renamed",
        {"name": ["学校教育課", "学校教育推進課"]},
    )


def test_a_merged_sections_people_move_to_its_successor_on_the_merge_date(org, people, merged):
    member = fresh(people["staff_somuka"])

    assert member.section == org["joho"]
    assert Posting.objects.on(MARCH_31).get(user=member).unit == org["somuka"]
    assert Posting.objects.on(APRIL).get(user=member).unit == org["joho"]


def test_a_leaver_of_a_merged_section_stays_where_they_last_worked(org, people):
    admin = people["admin"]
    applied(
        staff_batch([person("1003", "somuka", end="2027-03-31", login="staff_somuka")], by=admin),
        by=admin,
    )
    may = datetime.date(2027, 5, 1)

    batch = applied(
        org_batch(
            [unit("somuka", "総務課", "課", "somu", until="2027-04-30", successor="joho")],
            by=admin,
            on=may,
        ),
        by=admin,
        on=may,
    )

    leaver = fresh(people["staff_somuka"])
    assert leaver.section == org["somuka"]
    assert not Posting.objects.on(may).filter(user=leaver).exists()
    assert batch.preview["units_merged"][0]["members"] == 0
    assert UnitChange.objects.get(unit=org["somuka"]).details["members"] == 0


def test_a_staff_file_may_post_people_to_a_unit_an_organisation_file_creates_that_day(people):
    admin = people["admin"]
    units = org_batch([unit("dx", "デジタル推進課", "課", "somu")], by=admin)
    # Only an organisation batch that is scheduled counts: one merely uploaded may never be.
    assert staff_batch([person("2001", "dx")], by=admin).status == BatchStatus.REJECTED
    services.schedule_batch(units.pk, APRIL, by=admin)
    staff = staff_batch([person("2001", "dx", post="課長")], by=admin)
    assert staff.status == BatchStatus.READY, staff.errors
    services.schedule_batch(staff.pk, APRIL, by=admin)

    done = services.apply_due_batches(today=APRIL)

    assert list(done.items()) == [(units.pk, "applied"), (staff.pk, "applied")]
    newcomer = User.objects.get(staff_number="2001")
    assert newcomer.section.code == "dx"
    assert list(newcomer.role_assignments.values_list("role", "department__code")) == [
        (Role.SECTION_CHIEF, "dx")
    ]


# The heads' digest ------------------------------------------------------------------------


@pytest.fixture
def april_digest(people):
    """総務部 gains 山田 (new, 総務課) and 竹田 (from 教育部) and loses 臼杵 (leaves);
    教育部 gains 佐藤 (new) and loses 竹田."""
    return applied(
        staff_batch(
            [
                person("2001", "somuka", family="山田", given="花子"),
                person("2002", "gakko", family="佐藤", given="次郎"),
                person("1005", "joho", family="竹田", given="結衣", login="staff_kyoiku"),
                person(
                    "1003",
                    "somuka",
                    family="臼杵",
                    given="恵",
                    end="2027-03-31",
                    login="staff_somuka",
                ),
            ],
            by=people["admin"],
        ),
        by=people["admin"],
    )


def digest_lines(user):
    (notification,) = Notification.objects.filter(recipient=user, kind="personnel.digest")
    return {line for line in notification.body.splitlines() if line.startswith("- ")}


def test_each_head_is_told_only_of_their_own_departments_joiners_and_leavers(people, april_digest):
    assert set(
        Notification.objects.filter(kind="personnel.digest").values_list("recipient", flat=True)
    ) == {people["head"].pk, people["other_head"].pk}
    assert digest_lines(people["head"]) == {
        "- 総務課 山田 花子",
        "- 情報政策課 竹田 結衣",
        "- 総務課 臼杵 恵",
    }
    assert digest_lines(people["other_head"]) == {
        "- 学校教育課 佐藤 次郎",
        "- 学校教育課 竹田 結衣",
    }


def test_the_digest_is_sent_once(people, april_digest):
    sent = Notification.objects.filter(kind="personnel.digest").count()

    assert tasks.send_personnel_digest(april_digest.pk) == 0

    assert Notification.objects.filter(kind="personnel.digest").count() == sent == 2
