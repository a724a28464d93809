"""The notification list and the unread badge in the header: each person sees, counts and
marks as read their own notifications only."""

import datetime

import pytest
from django.utils import timezone

from isms.models import Notification

from .pages import is_login_redirect, page


@pytest.fixture
def notify(people):
    """notify("staff", "title", minutes_ago=...) -> a notification for that persona."""

    def make(role, title, *, minutes_ago=0, read=False, url=""):
        notification = Notification.objects.create(
            recipient=people[role], kind="test", title=title, body=f"{title}の本文", url=url
        )
        created = timezone.now() - datetime.timedelta(minutes=minutes_ago)
        Notification.objects.filter(pk=notification.pk).update(
            created_at=created, read_at=created if read else None
        )
        notification.refresh_from_db()
        return notification

    return make


@pytest.fixture
def inbox(notify):
    """Three notifications for staff_joho (one already read), two for other people."""
    return {
        "oldest": notify("staff", "古いお知らせ", minutes_ago=60, read=True),
        "middle": notify("staff", "研修のお知らせ", minutes_ago=30, url="/training/"),
        "newest": notify("staff", "新しいお知らせ", minutes_ago=1),
        "others": [
            notify("staff_somuka", "他人宛て", minutes_ago=5),
            notify("head", "部長宛て", minutes_ago=2),
        ],
    }


def listed(response):
    """Titles of the notifications shown, top to bottom, and whether each is unread."""
    items = page(response).find("ul", testid="notifications").find_all("li")
    return [(li.find("strong").text, "unread" in li.classes) for li in items if li.find("strong")]


def badge_count(response):
    """The unread count shown on the bell in the header (0 when it shows none)."""
    badge = page(response).find("a", testid="notification-badge")
    assert badge is not None, "the header has no notification badge"
    count = badge.find("span", cls="count")
    return int(count.text) if count else 0


def test_the_list_shows_only_the_persons_own_notifications_newest_first(as_role, inbox):
    response = as_role("staff").get("/notifications/")

    assert response.status_code == 200
    assert listed(response) == [
        ("新しいお知らせ", True),
        ("研修のお知らせ", True),
        ("古いお知らせ", False),
    ]


def test_a_notification_with_a_link_links_to_it(as_role, inbox):
    response = as_role("staff").get("/notifications/")

    links = [a.attrs.get("href") for a in page(response).find("ul", testid="notifications").iter()]
    assert "/training/" in links


def test_other_people_see_their_own_notifications_and_not_these(as_role, inbox):
    assert listed(as_role("head").get("/notifications/")) == [("部長宛て", True)]
    assert listed(as_role("ciso").get("/notifications/")) == []


def test_the_badge_shows_the_number_of_unread_notifications(as_role, inbox):
    assert badge_count(as_role("staff").get("/notifications/")) == 2
    # The badge is in the header of every page, not just the list.
    assert badge_count(as_role("staff").get("/training/")) == 2
    assert badge_count(as_role("head").get("/training/")) == 1
    assert badge_count(as_role("ciso").get("/training/")) == 0


def test_the_badge_links_to_the_notification_list(as_role, inbox):
    response = as_role("staff").get("/training/")

    badge = page(response).find("a", testid="notification-badge")
    assert badge.attrs["href"] == "/notifications/"


def test_mark_all_as_read_clears_the_badge_and_only_for_the_person(as_role, inbox, people):
    client = as_role("staff")
    form = page(client.get("/notifications/")).find("form", action="/notifications/read/")
    assert form is not None and form.attrs["method"] == "post"

    response = client.post("/notifications/read/")

    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    after = client.get("/notifications/")
    assert badge_count(after) == 0
    assert [unread for _, unread in listed(after)] == [False, False, False]
    assert not Notification.objects.filter(recipient=people["staff"], read_at=None).exists()
    # What was read before keeps the time it was read.
    oldest = Notification.objects.get(pk=inbox["oldest"].pk)
    assert oldest.read_at == inbox["oldest"].read_at
    # Everybody else's are untouched.
    for notification in inbox["others"]:
        notification.refresh_from_db()
        assert notification.read_at is None
    assert badge_count(as_role("head").get("/notifications/")) == 1


def test_mark_all_as_read_is_a_post(as_role, inbox, people):
    response = as_role("staff").get("/notifications/read/")

    assert response.status_code == 405
    assert Notification.objects.filter(recipient=people["staff"], read_at=None).count() == 2


def test_the_list_is_paginated_and_pages_keep_to_the_person(as_role, notify):
    for n in range(35):
        notify("staff", f"お知らせ{n:02d}", minutes_ago=n)
    notify("head", "部長宛て", minutes_ago=100)
    client = as_role("staff")

    first = listed(client.get("/notifications/"))
    second = listed(client.get("/notifications/", {"page": 2}))

    assert [title for title, _ in first] == [f"お知らせ{n:02d}" for n in range(30)]
    assert [title for title, _ in second] == [f"お知らせ{n:02d}" for n in range(30, 35)]


@pytest.mark.parametrize("path", ["/notifications/", "/notifications/read/"])
def test_anonymous_visitors_are_sent_to_log_in(path, as_role, inbox):
    client = as_role("anonymous")

    response = client.post(path) if path.endswith("/read/") else client.get(path)

    assert is_login_redirect(response, path)
    assert Notification.objects.filter(read_at=None).count() == 4


def test_an_anonymous_page_has_no_badge(as_role, inbox):
    response = as_role("anonymous").get("/accounts/login/")

    assert response.status_code == 200

    assert page(response).find(testid="notification-badge") is None
