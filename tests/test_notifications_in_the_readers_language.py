"""Notifications are rendered in the reader's language when they are shown (issue 12): a
reminder written in Japanese reads in English once its recipient switches to English, with
its dates as "1 April 2026" there and as era dates in Japanese. The mail stays as it was
sent, and so does every notification of before, which has only its stored text."""

import datetime

import pytest
from django.conf import settings

from acknowledgements.tasks import remind_acknowledgements
from audits import services as audit_services
from audits.models import CycleKind
from audits.tasks import remind_corrective_actions
from isms.eras import to_era
from isms.models import Notification

from .audit_helpers import open_cycle, record_finding
from .pages import page
from .reminder_helpers import give_addresses, in_english, mail_to, speaks_english


def days(n):
    return datetime.timedelta(days=n)


@pytest.fixture(autouse=True)
def addresses(people):
    give_addresses(people)


@pytest.fixture
def deadline(standard):
    return standard.campaign.deadline


@pytest.fixture
def reminded(standard, deadline, mailoutbox):
    """Everyone was reminded of the standard three days before its deadline."""
    remind_acknowledgements(today=deadline - days(3))
    return deadline


def shown(client, *, english=False):
    """(title, body) of each notification on the list, in the language the client reads."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en" if english else "ja"
    items = page(client.get("/notifications/")).find("ul", testid="notifications")
    return [
        (li.find("strong").text, li.find("p").text if li.find("p") else "")
        for li in items.find_all("li", testid="notification")
    ]


def about_the_standard(notifications):
    return [n for n in notifications if "対策基準" in n[0]]


def test_a_reminder_sent_in_japanese_reads_in_english_for_an_english_reader(
    as_role, reminded, people, mailoutbox
):
    client = as_role("staff")

    ((title, body),) = about_the_standard(shown(client, english=True))

    assert title == f"Reminder: acknowledge 対策基準 by {in_english(reminded)}"
    assert body == (
        "A revision of the information security policy asks you to read and acknowledge it. "
        f"Deadline: {in_english(reminded)}."
    )


def test_the_japanese_reader_reads_it_with_an_era_date(as_role, reminded):
    ((title, body),) = about_the_standard(shown(as_role("staff")))

    assert title == f"【再通知】対策基準を{to_era(reminded)}までに確認してください"
    assert to_era(reminded) in body
    assert "Deadline" not in body


def test_someone_who_was_reminded_in_english_reads_it_in_japanese_after_switching(
    as_role, standard, deadline, people
):
    speaks_english(people["staff"])
    remind_acknowledgements(today=deadline - days(3))

    ((title, _body),) = about_the_standard(shown(as_role("staff")))

    assert title == f"【再通知】対策基準を{to_era(deadline)}までに確認してください"


def test_the_mail_and_the_stored_text_stay_as_they_were_sent(as_role, reminded, people, mailoutbox):
    shown(as_role("staff"), english=True)

    (mail,) = [m for m in mail_to(mailoutbox, people["staff"]) if "対策基準" in m.subject]
    stored = Notification.objects.get(recipient=people["staff"], title__contains="対策基準")
    assert mail.subject == stored.title
    assert stored.title == f"【再通知】対策基準を{to_era(reminded)}までに確認してください"


def test_a_notification_of_before_shows_its_stored_text_in_either_language(as_role, people):
    Notification.objects.create(
        recipient=people["staff"], kind="acknowledgement.opened", title="【確認依頼】旧い通知"
    )

    assert shown(as_role("staff"), english=True) == [("【確認依頼】旧い通知", "")]
    assert shown(as_role("staff")) == [("【確認依頼】旧い通知", "")]


def test_a_text_reworded_since_shows_the_stored_japanese_rather_than_english(as_role, people):
    Notification.objects.create(
        recipient=people["staff"],
        kind="acknowledgement.opened",
        title="【確認依頼】対策基準（旧文言）",
        message={"title": [{"msgid": "Please read: %(title)s", "params": {"title": "対策基準"}}]},
    )

    assert shown(as_role("staff")) == [("【確認依頼】対策基準（旧文言）", "")]
    assert shown(as_role("staff"), english=True) == [("Please read: 対策基準", "")]


def test_a_text_whose_parameters_no_longer_fit_shows_the_stored_text(as_role, people):
    Notification.objects.create(
        recipient=people["staff"],
        kind="acknowledgement.opened",
        title="保存された件名",
        message={"title": [{"msgid": "Please acknowledge: %(title)s", "params": {}}]},
    )

    assert shown(as_role("staff"), english=True) == [("保存された件名", "")]


def test_free_text_in_a_reminder_stays_as_written_and_its_sentence_is_translated(
    as_role, org, people
):
    cycle = open_cycle(people, [org["somu"]], name="令和7年度監査", kind=CycleKind.AUDIT)
    audit_services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    finding = record_finding(cycle, org["somu"], by=people["auditor"], title="パスワード管理")
    due = datetime.date.today() + days(3)
    audit_services.add_corrective_action(
        finding, by=people["head"], owner=people["chief"], plan="台帳を整備する", due_on=due
    )
    remind_corrective_actions(today=due - days(3))

    ((title, body),) = shown(as_role("chief"), english=True)

    assert title == f"Corrective action due {in_english(due)}: パスワード管理"
    assert body == "台帳を整備する"


def test_the_list_reads_a_fixed_number_of_queries_however_many_notifications(
    as_role, people, reminded, django_assert_max_num_queries
):
    source = Notification.objects.get(recipient=people["staff"], title__contains="対策基準")
    Notification.objects.bulk_create(
        Notification(
            recipient=people["staff"],
            kind=source.kind,
            title=source.title,
            body=source.body,
            message=source.message,
            task_key=source.task_key,
        )
        for _ in range(40)
    )
    client = as_role("staff")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    with django_assert_max_num_queries(10):
        response = client.get("/notifications/")

    assert len(page(response).find_all("li", testid="notification")) == 30
