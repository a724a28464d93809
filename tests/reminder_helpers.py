"""Helpers shared by the reminder job tests (tests/test_reminder_*.py).

Every persona gets an e-mail address (the factory leaves it blank), so the mail a job sends
can be read from pytest-django's locmem outbox as well as from the Notification table."""

from collections import defaultdict
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.db.models import Value
from django.db.models.functions import Concat
from django.test.utils import CaptureQueriesContext
from django.urls import resolve

from isms.models import Notification, User

DOMAIN = "city.example.jp"


def give_addresses(people):
    User.objects.filter(pk__in=[u.pk for u in people.values()]).update(
        email=Concat("username", Value(f"@{DOMAIN}"))
    )
    for user in people.values():
        user.email = f"{user.username}@{DOMAIN}"
    return people


def in_english(date):
    """A date as an English reader reads it in a notification or mail: 1 April 2026."""
    return f"{date.day} {date:%B %Y}"


def speaks_english(user):
    User.objects.filter(pk=user.pk).update(language="en")
    user.language = "en"
    return user


def mail_by_username(mailoutbox):
    """{username: [subject, ...]} of the mail sent so far."""
    sent = defaultdict(list)
    for message in mailoutbox:
        (address,) = message.to
        sent[address.split("@")[0]].append(message.subject)
    return dict(sent)


def notes_by_username(**filters):
    """{username: [(kind, title, url), ...]} of the in-app notifications."""
    notes = defaultdict(list)
    for note in Notification.objects.filter(**filters).select_related("recipient"):
        notes[note.recipient.username].append((note.kind, note.title, note.url))
    return dict(notes)


def mail_to(mailoutbox, user):
    return [m for m in mailoutbox if m.to == [user.email]]


def link(path):
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def assert_links_to(mail, path):
    """The mail ends with the portal link, and the path is one the portal serves."""
    assert mail.body.endswith("\n\n" + link(path)), mail.body
    resolve(path.split("?")[0])


def snapshot(mailoutbox):
    return len(mailoutbox), Notification.objects.count()


def assert_rerun_sends_nothing(job, mailoutbox, *args, **kwargs):
    before = snapshot(mailoutbox)
    assert job(*args, **kwargs) == 0
    assert snapshot(mailoutbox) == before


MAIL_STAMP = 'UPDATE "isms_sentreminder" SET "sent_at"'


@contextmanager
def queries_besides_mail_stamps(limit):
    """Asserts that the block issues at most `limit` statements besides the one small
    UPDATE per accepted mail that stamps it sent (isms.notify mails one by one so that a
    killed worker repeats at most one). Yields a list that then holds those stamps."""
    stamps = []
    with CaptureQueriesContext(connection) as queries:
        yield stamps
    stamps += [q["sql"] for q in queries if q["sql"].startswith(MAIL_STAMP)]
    others = len(queries) - len(stamps)
    assert others <= limit, f"{others} statements besides {len(stamps)} mail stamps"
