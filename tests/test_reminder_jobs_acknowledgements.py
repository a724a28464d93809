"""acknowledgements.tasks.remind_acknowledgements and notify_campaign_opened: who is reminded to
acknowledge a revision, at which stage, in which language, and the digest to department heads
of who is still missing. The `documents` fixture opens two campaigns with the same deadline:
the all-staff standard (対策基準) and the 総務部 procedure (運用手順)."""

import datetime

import pytest
from django.db import connection
from django.db.models import Value
from django.db.models.functions import Concat

from acknowledgements import services as acks
from acknowledgements import tasks
from acknowledgements.tasks import notify_campaign_opened, remind_acknowledgements
from isms.eras import to_era
from isms.models import Notification, SentReminder, User

from .conftest import publish
from .factories import password_hash
from .reminder_helpers import (
    assert_links_to,
    assert_rerun_sends_nothing,
    give_addresses,
    in_english,
    mail_by_username,
    mail_to,
    notes_by_username,
    queries_besides_mail_stamps,
    speaks_english,
)

# SQLite splits a bulk insert by its limit on query parameters: the count would grow with
# the people there, as it does not on PostgreSQL, the database the portal runs on.
SQLITE_SPLITS_INSERTS = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite splits bulk inserts"
)

EVERYONE = {
    "staff_joho",
    "staff_somuka",
    "chief_joho",
    "head_somu",
    "head_kyoiku",
    "staff_kyoiku",
    "auditor",
    "ciso",
    "admin",
}
SOMU = {"staff_joho", "staff_somuka", "chief_joho", "head_somu", "admin"}


@pytest.fixture(autouse=True)
def addresses(people):
    give_addresses(people)


@pytest.fixture
def deadline(standard, procedure):
    assert standard.campaign.deadline == procedure.campaign.deadline
    return standard.campaign.deadline


def days(n):
    return datetime.timedelta(days=n)


def titles(stage, title, deadline):
    era = to_era(deadline)
    return {
        "opened": f"【確認依頼】{title}",
        "due_soon": f"【再通知】{title}を{era}までに確認してください",
        "overdue": f"【期限超過】{title}を確認してください（期限：{era}）",
    }[stage]


def expected_mail(stage, deadline, everyone=EVERYONE, somu=SOMU):
    standard, procedure = titles(stage, "対策基準", deadline), titles(stage, "運用手順", deadline)
    return {name: sorted([standard] + ([procedure] if name in somu else [])) for name in everyone}


def sorted_mail(mailoutbox):
    return {name: sorted(subjects) for name, subjects in mail_by_username(mailoutbox).items()}


@pytest.mark.parametrize(
    ("days_left", "stage"),
    [
        (30, "opened"),
        (8, "opened"),
        (7, "due_soon"),
        (0, "due_soon"),
        (1, "due_soon"),
        (-1, "overdue"),
        (-6, "overdue"),
    ],
)
def test_the_stage_follows_the_campaign_deadline(deadline, mailoutbox, days_left, stage):
    today = deadline - days(days_left)
    remind_acknowledgements(today=today)

    assert sorted_mail(mailoutbox) == expected_mail(stage, deadline)
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert kinds == {f"acknowledgement.{stage}"}
    assert_rerun_sends_nothing(remind_acknowledgements, mailoutbox, today=today)


def test_the_procedure_goes_to_its_department_only(deadline, people, mailoutbox):
    remind_acknowledgements(today=deadline - days(20))
    procedure = {
        name
        for name, subjects in mail_by_username(mailoutbox).items()
        if "【確認依頼】運用手順" in subjects
    }
    assert procedure == SOMU
    for outsider in ("other_staff", "other_head", "auditor", "ciso"):
        assert [
            n for n in notes_by_username().get(people[outsider].username, []) if "運用手順" in n[1]
        ] == []


def test_a_reminder_is_in_the_persons_language_and_links_to_the_revision(
    standard, deadline, people, mailoutbox
):
    staff = speaks_english(people["staff"])
    remind_acknowledgements(today=deadline - days(3))

    (mail,) = [m for m in mail_to(mailoutbox, staff) if "対策基準" in m.subject]
    assert mail.subject == f"Reminder: acknowledge 対策基準 by {in_english(deadline)}"
    assert mail.body.startswith(
        "A revision of the information security policy asks you to read and acknowledge it."
    )
    assert_links_to(mail, f"/acknowledgements/revisions/{standard.pk}/")
    (japanese,) = [m for m in mail_to(mailoutbox, people["chief"]) if "対策基準" in m.subject]
    assert japanese.subject == titles("due_soon", "対策基準", deadline)
    assert japanese.body.startswith("情報セキュリティポリシーが改定されました。")
    assert_links_to(japanese, f"/acknowledgements/revisions/{standard.pk}/")
    note = Notification.objects.get(recipient=staff, title=mail.subject)
    assert note.kind == "acknowledgement.due_soon"
    assert note.url == f"/acknowledgements/revisions/{standard.pk}/"


def test_each_stage_goes_out_once_as_the_deadline_comes(deadline, mailoutbox):
    for today, stage in [
        (deadline - days(30), "opened"),
        (deadline - days(29), None),
        (deadline - days(7), "due_soon"),
        (deadline - days(2), None),
        (deadline + days(1), "overdue"),
        (deadline + days(3), None),
    ]:
        mailoutbox.clear()
        remind_acknowledgements(today=today)
        assert sorted_mail(mailoutbox) == (expected_mail(stage, deadline) if stage else {}), today
    assert SentReminder.objects.filter(sent_at__isnull=True).count() == 0
    assert SentReminder.objects.count() == 3 * (len(EVERYONE) + len(SOMU))


def test_a_late_first_run_sends_only_the_current_stage(deadline, mailoutbox):
    remind_acknowledgements(today=deadline + days(2))
    assert sorted_mail(mailoutbox) == expected_mail("overdue", deadline)


def test_someone_who_acknowledges_is_not_reminded_again(standard, deadline, people, mailoutbox):
    remind_acknowledgements(today=deadline - days(20))
    acks.acknowledge(people["staff"], standard)
    acks.acknowledge(people["other_staff"], standard)
    mailoutbox.clear()

    remind_acknowledgements(today=deadline - days(5))
    sent = sorted_mail(mailoutbox)
    assert sent["staff_joho"] == [titles("due_soon", "運用手順", deadline)]
    assert "staff_kyoiku" not in sent
    assert sent["chief_joho"] == expected_mail("due_soon", deadline)["chief_joho"]


def test_inactive_people_are_not_reminded(deadline, people, mailoutbox):
    User.objects.filter(pk=people["staff_somuka"].pk).update(is_active=False)
    remind_acknowledgements(today=deadline - days(20))
    assert "staff_somuka" not in mail_by_username(mailoutbox)
    assert "staff_joho" in mail_by_username(mailoutbox)


def test_the_queued_opening_notice_and_the_daily_sweep_send_once(standard, mailoutbox):
    campaign = standard.campaign
    assert notify_campaign_opened(campaign.pk) == len(EVERYONE)
    assert {
        name for name, s in mail_by_username(mailoutbox).items() if s == ["【確認依頼】対策基準"]
    } == EVERYONE
    # The sweep the same morning sends the procedure's notice, not the standard's again.
    remind_acknowledgements()
    assert sorted_mail(mailoutbox) == expected_mail("opened", standard.campaign.deadline)
    assert_rerun_sends_nothing(notify_campaign_opened, mailoutbox, campaign.pk)


def test_publication_queues_the_opening_notice_once_committed(
    documents, people, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        tasks.notify_campaign_opened, "apply_async", lambda args, **kw: queued.append(args)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        revision = publish(
            documents["standard"], author=people["admin"], approver=people["ciso"], body="改定"
        )
    assert queued == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert queued == [(revision.campaign.pk,)]


def test_publication_succeeds_when_the_broker_is_down(
    documents, people, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.notify_campaign_opened, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        revision = publish(
            documents["standard"], author=people["admin"], approver=people["ciso"], body="改定"
        )
    assert revision.campaign
    assert "next sweep will catch up" in caplog.text


# --- escalation ------------------------------------------------------------------------------


def digest(mailoutbox, user):
    prefixes = ("【未完了者のお知らせ】", "Escalation: ")
    return [m for m in mail_to(mailoutbox, user) if m.subject.startswith(prefixes)]


def listed(mail):
    return sorted(line[2:] for line in mail.body.splitlines() if line.startswith("- "))


def test_no_digest_before_escalation_after_days(deadline, mailoutbox, settings):
    remind_acknowledgements(today=deadline + days(settings.ESCALATION_AFTER_DAYS - 1))
    assert not Notification.objects.filter(kind="escalation").exists()


def test_department_heads_get_a_digest_of_their_own_missing_people(
    standard, procedure, deadline, people, mailoutbox, settings
):
    acks.acknowledge(people["staff"], standard)
    today = deadline + days(settings.ESCALATION_AFTER_DAYS)
    remind_acknowledgements(today=today)

    escalated = Notification.objects.filter(kind="escalation")
    assert sorted(escalated.values_list("recipient__username", flat=True)) == [
        "head_kyoiku",
        "head_somu",
        "head_somu",
    ]
    somu = {m.subject: m for m in digest(mailoutbox, people["head"])}
    standard_digest = somu["【未完了者のお知らせ】対策基準"]
    assert listed(standard_digest) == [
        "情報政策課 admin さん",
        "情報政策課 chief_joho さん",
        "総務課 staff_somuka さん",
        "総務部 head_somu さん",
    ]
    assert standard_digest.body.startswith(
        f"貴部局で{to_era(deadline)}までに完了していない職員が4人います："
    )
    assert_links_to(standard_digest, f"/acknowledgements/status/{standard.pk}/")
    procedure_digest = somu["【未完了者のお知らせ】運用手順"]
    assert "情報政策課 staff_joho さん" in listed(procedure_digest)
    assert_links_to(procedure_digest, f"/acknowledgements/status/{procedure.pk}/")

    (kyoiku,) = digest(mailoutbox, people["other_head"])
    assert kyoiku.subject == "【未完了者のお知らせ】対策基準"
    assert listed(kyoiku) == ["学校教育課 staff_kyoiku さん", "教育部 head_kyoiku さん"]

    assert_rerun_sends_nothing(remind_acknowledgements, mailoutbox, today=today)
    assert_rerun_sends_nothing(remind_acknowledgements, mailoutbox, today=today + days(5))


def test_a_department_with_nobody_missing_gets_no_digest(
    standard, deadline, people, mailoutbox, settings
):
    acks.acknowledge(people["other_staff"], standard)
    acks.acknowledge(people["other_head"], standard)
    speaks_english(people["head"])
    remind_acknowledgements(today=deadline + days(settings.ESCALATION_AFTER_DAYS + 2))
    assert digest(mailoutbox, people["other_head"]) == []
    subjects = sorted(m.subject for m in digest(mailoutbox, people["head"]))
    assert subjects == ["Escalation: 対策基準", "Escalation: 運用手順"]
    body = digest(mailoutbox, people["head"])[0].body
    assert body.startswith(
        f"5 people in your department have not done this by {in_english(deadline)}:"
    )


def test_a_long_digest_names_200_and_counts_the_rest(org, deadline, people, mailoutbox, settings):
    User.objects.bulk_create(
        User(username=f"crowd-{n:03d}", section=org["somuka"], password=password_hash())
        for n in range(201)
    )
    remind_acknowledgements(today=deadline + days(settings.ESCALATION_AFTER_DAYS))
    somu = {m.subject: m for m in digest(mailoutbox, people["head"])}
    body = somu["【未完了者のお知らせ】対策基準"].body
    assert "206人" in body.splitlines()[0]
    assert len(listed(somu["【未完了者のお知らせ】対策基準"])) == 200
    assert "……ほか6人" in body


# --- batches ---------------------------------------------------------------------------------


@pytest.mark.parametrize("crowd", [40, pytest.param(480, marks=SQLITE_SPLITS_INSERTS)])
def test_the_sweep_runs_a_fixed_number_of_queries_within_a_batch(org, deadline, mailoutbox, crowd):
    User.objects.bulk_create(
        User(username=f"crowd-{n:03d}", section=org["joho"], password=password_hash())
        for n in range(crowd)
    )
    User.objects.filter(username__startswith="crowd-").update(
        email=Concat("username", Value("@city.example.jp"))
    )
    with queries_besides_mail_stamps(40) as stamps:
        sent = remind_acknowledgements(today=deadline + days(10))  # reminders and digests
    assert sent == 2 * (crowd + len(SOMU)) + (len(EVERYONE) - len(SOMU)) + 3
    assert len(mailoutbox) == sent == len(stamps)
