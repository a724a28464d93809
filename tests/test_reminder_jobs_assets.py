"""assets.tasks.remind_asset_reviews: the annual review, to the chiefs of the sections that
still have assets to confirm this fiscal year (April to March; deadline 30 September)."""

import datetime

import pytest

from assets.models import Asset, AssetStatus
from assets.tasks import remind_asset_reviews
from isms.models import Notification, Role
from isms.roles import assign_role

from .factories import UserFactory
from .reminder_helpers import (
    assert_links_to,
    assert_rerun_sends_nothing,
    give_addresses,
    mail_by_username,
    mail_to,
    speaks_english,
)

MAY = datetime.date(2025, 5, 1)  # FY2025, before the review deadline
OCTOBER = datetime.date(2025, 10, 1)  # FY2025, after it
DEADLINE = "令和7年9月30日"


@pytest.fixture(autouse=True)
def addresses(people):
    give_addresses(people)


@pytest.fixture
def gakko_chief(org):
    chief = UserFactory(
        username="chief_gakko", section=org["gakko"], email="chief_gakko@city.example.jp"
    )
    assign_role(chief, Role.SECTION_CHIEF, org["gakko"])
    return chief


@pytest.fixture
def assets(register, gakko_chief):
    """Two assets in 情報政策課 (chief_joho), one in 総務課 (no chief), one in 学校教育課
    (chief_gakko); none reviewed yet."""
    return register


def due_title(section, count):
    return f"【情報資産の年次見直し】{section}の情報資産{count}件を{DEADLINE}までに見直してください"


def overdue_title(section, count):
    return f"【情報資産の年次見直し・期限超過】{section}の情報資産{count}件が見直し未実施です"


def test_the_chiefs_of_sections_with_assets_to_review_are_reminded(assets, mailoutbox):
    remind_asset_reviews(today=MAY)
    assert mail_by_username(mailoutbox) == {
        "chief_joho": [due_title("情報政策課", 2)],
        "chief_gakko": [due_title("学校教育課", 1)],
    }
    assert set(Notification.objects.values_list("kind", flat=True)) == {"asset_review.due"}
    assert_rerun_sends_nothing(remind_asset_reviews, mailoutbox, today=MAY)
    assert_rerun_sends_nothing(remind_asset_reviews, mailoutbox, today=MAY.replace(month=9))


def test_the_reminder_links_to_the_sections_assets_to_review(
    assets, people, gakko_chief, mailoutbox
):
    chief = speaks_english(people["chief"])
    remind_asset_reviews(today=MAY)
    (mail,) = mail_to(mailoutbox, chief)
    assert (
        mail.subject
        == "Annual asset review: 2 assets of 情報政策課 to confirm by 30 September 2025"
    )
    assert mail.body.startswith("Confirm or update each asset of the section in the register.")
    assert_links_to(mail, "/assets/?review=due&department=joho")
    (japanese,) = mail_to(mailoutbox, gakko_chief)
    assert japanese.body.startswith("情報資産台帳で、課の情報資産を一件ずつ確認又は更新")
    assert_links_to(japanese, "/assets/?review=due&department=gakko")


def test_after_the_deadline_the_overdue_reminder_goes_once(assets, mailoutbox):
    remind_asset_reviews(today=MAY)
    mailoutbox.clear()
    remind_asset_reviews(today=OCTOBER)
    assert mail_by_username(mailoutbox) == {
        "chief_joho": [overdue_title("情報政策課", 2)],
        "chief_gakko": [overdue_title("学校教育課", 1)],
    }
    assert set(
        Notification.objects.filter(kind="asset_review.overdue").values_list(
            "recipient__username", flat=True
        )
    ) == {"chief_joho", "chief_gakko"}
    assert_rerun_sends_nothing(remind_asset_reviews, mailoutbox, today=OCTOBER)
    assert_rerun_sends_nothing(remind_asset_reviews, mailoutbox, today=datetime.date(2026, 3, 31))


def test_only_assets_not_reviewed_this_fiscal_year_count(assets, mailoutbox):
    Asset.objects.filter(pk=assets["joho_public"].pk).update(
        last_reviewed_on=datetime.date(2025, 4, 1)
    )
    Asset.objects.filter(pk=assets["joho_confidential"].pk).update(
        last_reviewed_on=datetime.date(2025, 3, 31)  # last fiscal year
    )
    Asset.objects.filter(pk=assets["gakko_confidential"].pk).update(
        last_reviewed_on=datetime.date(2025, 4, 20)
    )
    remind_asset_reviews(today=MAY)
    assert mail_by_username(mailoutbox) == {"chief_joho": [due_title("情報政策課", 1)]}


def test_retired_assets_need_no_review(assets, mailoutbox):
    Asset.objects.filter(pk=assets["gakko_confidential"].pk).update(status=AssetStatus.RETIRED)
    remind_asset_reviews(today=MAY)
    assert set(mail_by_username(mailoutbox)) == {"chief_joho"}


def test_a_new_fiscal_year_asks_again(assets, mailoutbox):
    remind_asset_reviews(today=MAY)
    Asset.objects.update(last_reviewed_on=datetime.date(2025, 6, 1))
    mailoutbox.clear()
    remind_asset_reviews(today=OCTOBER)
    assert mailoutbox == []
    next_may = datetime.date(2026, 5, 1)
    remind_asset_reviews(today=next_may)
    assert mail_by_username(mailoutbox) == {
        "chief_joho": [due_title("情報政策課", 2).replace("令和7年", "令和8年")],
        "chief_gakko": [due_title("学校教育課", 1).replace("令和7年", "令和8年")],
    }
