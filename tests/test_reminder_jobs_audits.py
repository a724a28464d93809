"""audits.tasks: remind_corrective_actions (to the owner and the assigned auditor) and
remind_self_inspections (to the department head and the section chiefs of the department)."""

import datetime

import pytest
from django.utils import timezone

from audits.models import (
    AuditorAssignment,
    ChecklistVersion,
    CorrectiveAction,
    Cycle,
    CycleKind,
    Finding,
    FindingStatus,
    Inspection,
    SubmissionStatus,
)
from audits.tasks import remind_corrective_actions, remind_self_inspections
from isms.eras import to_era
from isms.models import Notification, Role, User
from isms.roles import assign_role

from .factories import UserFactory
from .reminder_helpers import (
    assert_links_to,
    assert_rerun_sends_nothing,
    give_addresses,
    in_english,
    mail_by_username,
    mail_to,
    speaks_english,
)


@pytest.fixture(autouse=True)
def addresses(people):
    give_addresses(people)


def days(n):
    return datetime.timedelta(days=n)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def checklist(db):
    return ChecklistVersion.objects.create(name="点検項目", version=1)


@pytest.fixture
def make_cycle(checklist, org, people, today):
    def make(kind, *, name, starts_on=None, due_on=None, departments=("somu", "kyoiku")):
        cycle = Cycle.objects.create(
            name=name,
            kind=kind,
            fiscal_year=2025,
            checklist=checklist,
            starts_on=starts_on or today - days(60),
            due_on=due_on or today + days(30),
            created_by=people["admin"],
        )
        units = [org[code] for code in departments]
        cycle.departments.set(units)
        Inspection.objects.bulk_create(Inspection(cycle=cycle, department=u) for u in units)
        return cycle

    return make


# --- corrective actions ---------------------------------------------------------------------


@pytest.fixture
def second_auditor(org):
    auditor = UserFactory(
        username="auditor2", section=org["kansa"], email="auditor2@city.example.jp"
    )
    assign_role(auditor, Role.AUDITOR, None)
    return auditor


@pytest.fixture
def actions(make_cycle, org, people, second_auditor, today):
    """An audit of 総務部 (by auditor) and 教育部 (by auditor2), each with a finding whose
    corrective action is due in ten days, and a closed finding in 総務部 long overdue."""
    cycle = make_cycle(CycleKind.AUDIT, name="令和7年度情報セキュリティ監査")
    AuditorAssignment.objects.create(cycle=cycle, department=org["somu"], auditor=people["auditor"])
    AuditorAssignment.objects.create(cycle=cycle, department=org["kyoiku"], auditor=second_auditor)

    def finding_with_action(department, title, owner, due_on, status=FindingStatus.ACTION_PLANNED):
        finding = Finding.objects.create(
            cycle=cycle,
            department=org[department],
            area="technical",
            title=title,
            severity="minor",
            description="指摘",
            status=status,
            created_by=people["auditor"],
        )
        action = CorrectiveAction.objects.create(
            finding=finding,
            owner=owner,
            plan=f"{title}の改善計画",
            due_on=due_on,
            created_by=owner,
        )
        return action

    due = today + days(10)
    return {
        "due": due,
        "somu": finding_with_action("somu", "パスワード管理", people["chief"], due),
        "kyoiku": finding_with_action("kyoiku", "端末の持出し", people["other_head"], due),
        "closed": finding_with_action(
            "somu", "入退室記録", people["head"], today - days(30), FindingStatus.CLOSED
        ),
    }


def action_title(stage, title, due):
    return {
        "due_soon": f"【改善措置の期限が近づいています】{title}（期限：{to_era(due)}）",
        "overdue": f"【改善措置の期限超過】{title}（期限：{to_era(due)}）",
    }[stage]


@pytest.mark.parametrize(
    ("days_left", "stage"), [(7, "due_soon"), (0, "due_soon"), (-1, "overdue")]
)
def test_a_corrective_action_goes_to_its_owner_and_the_departments_auditor(
    actions, mailoutbox, days_left, stage
):
    due = actions["due"]
    today = due - days(days_left)
    remind_corrective_actions(today=today)

    somu = action_title(stage, "パスワード管理", due)
    kyoiku = action_title(stage, "端末の持出し", due)
    assert mail_by_username(mailoutbox) == {
        "chief_joho": [somu],
        "auditor": [somu],
        "head_kyoiku": [kyoiku],
        "auditor2": [kyoiku],
    }
    assert set(Notification.objects.values_list("kind", flat=True)) == {
        f"corrective_action.{stage}"
    }
    assert_rerun_sends_nothing(remind_corrective_actions, mailoutbox, today=today)


def test_nothing_is_sent_while_the_due_date_is_far(actions, mailoutbox):
    assert remind_corrective_actions(today=actions["due"] - days(8)) == 0
    assert mailoutbox == []


def test_each_action_stage_goes_out_once(actions, mailoutbox):
    due = actions["due"]
    for today, count in [
        (due - days(5), 4),
        (due - days(1), 0),
        (due + days(1), 4),
        (due + days(20), 0),
    ]:
        assert remind_corrective_actions(today=today) == count, today
    assert len(mailoutbox) == 8


def test_the_reminder_is_in_the_persons_language_and_links_to_the_finding(
    actions, people, mailoutbox
):
    auditor = speaks_english(people["auditor"])
    due = actions["due"]
    remind_corrective_actions(today=due + days(2))
    finding = actions["somu"].finding
    (mail,) = mail_to(mailoutbox, auditor)
    assert mail.subject == f"Corrective action overdue since {in_english(due)}: パスワード管理"
    assert mail.body.startswith("パスワード管理の改善計画")
    assert_links_to(mail, f"/audits/findings/{finding.pk}/")
    (owner_mail,) = mail_to(mailoutbox, people["chief"])
    assert owner_mail.subject == action_title("overdue", "パスワード管理", due)
    assert_links_to(owner_mail, f"/audits/findings/{finding.pk}/")


def test_closing_the_finding_ends_the_reminders(actions, mailoutbox):
    due = actions["due"]
    remind_corrective_actions(today=due - days(3))
    Finding.objects.filter(pk=actions["somu"].finding_id).update(status=FindingStatus.CLOSED)
    mailoutbox.clear()
    remind_corrective_actions(today=due + days(1))
    assert set(mail_by_username(mailoutbox)) == {"head_kyoiku", "auditor2"}


def test_an_owner_who_left_is_not_reminded_but_the_auditor_is(actions, people, mailoutbox):
    User.objects.filter(pk=people["chief"].pk).update(is_active=False)
    remind_corrective_actions(today=actions["due"] - days(3))
    sent = mail_by_username(mailoutbox)
    assert "chief_joho" not in sent and "auditor" in sent


# --- self-inspections -----------------------------------------------------------------------


@pytest.fixture
def gakko_chief(org):
    chief = UserFactory(
        username="chief_gakko", section=org["gakko"], email="chief_gakko@city.example.jp"
    )
    assign_role(chief, Role.SECTION_CHIEF, org["gakko"])
    return chief


@pytest.fixture
def inspections(make_cycle, gakko_chief, today):
    """A self-inspection of 総務部 and 教育部 starting today and due in thirty days, and an
    audit cycle over the same departments (its inspections are not self-inspections)."""
    cycle = make_cycle(
        CycleKind.SELF_INSPECTION,
        name="令和7年度自己点検",
        starts_on=today,
        due_on=today + days(30),
    )
    make_cycle(CycleKind.AUDIT, name="令和7年度監査")
    return {i.department.code: i for i in cycle.inspections.select_related("department")}


def inspection_title(stage, cycle):
    era = to_era(cycle.due_on)
    return {
        "opened": f"【自己点検の開始】{cycle.name}（期限：{era}）",
        "due_soon": f"【自己点検の期限が近づいています】{cycle.name}（期限：{era}）",
        "overdue": f"【自己点検の期限超過】{cycle.name}（期限：{era}）",
    }[stage]


@pytest.mark.parametrize(
    ("days_left", "stage"), [(30, "opened"), (8, "opened"), (7, "due_soon"), (-1, "overdue")]
)
def test_a_self_inspection_goes_to_the_head_and_chiefs_of_the_department(
    inspections, mailoutbox, days_left, stage
):
    cycle = inspections["somu"].cycle
    today = cycle.due_on - days(days_left)
    remind_self_inspections(today=today)

    title = inspection_title(stage, cycle)
    assert mail_by_username(mailoutbox) == {
        "head_somu": [title],
        "chief_joho": [title],
        "head_kyoiku": [title],
        "chief_gakko": [title],
    }
    assert set(Notification.objects.values_list("kind", flat=True)) == {f"inspection.{stage}"}
    assert_rerun_sends_nothing(remind_self_inspections, mailoutbox, today=today)


def test_each_department_is_sent_its_own_inspection(inspections, people, gakko_chief, mailoutbox):
    remind_self_inspections(today=inspections["somu"].cycle.starts_on)
    for user, department in [
        (people["head"], "somu"),
        (people["chief"], "somu"),
        (people["other_head"], "kyoiku"),
        (gakko_chief, "kyoiku"),
    ]:
        (mail,) = mail_to(mailoutbox, user)
        inspection = inspections[department]
        assert mail.body.startswith(
            f"{inspection.department.name}のチェックリストに回答し、提出してください。"
        )
        assert_links_to(mail, f"/audits/inspections/{inspection.pk}/")


def test_nothing_before_the_cycle_starts(inspections, mailoutbox):
    cycle = inspections["somu"].cycle
    assert remind_self_inspections(today=cycle.starts_on - days(1)) == 0
    assert mailoutbox == []


def test_each_inspection_stage_goes_out_once(inspections, mailoutbox):
    cycle = inspections["somu"].cycle
    for today, count in [
        (cycle.starts_on, 4),
        (cycle.starts_on + days(1), 0),
        (cycle.due_on - days(7), 4),
        (cycle.due_on, 0),
        (cycle.due_on + days(1), 4),
        (cycle.due_on + days(9), 0),
    ]:
        assert remind_self_inspections(today=today) == count, today
    assert len(mailoutbox) == 12


def test_an_inspection_reminder_is_in_the_persons_language(inspections, people, mailoutbox):
    head = speaks_english(people["head"])
    cycle = inspections["somu"].cycle
    remind_self_inspections(today=cycle.due_on - days(2))
    (mail,) = mail_to(mailoutbox, head)
    assert mail.subject == f"Self-inspection due {in_english(cycle.due_on)}: {cycle.name}"
    assert mail.body.startswith("Answer the checklist for 総務部 and submit it.")


def test_a_submitted_inspection_is_not_reminded_and_a_returned_one_is(inspections, mailoutbox):
    cycle = inspections["somu"].cycle
    Inspection.objects.filter(pk=inspections["somu"].pk).update(status=SubmissionStatus.SUBMITTED)
    remind_self_inspections(today=cycle.due_on - days(3))
    assert set(mail_by_username(mailoutbox)) == {"head_kyoiku", "chief_gakko"}

    Inspection.objects.filter(pk=inspections["somu"].pk).update(status=SubmissionStatus.RETURNED)
    mailoutbox.clear()
    remind_self_inspections(today=cycle.due_on + days(1))
    assert set(mail_by_username(mailoutbox)) == {
        "head_somu",
        "chief_joho",
        "head_kyoiku",
        "chief_gakko",
    }


def test_a_chief_who_left_is_not_reminded_of_the_inspection(inspections, people, mailoutbox):
    User.objects.filter(pk=people["chief"].pk).update(is_active=False)
    remind_self_inspections(today=inspections["somu"].cycle.starts_on)
    assert set(mail_by_username(mailoutbox)) == {"head_somu", "head_kyoiku", "chief_gakko"}
