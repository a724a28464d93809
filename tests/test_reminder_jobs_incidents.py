"""incidents.tasks: tell_csirt_of_report (every CSIRT member, once, done at triage),
remind_reporting_clocks (before a report to an authority is due, to the incident's owner
and the CSIRT; once overdue, to them again and to the CISO), remind_drills (when the fiscal
year has had no emergency drill) and the weekly summary's section. The clock is moved by
passing `now`/`today` to the jobs."""

import datetime
import importlib

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import reminders, services
from incidents.models import (
    Category,
    CountFrom,
    Decision,
    Drill,
    Obligation,
    ObligationRule,
    StageRule,
    StageStatus,
    Status,
)
from incidents.tasks import (
    remind_drills,
    remind_reporting_clocks,
    summary_incidents,
    tell_csirt_of_report,
)
from isms.eras import fiscal_year_label
from isms.models import Notification, Role, SentReminder
from isms.roles import assign_role

from .factories import UserFactory
from .reminder_helpers import (
    DOMAIN,
    assert_links_to,
    assert_rerun_sends_nothing,
    give_addresses,
    mail_by_username,
    mail_to,
    notes_by_username,
)

SEED = importlib.import_module("incidents.migrations.0002_seed_categories_and_obligations")
PPC = "個人情報の漏えい等の報告（個人情報保護委員会）"


def days(n):
    return datetime.timedelta(days=n)


def hours(n):
    return datetime.timedelta(hours=n)


@pytest.fixture(autouse=True)
def addresses(people):
    give_addresses(people)


@pytest.fixture(autouse=True)
def rules(db):
    """The seeded categories and rules, put back when a test that empties the tables took
    them (the seed skips what exists)."""
    SEED.seed(apps, None)


@pytest.fixture
def csirt(org):
    """Two members of the CSIRT, with an address."""
    team = []
    for username in ("csirt_joho", "csirt_somu"):
        user = UserFactory(username=username, section=org["joho"], email=f"{username}@{DOMAIN}")
        assign_role(user, Role.CSIRT)
        team.append(user)
    return team


@pytest.fixture
def make_incident(org, people):
    def make(title="USBメモリの紛失", **fields):
        return services.report(
            people["staff"],
            title=title,
            occurred_at=timezone.now() - hours(2),
            department=org["joho"],
            **fields,
        )

    return make


@pytest.fixture
def triage(csirt, people):
    """Triage by the CSIRT, with the programme admin (a handler, not in the CSIRT) as owner."""

    def run(incident, *, category="mistake", severity="low", **fields):
        return services.triage(
            incident,
            by=csirt[0],
            category=Category.objects.get(code=category),
            severity=severity,
            owner=people["admin"],
            **fields,
        )

    return run


# --- a new report -----------------------------------------------------------------------------


def test_every_csirt_member_is_told_of_a_new_report_once(make_incident, csirt, mailoutbox):
    incident = make_incident(personal_data=True)

    assert tell_csirt_of_report(incident.pk) == 2
    assert_rerun_sends_nothing(tell_csirt_of_report, mailoutbox, incident.pk)

    assert set(mail_by_username(mailoutbox)) == {"csirt_joho", "csirt_somu"}
    notes = notes_by_username(kind="incident.reported")
    assert set(notes) == {"csirt_joho", "csirt_somu"}
    for user in csirt:
        (mail,) = mail_to(mailoutbox, user)
        assert incident.number in mail.subject and "USBメモリの紛失" in mail.subject
        assert "情報政策課" in mail.body
        assert_links_to(mail, f"/incidents/{incident.pk}/")


def test_without_a_csirt_the_programme_admin_is_told(make_incident, mailoutbox):
    incident = make_incident()

    assert tell_csirt_of_report(incident.pk) == 1
    assert set(mail_by_username(mailoutbox)) == {"admin"}


def test_a_csirt_member_who_left_is_not_told(make_incident, csirt, mailoutbox):
    csirt[1].is_active = False
    csirt[1].save()

    tell_csirt_of_report(make_incident().pk)

    assert set(mail_by_username(mailoutbox)) == {"csirt_joho"}


def done_by_username(task_key):
    """{(username, whether done)} of the notifications asking for this task."""
    return {
        (note.recipient.username, note.done_at is not None)
        for note in Notification.objects.filter(task_key=task_key).select_related("recipient")
    }


def reported_notes_done(incident):
    return done_by_username(reminders.triage_task(incident.pk))


def test_triage_marks_the_report_notification_done_for_the_whole_team(
    make_incident, triage, mailoutbox
):
    incident = make_incident()
    other = make_incident(title="不審メール")
    tell_csirt_of_report(incident.pk)
    tell_csirt_of_report(other.pk)

    triage(incident)

    assert reported_notes_done(incident) == {("csirt_joho", True), ("csirt_somu", True)}
    assert reported_notes_done(other) == {("csirt_joho", False), ("csirt_somu", False)}


def test_dismissing_a_false_alarm_marks_the_report_notification_done(
    make_incident, csirt, mailoutbox
):
    incident = make_incident()
    tell_csirt_of_report(incident.pk)

    services.move(incident, Status.DISMISSED, by=csirt[0], note="訓練メールだった")

    assert reported_notes_done(incident) == {("csirt_joho", True), ("csirt_somu", True)}


# --- reporting clocks ---------------------------------------------------------------------------


@pytest.fixture
def clock(make_incident, triage):
    """The PPC's prompt report (速報, due 5 days after triage) of an incident with personal
    data; its final report (確報) is due after 30 days, far outside every window below."""
    incident = triage(make_incident(personal_data=True))
    obligation = Obligation.objects.get(incident=incident, rule__name=PPC)
    return obligation.stages.get(name="速報")


def window():
    return hours(settings.INCIDENT_REPORT_DUE_SOON_HOURS)


def kinds_by_username():
    return {
        name: sorted(kind for kind, _title, _url in notes)
        for name, notes in notes_by_username(kind__startswith="incident_report").items()
    } | {
        name: sorted(kind for kind, _title, _url in notes)
        for name, notes in notes_by_username(kind="escalation").items()
    }


def test_nothing_is_sent_before_the_due_soon_window(clock, mailoutbox):
    assert remind_reporting_clocks(now=clock.due_at - window() - hours(1)) == 0
    assert mailoutbox == []


def test_inside_the_window_the_owner_and_the_csirt_are_reminded_once(clock, mailoutbox):
    now = clock.due_at - window() + hours(1)

    assert remind_reporting_clocks(now=now) == 3
    assert_rerun_sends_nothing(remind_reporting_clocks, mailoutbox, now=now)
    assert_rerun_sends_nothing(remind_reporting_clocks, mailoutbox, now=now + hours(1))

    due = ["incident_report.due_soon"]
    assert kinds_by_username() == {"csirt_joho": due, "csirt_somu": due, "admin": due}
    incident = clock.obligation.incident
    deadline = f"{timezone.localtime(clock.due_at):%Y-%m-%d %H:%M}"
    for mail in mailoutbox:
        assert incident.number in mail.subject
        assert "個人情報保護委員会" in mail.subject and deadline in mail.subject
        assert mail.body.startswith(f"{incident.title}\n{PPC} — 速報")
        assert_links_to(mail, f"/incidents/{incident.pk}/")


def test_the_window_follows_the_setting(clock, mailoutbox, settings):
    settings.INCIDENT_REPORT_DUE_SOON_HOURS = 6

    assert remind_reporting_clocks(now=clock.due_at - hours(7)) == 0
    assert remind_reporting_clocks(now=clock.due_at - hours(5)) == 3


def test_once_overdue_they_are_reminded_again_and_the_ciso_once(clock, people, mailoutbox):
    remind_reporting_clocks(now=clock.due_at - hours(1))
    mailoutbox.clear()
    now = clock.due_at + hours(1)

    assert remind_reporting_clocks(now=now) == 4
    assert_rerun_sends_nothing(remind_reporting_clocks, mailoutbox, now=now + days(3))

    late = ["incident_report.due_soon", "incident_report.overdue"]
    assert kinds_by_username() == {
        "csirt_joho": late,
        "csirt_somu": late,
        "admin": late,
        "ciso": ["escalation"],
    }
    (escalation,) = mail_to(mailoutbox, people["ciso"])
    assert clock.obligation.incident.number in escalation.subject
    assert "個人情報保護委員会" in escalation.subject
    assert set(mail_by_username(mailoutbox)) == {"csirt_joho", "csirt_somu", "admin", "ciso"}


def test_a_clock_found_already_overdue_sends_only_the_overdue_stage(clock, mailoutbox):
    assert remind_reporting_clocks(now=clock.due_at + days(1)) == 4

    assert kinds_by_username() == {
        "csirt_joho": ["incident_report.overdue"],
        "csirt_somu": ["incident_report.overdue"],
        "admin": ["incident_report.overdue"],
        "ciso": ["escalation"],
    }


def test_an_owner_in_the_csirt_is_reminded_once(make_incident, csirt, mailoutbox):
    incident = services.triage(
        make_incident(personal_data=True),
        by=csirt[0],
        category=Category.objects.get(code="mistake"),
        severity="low",
        owner=csirt[1],
    )
    stage = Obligation.objects.get(incident=incident).stages.get(name="速報")

    assert remind_reporting_clocks(now=stage.due_at - hours(1)) == 2
    assert mail_by_username(mailoutbox).keys() == {"csirt_joho", "csirt_somu"}


def test_a_sent_report_is_not_reminded(clock, csirt, mailoutbox):
    services.advance_stage(clock, StageStatus.SENT, by=csirt[0])

    assert remind_reporting_clocks(now=clock.due_at + hours(1)) == 0


def test_a_drafted_report_is_still_reminded(clock, csirt, mailoutbox):
    services.advance_stage(clock, StageStatus.DRAFTED, by=csirt[0])

    assert remind_reporting_clocks(now=clock.due_at + hours(1)) == 4


def test_a_report_marked_not_required_is_not_reminded(clock, csirt, mailoutbox):
    services.decide(clock.obligation, Decision.NOT_REQUIRED, by=csirt[0], reason="暗号化済み")

    assert remind_reporting_clocks(now=clock.due_at + hours(1)) == 0


def test_the_reports_of_a_dismissed_incident_are_not_reminded(clock, csirt, mailoutbox):
    services.move(clock.obligation.incident, Status.DISMISSED, by=csirt[0], note="誤報")

    assert remind_reporting_clocks(now=clock.due_at + hours(1)) == 0


def test_a_follow_up_is_reminded_only_once_its_clock_runs(make_incident, triage, csirt, mailoutbox):
    incident = triage(make_incident(), severity="high")
    prefecture = Obligation.objects.get(incident=incident)
    first = prefecture.stages.get(name="第一報")
    first = services.advance_stage(first, StageStatus.SENT, by=csirt[0])
    follow_up = prefecture.stages.get(name="続報")

    assert remind_reporting_clocks(now=first.sent_at + days(14) - window() - hours(1)) == 0
    assert remind_reporting_clocks(now=first.sent_at + days(14) + hours(1)) == 4
    assert all("続報" in m.body for m in mailoutbox)
    assert follow_up.due_at == first.sent_at + days(14)


def report_notes_done(stage):
    return done_by_username(reminders.report_task(stage.pk))


def test_sending_the_report_marks_its_reminders_done(clock, csirt, mailoutbox):
    remind_reporting_clocks(now=clock.due_at - hours(1))
    remind_reporting_clocks(now=clock.due_at + hours(1))

    services.advance_stage(clock, StageStatus.SENT, by=csirt[0])

    assert report_notes_done(clock) == {
        ("csirt_joho", True),
        ("csirt_somu", True),
        ("admin", True),
    }


def test_marking_the_report_not_required_marks_its_reminders_done(clock, csirt, mailoutbox):
    remind_reporting_clocks(now=clock.due_at - hours(1))

    services.decide(clock.obligation, Decision.NOT_REQUIRED, by=csirt[0], reason="暗号化済み")

    assert {done for _name, done in report_notes_done(clock)} == {True}


def test_a_clock_counted_from_detection_is_reminded_from_detection(
    make_incident, triage, mailoutbox
):
    police = ObligationRule.objects.get(authority__code="police")
    StageRule.objects.filter(rule=police).update(count_from=CountFrom.DETECTION)
    detected = timezone.now() - days(2)
    triage(make_incident(), category="cyber-attack", detected_at=detected)

    # Due three days after detection: one day from now, inside the default window.
    assert remind_reporting_clocks(now=detected + days(3) - hours(1)) == 3
    assert remind_reporting_clocks(now=detected + days(3) + hours(1)) == 4


def test_the_job_accepts_the_time_as_text(clock, mailoutbox):
    # Celery's beat and the admin's "run now" pass arguments through JSON.
    assert remind_reporting_clocks(now=(clock.due_at - hours(1)).isoformat()) == 3


# --- drills -------------------------------------------------------------------------------------

# Fiscal year 2024 runs from 1 April 2024 to 31 March 2025.
FY = 2024


def drill(held_on, by):
    return Drill.objects.create(
        held_on=held_on, scenario="標的型メール", participants="CSIRT", recorded_by=by
    )


@pytest.mark.parametrize(
    "today", [datetime.date(FY, 4, 1), datetime.date(FY, 7, 15), datetime.date(FY, 9, 30)]
)
def test_no_drill_reminder_in_the_first_half_of_the_year(csirt, mailoutbox, today):
    assert remind_drills(today=today) == 0
    assert mailoutbox == []


def test_from_october_the_csirt_and_the_programme_admin_are_reminded_once(
    csirt, people, mailoutbox
):
    assert remind_drills(today=datetime.date(FY, 10, 1)) == 3
    assert_rerun_sends_nothing(remind_drills, mailoutbox, today=datetime.date(FY, 11, 1))
    assert_rerun_sends_nothing(remind_drills, mailoutbox, today=datetime.date(FY + 1, 2, 28))

    label = fiscal_year_label(FY, "ja")
    assert set(mail_by_username(mailoutbox)) == {"csirt_joho", "csirt_somu", "admin"}
    assert set(Notification.objects.values_list("kind", flat=True)) == {"drill.missing"}
    (mail,) = mail_to(mailoutbox, people["admin"])
    assert label in mail.subject
    assert_links_to(mail, "/incidents/plan/")


def test_in_march_they_are_reminded_again_once(csirt, mailoutbox):
    remind_drills(today=datetime.date(FY, 10, 1))
    mailoutbox.clear()

    assert remind_drills(today=datetime.date(FY + 1, 3, 1)) == 3
    assert_rerun_sends_nothing(remind_drills, mailoutbox, today=datetime.date(FY + 1, 3, 31))
    assert set(mail_by_username(mailoutbox)) == {"csirt_joho", "csirt_somu", "admin"}
    # The new fiscal year starts with no reminder.
    assert remind_drills(today=datetime.date(FY + 1, 4, 1)) == 0


def test_a_late_first_run_in_march_sends_only_the_last_months_reminder(csirt, mailoutbox):
    assert remind_drills(today=datetime.date(FY + 1, 3, 10)) == 3
    assert set(SentReminder.objects.values_list("subject", "stage")) == {
        (f"drill:{FY}", "last_month")
    }
    assert remind_drills(today=datetime.date(FY + 1, 3, 11)) == 0


@pytest.mark.parametrize(
    ("held_on", "today"),
    [
        (datetime.date(FY, 4, 1), datetime.date(FY, 10, 1)),
        (datetime.date(FY, 4, 1), datetime.date(FY + 1, 3, 1)),
        (datetime.date(FY, 11, 20), datetime.date(FY + 1, 3, 1)),
        (datetime.date(FY + 1, 3, 31), datetime.date(FY + 1, 3, 31)),
    ],
)
def test_no_drill_reminder_once_a_drill_was_held_this_fiscal_year(
    csirt, mailoutbox, held_on, today
):
    drill(held_on, csirt[0])

    assert remind_drills(today=today) == 0
    assert mailoutbox == []


def test_a_drill_of_the_last_fiscal_year_does_not_count(csirt, mailoutbox):
    drill(datetime.date(FY, 3, 31), csirt[0])

    assert remind_drills(today=datetime.date(FY, 10, 1)) == 3


def test_a_drill_recorded_on_the_plan_page_ends_the_reminders(csirt, client, mailoutbox):
    remind_drills(today=datetime.date(FY, 10, 1))
    client.force_login(csirt[0])
    response = client.post(
        "/incidents/plan/",
        {
            "held_on": "2025-02-10",
            "scenario": "ランサムウェア",
            "participants": "CSIRT、情報政策課",
        },
    )
    assert response.status_code == 302

    assert remind_drills(today=datetime.date(FY + 1, 3, 1)) == 0


# --- the weekly summary -------------------------------------------------------------------------


def test_the_weekly_summary_counts_open_incidents_per_status_and_lists_the_clocks(
    make_incident, triage, csirt
):
    make_incident(title="不審メール")
    make_incident(title="パスワード付箋")
    services.move(make_incident(title="誤報"), Status.DISMISSED, by=csirt[0], note="訓練")
    personal = triage(make_incident(personal_data=True))
    police = ObligationRule.objects.get(authority__code="police")
    StageRule.objects.filter(rule=police).update(count_from=CountFrom.DETECTION)
    attacked = triage(
        make_incident(title="不正アクセス"),
        category="cyber-attack",
        detected_at=timezone.now() - days(4),
    )
    attacked = services.move(attacked, Status.CONTAINED, by=csirt[0])

    title, lines = summary_incidents(timezone.localdate())

    ppc = Obligation.objects.get(incident=personal).stages.get(name="速報")
    to_police = Obligation.objects.get(incident=attacked).stages.get()
    assert title
    assert lines == [
        f"  {Status.REPORTED.label}: 2",
        f"  {Status.TRIAGED.label}: 1",
        f"  {Status.CONTAINED.label}: 1",
        # Overdue first, then what falls due this week; the 確報 (30 days) is not listed.
        f"  {attacked.number} 警察（サイバー犯罪相談窓口） 相談・届出: "
        f"{_('overdue')} {timezone.localtime(to_police.due_at):%Y-%m-%d %H:%M}",
        f"  {personal.number} 個人情報保護委員会 速報: "
        f"{_('due')} {timezone.localtime(ppc.due_at):%Y-%m-%d %H:%M}",
    ]


def test_the_weekly_summary_leaves_out_sent_reports_and_closed_cases(make_incident, triage, csirt):
    personal = triage(make_incident(personal_data=True))
    services.advance_stage(
        Obligation.objects.get(incident=personal).stages.get(name="速報"),
        StageStatus.SENT,
        by=csirt[0],
    )

    _title, lines = summary_incidents(timezone.localdate())

    assert lines == [f"  {Status.TRIAGED.label}: 1"]
