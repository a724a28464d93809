"""What the jobs' notifications and mail carry: never text its recipient may not read.

Every job of the portal runs over a city where 総務部 and 教育部 each have their own finding,
corrective action, department-only policy document, department-only course and unreviewed
assets; then everything each person of one department received (mail subject and body, the
in-app notification) is searched for what belongs to the other department only. A
corrective action owner who can no longer read the finding is reminded without its title
and plan."""

import datetime

import pytest
from django.utils import timezone

from acknowledgements.tasks import remind_acknowledgements
from assets.tasks import remind_asset_reviews
from audits import services as audit_services
from audits.models import CorrectiveAction, CycleKind
from audits.tasks import remind_corrective_actions, remind_self_inspections
from isms.eras import fiscal_year, to_era
from isms.models import Notification, Role, RoleAssignment
from isms.roles import assign_role, revoke_role
from isms.tasks import weekly_summary
from training import services as courses
from training.models import Course
from training.tasks import remind_training

from .audit_helpers import open_cycle, record_finding
from .conftest import ROLES, publish
from .factories import DocumentFactory, UserFactory
from .reminder_helpers import assert_links_to, give_addresses, in_english, mail_to

# Text that only 総務部 may read, and text that only 教育部 may read.
SOMU_ONLY = [
    "総務部",
    "情報政策課",
    "総務課",
    "staff_joho",
    "staff_somuka",
    "chief_joho",
    "head_somu",
    "総務部の所見",
    "総務部の改善計画",
    "運用手順",
    "総務部限定研修",
]
KYOIKU_ONLY = [
    "教育部",
    "学校教育課",
    "staff_kyoiku",
    "head_kyoiku",
    "chief_gakko",
    "教育部の所見",
    "教育部の改善計画",
    "教育部の手順",
    "教育部限定研修",
]
# Who may read what of the other department: the CISO's office reads everything (and gets
# the weekly summary); the auditor audits 総務部 only; the anonymous visitor gets nothing.
MUST_NOT_READ = {
    "staff": KYOIKU_ONLY,
    "staff_somuka": KYOIKU_ONLY,
    "chief": KYOIKU_ONLY,
    "head": KYOIKU_ONLY,
    "other_head": SOMU_ONLY,
    "other_staff": SOMU_ONLY,
    "chief_gakko": SOMU_ONLY,
    "auditor": ["教育部の所見", "教育部の改善計画"],
    "ciso": [],
    "admin": [],
}


def days(n):
    return datetime.timedelta(days=n)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def city(org, people, documents, make_asset, today):
    """Each department's own audit work, documents, courses and assets."""
    chief_gakko = UserFactory(username="chief_gakko", section=org["gakko"])
    assign_role(chief_gakko, Role.SECTION_CHIEF, org["gakko"])
    auditor2 = UserFactory(username="auditor2", section=org["kansa"])
    assign_role(auditor2, Role.AUDITOR, None)
    people = {**people, "chief_gakko": chief_gakko, "auditor2": auditor2}
    give_addresses(people)

    audit = open_cycle(
        people, [org["somu"], org["kyoiku"]], name="令和7年度監査", kind=CycleKind.AUDIT
    )
    audit_services.assign_auditor(audit, org["somu"], people["auditor"], by=people["admin"])
    audit_services.assign_auditor(audit, org["kyoiku"], auditor2, by=people["admin"])
    somu_finding = record_finding(audit, org["somu"], by=people["auditor"], title="総務部の所見")
    kyoiku_finding = record_finding(audit, org["kyoiku"], by=auditor2, title="教育部の所見")
    due = today + days(3)
    somu_action = audit_services.add_corrective_action(
        somu_finding, by=people["head"], owner=people["chief"], plan="総務部の改善計画", due_on=due
    )
    audit_services.add_corrective_action(
        kyoiku_finding,
        by=people["other_head"],
        owner=people["other_head"],
        plan="教育部の改善計画",
        due_on=due,
    )
    open_cycle(people, [org["somu"], org["kyoiku"]], name="令和7年度自己点検")

    kyoiku_procedure = DocumentFactory(
        code="kyoiku-procedure", title="教育部の手順", kind="procedure", audience="departments"
    )
    kyoiku_procedure.audience_departments.add(org["kyoiku"])
    publish(kyoiku_procedure, author=people["admin"], approver=people["ciso"], body="## 手順")

    for title, unit in (("総務部限定研修", "somu"), ("教育部限定研修", "kyoiku")):
        course = Course.objects.create(
            title=title,
            content="## 研修",
            fiscal_year=fiscal_year(today),
            deadline=today + days(40),
            audience="departments",
            created_by=people["admin"],
        )
        course.departments.set([org[unit]])
        courses.publish_course(course, by=people["admin"])

    make_asset("joho", c="2", name="総務部の資産")
    make_asset("gakko", c="2", name="教育部の資産")
    return {"people": people, "somu_action": somu_action, "due": due}


def received(user, mailoutbox):
    """Everything the person was sent: mail and in-app notifications."""
    texts = [f"{m.subject}\n{m.body}" for m in mail_to(mailoutbox, user)]
    texts += [
        f"{title}\n{body}"
        for title, body in Notification.objects.filter(recipient=user).values_list("title", "body")
    ]
    return texts


def run_every_job(today, settings):
    remind_corrective_actions(today=today)
    remind_self_inspections(today=today)
    escalation_day = today + days(45 + settings.ESCALATION_AFTER_DAYS)
    remind_acknowledgements(today=escalation_day)
    remind_training(today=escalation_day)
    remind_asset_reviews(today=today)
    weekly_summary(today=today)


@pytest.mark.parametrize("role", [*ROLES, "staff_somuka", "other_staff", "chief_gakko"])
def test_no_job_sends_anyone_text_of_a_department_they_may_not_read(
    city, role, today, settings, mailoutbox
):
    run_every_job(today, settings)
    if role == "anonymous":
        # Nobody outside the staff gets anything.
        assert {m.to[0].split("@")[0] for m in mailoutbox} <= {
            u.username for u in city["people"].values()
        }
        return
    user = city["people"][role]
    texts = received(user, mailoutbox)
    assert texts, f"{role} received nothing: the test would prove nothing"
    leaked = {secret for secret in MUST_NOT_READ[role] for text in texts if secret in text}
    assert not leaked, f"{role} was sent {sorted(leaked)}"


def test_the_heads_digest_lists_only_their_own_departments_people(
    city, today, settings, mailoutbox
):
    run_every_job(today, settings)
    people = city["people"]
    digests = {
        role: [m for m in mail_to(mailoutbox, people[role]) if "未完了者" in m.subject]
        for role in ("head", "other_head")
    }
    assert digests["head"] and digests["other_head"]
    for mail in digests["other_head"]:
        names = [line[2:] for line in mail.body.splitlines() if line.startswith("- ")]
        assert names and all(name.startswith(("教育部 ", "学校教育課 ")) for name in names)
    for mail in digests["head"]:
        names = [line[2:] for line in mail.body.splitlines() if line.startswith("- ")]
        assert names and all(
            name.startswith(("総務部 ", "情報政策課 ", "総務課 ")) for name in names
        )


@pytest.fixture
def moved_owner(city, org):
    """The owner of 総務部's corrective action moved to 教育部 and is no longer a chief."""
    chief = city["people"]["chief"]
    chief.section = org["gakko"]
    chief.save()
    revoke_role(RoleAssignment.objects.get(user=chief, role=Role.SECTION_CHIEF))
    return chief


def test_an_owner_who_can_no_longer_read_the_finding_is_reminded_without_its_title_or_plan(
    city, moved_owner, mailoutbox
):
    due = city["due"]
    remind_corrective_actions(today=due - days(1))

    (mail,) = mail_to(mailoutbox, moved_owner)
    assert (
        mail.subject
        == f"【改善措置の期限が近づいています】あなたが担当する改善措置（期限：{to_era(due)}）"
    )
    assert "総務部の所見" not in mail.subject + mail.body
    assert "総務部の改善計画" not in mail.body
    assert_links_to(mail, "/notifications/")
    note = Notification.objects.get(recipient=moved_owner)
    assert "総務部" not in note.title + note.body

    # The auditor, who still reads the finding, is told what it is about.
    (auditor_mail,) = mail_to(mailoutbox, city["people"]["auditor"])
    assert "総務部の所見" in auditor_mail.subject
    assert auditor_mail.body.startswith("総務部の改善計画")


def test_an_owner_who_still_reads_the_finding_is_told_its_title_and_plan(city, mailoutbox):
    due = city["due"]
    remind_corrective_actions(today=due - days(1))
    (mail,) = mail_to(mailoutbox, city["people"]["chief"])
    assert "総務部の所見" in mail.subject
    assert mail.body.startswith("総務部の改善計画")
    assert_links_to(mail, f"/audits/findings/{city['somu_action'].finding_id}/")


def test_the_withheld_reminder_reads_in_english_for_an_english_speaker(
    city, moved_owner, mailoutbox
):
    from .reminder_helpers import speaks_english

    speaks_english(moved_owner)
    due = city["due"]
    remind_corrective_actions(today=due - days(1))
    (mail,) = mail_to(mailoutbox, moved_owner)
    assert mail.subject == f"A corrective action you own is due {in_english(due)}"
    assert CorrectiveAction.objects.get(pk=city["somu_action"].pk).owner == moved_owner
