"""Sessions (issue 10): a person sees the sessions they are signed in with and signs out of
one or of every other; deactivating an account ends all of its sessions at once; a password
change signs the other sessions out."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from isms.models import AuditAction, AuditEvent, SignedInSession, User
from isms.sessions import SEEN_KEY, describe_user_agent

from .conftest import ROLES
from .factories import PASSWORD
from .pages import main_text, page

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
EDGE_WINDOWS = CHROME_WINDOWS + " Edg/120.0.2210.61"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


def browser(user_agent, address="127.0.0.1"):
    return Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)


def log_in(client, username="staff_joho", password=PASSWORD):
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302
    return client


def _signed_in(client):
    return client.get(reverse("account")).status_code == 200


def listed(response):
    return [
        [cell.text.strip() for cell in row.find_all("td")[:2]]
        for row in page(response).find_all("tr", testid="session")
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_person_sees_their_account_and_sessions_and_a_visitor_is_sent_to_log_in(
    as_role, role
):
    client = as_role(role)
    for name in ("account", "account-sessions", "password_change"):
        response = client.get(reverse(name))
        if role == "anonymous":
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("login"))
        else:
            assert response.status_code == 200, name


@pytest.mark.parametrize("role", ROLES)
def test_the_user_menu_links_to_the_account_page_for_people_signed_in(as_role, role):
    link = page(as_role(role).get(reverse("document-list"))).find(testid="account-link")
    if role == "anonymous":
        assert link is None
    else:
        assert link.attrs["href"] == reverse("account")


def test_the_list_shows_each_browser_and_address_and_marks_this_one(people):
    log_in(browser(EDGE_WINDOWS, "10.20.30.40"))
    here = log_in(browser(SAFARI_IPHONE, "10.20.30.41"))
    log_in(browser(FIREFOX_LINUX), "chief_joho")

    response = here.get(reverse("account-sessions"))

    assert sorted(listed(response)) == [
        ["Edge 120 (Windows)", "10.20.30.40"],
        ["Safari 17 (iPhone)", "10.20.30.41"],
    ]
    current = page(response).find(testid="current-session")
    assert current.text == "このセッション"
    assert "Safari 17" in current.parent.parent.text
    assert "2 件のセッション" in main_text(here.get(reverse("account")))


def test_signing_out_of_one_other_session_signs_that_browser_out(people):
    there = log_in(browser(EDGE_WINDOWS))
    here = log_in(browser(CHROME_WINDOWS))
    row = SignedInSession.objects.get(user_agent=EDGE_WINDOWS)

    response = here.post(reverse("account-session-end", args=[row.pk]), follow=True)

    assert "サインアウトしました" in main_text(response)
    assert listed(response) == [["Chrome 120 (Windows)", "127.0.0.1"]]
    assert not _signed_in(there)
    assert _signed_in(here)
    (event,) = AuditEvent.objects.filter(action=AuditAction.SESSIONS_ENDED)
    assert (event.actor, event.data) == (people["staff"], {"scope": "one", "sessions": 1})


def test_nobody_can_end_another_persons_session_or_their_own_current_one(people):
    theirs = log_in(browser(EDGE_WINDOWS), "chief_joho")
    here = log_in(browser(CHROME_WINDOWS))
    their_row = SignedInSession.objects.get(user=people["chief"])
    own_row = SignedInSession.objects.get(user=people["staff"])

    assert here.post(reverse("account-session-end", args=[their_row.pk])).status_code == 404
    assert here.post(reverse("account-session-end", args=[own_row.pk])).status_code == 404
    assert here.post(reverse("account-session-end", args=[2**63])).status_code == 404
    assert here.get(reverse("account-session-end", args=[own_row.pk])).status_code == 405
    assert _signed_in(theirs) and _signed_in(here)


def test_signing_out_everywhere_else_keeps_only_this_session(people):
    others = [log_in(browser(agent)) for agent in (EDGE_WINDOWS, SAFARI_IPHONE, FIREFOX_LINUX)]
    colleague = log_in(browser(EDGE_WINDOWS), "chief_joho")
    here = log_in(browser(CHROME_WINDOWS))

    response = here.post(reverse("account-sessions-end-others"), follow=True)

    assert "他の 3 件のセッションからサインアウトしました" in main_text(response)
    assert listed(response) == [["Chrome 120 (Windows)", "127.0.0.1"]]
    assert page(response).find(testid="end-others") is None
    assert [_signed_in(other) for other in others] == [False, False, False]
    assert _signed_in(here) and _signed_in(colleague)
    (event,) = AuditEvent.objects.filter(action=AuditAction.SESSIONS_ENDED)
    assert event.data == {"scope": "others", "sessions": 3}


def test_deactivating_an_account_ends_all_its_sessions_at_once(people):
    sessions = [log_in(browser(agent)) for agent in (EDGE_WINDOWS, CHROME_WINDOWS)]
    staff = User.objects.get(pk=people["staff"].pk)

    staff.is_active = False
    staff.save()

    assert not SignedInSession.objects.filter(user=staff).exists()
    assert [_signed_in(client) for client in sessions] == [False, False]
    (event,) = AuditEvent.objects.filter(action=AuditAction.SESSIONS_ENDED)
    assert event.data == {"scope": "deactivated", "sessions": 2}
    assert event.target_id == str(staff.pk)


def test_deactivating_in_the_django_admin_ends_the_sessions_too(client, people):
    staff_browser = log_in(browser(EDGE_WINDOWS))
    User.objects.filter(pk=people["admin"].pk).update(is_staff=True, is_superuser=True)
    client.force_login(people["admin"])
    url = reverse("admin:isms_user_change", args=[people["staff"].pk])
    staff = people["staff"]
    joined = timezone.localtime(staff.date_joined)

    response = client.post(
        url,
        {
            "username": staff.username,
            "display_name": staff.display_name,
            "section": staff.section_id,
            "date_joined_0": f"{joined:%Y-%m-%d}",
            "date_joined_1": f"{joined:%H:%M:%S}",
            # is_active left out: the box unticked.
            "role_assignments-TOTAL_FORMS": "0",
            "role_assignments-INITIAL_FORMS": "0",
            "_save": "1",
        },
    )

    assert response.status_code == 302
    assert not User.objects.get(pk=people["staff"].pk).is_active
    assert not _signed_in(staff_browser)


def test_a_password_changed_elsewhere_signs_every_session_out(people):
    # Django's session authentication hash: whatever changes the password (the admin, the
    # shell), a session begun with the old one is no longer signed in.
    there = log_in(browser(EDGE_WINDOWS))
    staff = User.objects.get(pk=people["staff"].pk)
    staff.set_password("another-long-passphrase-7")
    staff.save()

    assert not _signed_in(there)


def test_signing_out_removes_the_session_from_the_list(people):
    client = log_in(browser(EDGE_WINDOWS))
    assert SignedInSession.objects.filter(user=people["staff"]).count() == 1

    client.post(reverse("logout"))

    assert not SignedInSession.objects.filter(user=people["staff"]).exists()


def test_last_seen_is_written_at_most_once_a_minute(people):
    client = log_in(browser(EDGE_WINDOWS))
    row = SignedInSession.objects.get(user=people["staff"])
    long_ago = timezone.now() - datetime.timedelta(hours=2)
    SignedInSession.objects.filter(pk=row.pk).update(last_seen_at=long_ago)

    client.get(reverse("document-list"))
    assert SignedInSession.objects.get(pk=row.pk).last_seen_at == long_ago

    session = client.session
    session[SEEN_KEY] -= 61
    session.save()
    client.get(reverse("document-list"))
    assert SignedInSession.objects.get(pk=row.pk).last_seen_at > long_ago


def test_a_session_unused_for_longer_than_a_session_lasts_is_not_listed(people, settings):
    log_in(browser(EDGE_WINDOWS))
    here = log_in(browser(CHROME_WINDOWS))
    stale = timezone.now() - datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    SignedInSession.objects.filter(user_agent=EDGE_WINDOWS).update(last_seen_at=stale)

    assert listed(here.get(reverse("account-sessions"))) == [["Chrome 120 (Windows)", "127.0.0.1"]]


def test_a_session_from_before_the_list_existed_is_listed_once_it_is_used(people):
    client = log_in(browser(EDGE_WINDOWS))
    SignedInSession.objects.all().delete()
    session = client.session
    del session[SEEN_KEY]
    session.save()

    assert listed(client.get(reverse("account-sessions"))) == [["Edge 120 (Windows)", "127.0.0.1"]]


@pytest.mark.parametrize(
    ("user_agent", "shown"),
    [
        (CHROME_WINDOWS, "Chrome 120 (Windows)"),
        (EDGE_WINDOWS, "Edge 120 (Windows)"),
        (SAFARI_IPHONE, "Safari 17 (iPhone)"),
        (FIREFOX_LINUX, "Firefox 121 (Linux)"),
        ("curl/8.5.0", "curl/8.5.0"),
    ],
)
def test_a_browser_is_named_from_its_user_agent(user_agent, shown):
    assert describe_user_agent(user_agent) == shown
