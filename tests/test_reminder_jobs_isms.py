"""isms.tasks: the CISO's weekly summary, and activate_due_revisions, which makes a revision
published ahead of its effective date (施行日) current on that date."""

import datetime

import pytest
from django.utils import timezone

from acknowledgements.tasks import remind_acknowledgements
from isms import policy_actions
from isms.models import AuditEvent, Notification, RevisionStatus, Role, User
from isms.roles import assign_role
from isms.tasks import activate_due_revisions, weekly_summary

from .conftest import publish
from .reminder_helpers import (
    assert_links_to,
    assert_rerun_sends_nothing,
    give_addresses,
    mail_by_username,
    mail_to,
    speaks_english,
)

MONDAY = datetime.date(2025, 12, 1)  # ISO 2025-W49


@pytest.fixture(autouse=True)
def addresses(people):
    give_addresses(people)


def days(n):
    return datetime.timedelta(days=n)


# --- weekly summary -------------------------------------------------------------------------


def test_the_summary_goes_to_the_ciso_and_the_programme_admin_only(documents, mailoutbox):
    assert weekly_summary(today=MONDAY) == 2
    title = "情報セキュリティ週次報告（2025年第49週）"
    assert mail_by_username(mailoutbox) == {"ciso": [title], "admin": [title]}
    assert set(Notification.objects.values_list("kind", flat=True)) == {"weekly_summary"}


def test_the_summary_lists_every_section(documents, people, mailoutbox):
    admin = speaks_english(people["admin"])
    weekly_summary(today=MONDAY)

    (japanese,) = mail_to(mailoutbox, people["ciso"])
    for heading in (
        "■ ポリシーの確認状況",
        "■ 情報セキュリティ研修",
        "■ 未完了の監査指摘事項",
        "■ 今年度の情報資産の見直し未実施",
    ):
        assert heading in japanese.body
    assert "対策基準" in japanese.body and "運用手順" in japanese.body
    assert_links_to(japanese, "/")

    (english,) = mail_to(mailoutbox, admin)
    assert english.subject == "Weekly information security summary (2025 week 49)"
    for heading in (
        "■ Policy acknowledgements",
        "■ Security training",
        "■ Open audit findings",
        "■ Asset reviews not yet done this fiscal year",
    ):
        assert heading in english.body
    assert Notification.objects.get(recipient=admin).url == "/"


def test_the_summary_goes_out_once_per_iso_week(db, people, mailoutbox):
    weekly_summary(today=MONDAY)
    assert_rerun_sends_nothing(weekly_summary, mailoutbox, today=MONDAY)
    assert_rerun_sends_nothing(weekly_summary, mailoutbox, today=MONDAY + days(6))  # Sunday
    assert weekly_summary(today=MONDAY + days(7)) == 2
    assert len(mailoutbox) == 4
    assert mail_by_username(mailoutbox)["ciso"][-1] == "情報セキュリティ週次報告（2025年第50週）"


def test_the_week_of_new_year_is_one_iso_week(db, people, mailoutbox):
    assert weekly_summary(today=datetime.date(2025, 12, 29)) == 2  # ISO 2026-W01
    assert_rerun_sends_nothing(weekly_summary, mailoutbox, today=datetime.date(2026, 1, 2))
    assert mail_by_username(mailoutbox)["ciso"] == ["情報セキュリティ週次報告（2026年第1週）"]


def test_someone_holding_both_roles_gets_one_summary_and_leavers_none(db, people, mailoutbox):
    assign_role(people["ciso"], Role.PROGRAMME_ADMIN, None)
    User.objects.filter(pk=people["admin"].pk).update(is_active=False)
    assert weekly_summary(today=MONDAY) == 1
    assert mail_by_username(mailoutbox) == {"ciso": ["情報セキュリティ週次報告（2025年第49週）"]}


# --- activate_due_revisions -----------------------------------------------------------------


@pytest.fixture
def scheduled(documents, people):
    """A material revision of the standard published today, in force in ten days."""
    old = documents["standard"].current_revision()
    effective = timezone.localdate() + days(10)
    new = publish(
        documents["standard"],
        author=people["admin"],
        approver=people["ciso"],
        body="## 第1章\n\n改定後の基準",
        effective_date=effective,
    )
    return old, new


def test_a_revision_published_ahead_becomes_current_on_its_effective_date(scheduled):
    old, new = scheduled
    document = old.document
    effective = new.effective_date
    assert document.current_revision() == old
    assert activate_due_revisions() == 0  # the real job, today
    assert policy_actions.activate_due_revisions(today=effective - days(1)) == 0
    old.refresh_from_db()
    assert old.status == RevisionStatus.PUBLISHED and old.superseded_at is None
    assert document.current_revision(today=effective - days(1)) == old

    assert policy_actions.activate_due_revisions(today=effective) == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.status == RevisionStatus.SUPERSEDED and old.superseded_at is not None
    assert new.status == RevisionStatus.PUBLISHED
    assert document.current_revision(today=effective) == new

    assert policy_actions.activate_due_revisions(today=effective) == 0
    assert policy_actions.activate_due_revisions(today=effective + days(1)) == 0
    assert AuditEvent.objects.filter(action="revision.superseded").count() == 1


def test_the_superseded_revisions_campaign_stops_reminding(scheduled, people, mailoutbox):
    old, new = scheduled
    staff = people["staff"]
    today = timezone.localdate()
    remind_acknowledgements(today=today)
    urls = set(Notification.objects.filter(recipient=staff).values_list("url", flat=True))
    assert {f"/acknowledgements/revisions/{r.pk}/" for r in (old, new)} <= urls

    policy_actions.activate_due_revisions(today=new.effective_date)
    Notification.objects.all().delete()
    remind_acknowledgements(today=old.campaign.deadline + days(1))  # overdue stage for both
    urls = set(Notification.objects.filter(recipient=staff).values_list("url", flat=True))
    assert f"/acknowledgements/revisions/{new.pk}/" in urls
    assert f"/acknowledgements/revisions/{old.pk}/" not in urls
