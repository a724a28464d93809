"""The sessions a person is signed in with: recorded at sign-in, refreshed while used, ended
one at a time, everywhere else, or all at once when the account is deactivated.

A session is ended by deleting its row (isms.models.SignedInSession) and the session itself
from the store named by SESSION_ENGINE, through that engine's SessionStore, so that the
database, cache and cached_db engines all forget it (a signed-cookie session cannot be
ended by the server: the portal does not use that engine). A person whose session was
ended is signed out at their next request.
"""

import datetime
import logging
import re
from importlib import import_module

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit
from .clientip import client_ip
from .models import AuditAction, SignedInSession, User

logger = logging.getLogger(__name__)

# A session's "last seen" is written at most this often: a row update per request would
# cost every page a write.
LAST_SEEN_EVERY = datetime.timedelta(minutes=1)
# Where in the session the middleware keeps when it last wrote "last seen" (epoch seconds).
SEEN_KEY = "_isms_last_seen"


def _store(session_key: str | None = None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def active_sessions(user: User):
    """The person's sessions that have not expired, most recently used first. Rows of
    sessions that expired on their own are removed on the way."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    SignedInSession.objects.filter(user=user, last_seen_at__lt=cutoff).delete()
    return SignedInSession.objects.filter(user=user)


def _end(rows) -> int:
    """End the sessions of `rows` (a queryset); returns how many there were."""
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        _store().delete(key)
    rows.filter(session_key__in=keys).delete()
    return len(keys)


def _record(user: User, *, by, request, ended: int, scope: str) -> None:
    audit.record(
        AuditAction.SESSIONS_ENDED,
        actor=by,
        target=user,
        request=request,
        data={"scope": scope, "sessions": ended},
    )


@transaction.atomic
def end_session(user: User, pk: int, *, request: HttpRequest) -> bool:
    """End one of the person's own sessions other than the current one. False when there
    is no such session (another person's, the current one, or already ended)."""
    rows = SignedInSession.objects.filter(user=user, pk=pk).exclude(
        session_key=request.session.session_key or ""
    )
    ended = _end(rows)
    if ended:
        _record(user, by=user, request=request, ended=ended, scope="one")
    return bool(ended)


@transaction.atomic
def end_other_sessions(
    user: User, *, request: HttpRequest, scope: str = "others", by: User | None = None
) -> int:
    """End every session of the person but the one of `request`; returns how many."""
    rows = SignedInSession.objects.filter(user=user).exclude(
        session_key=request.session.session_key or ""
    )
    ended = _end(rows)
    if ended:
        _record(user, by=by or user, request=request, ended=ended, scope=scope)
    return ended


@transaction.atomic
def end_all_sessions(
    user: User, *, request: HttpRequest | None = None, scope: str, by: User | None = None
) -> int:
    """End every session of the person (deactivation, a password reset)."""
    ended = _end(SignedInSession.objects.filter(user=user))
    if ended:
        _record(user, by=by, request=request, ended=ended, scope=scope)
    return ended


def key_changed(previous_key: str | None, request: HttpRequest) -> None:
    """The session of `request` was given a new key (Django's cycle_key): its row follows."""
    key = request.session.session_key
    if previous_key and key and key != previous_key:
        SignedInSession.objects.filter(session_key=previous_key).update(session_key=key)


@receiver(user_logged_in)
def _record_session(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    if request.session.session_key is None:
        # login() flushed the session of someone else: give the new one its key now.
        request.session.save()
    now = timezone.now()
    SignedInSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "user_agent": audit.user_agent(request),
            "ip_address": client_ip(request),
            "last_seen_at": now,
        },
    )
    request.session[SEEN_KEY] = int(now.timestamp())


@receiver(user_logged_out)
def _forget_session(sender, request, user, **kwargs):
    if request is not None and getattr(request, "session", None) is not None:
        key = request.session.session_key
        if key:
            SignedInSession.objects.filter(session_key=key).delete()


@receiver(post_save, sender=User)
def _end_sessions_of_deactivated_person(sender, instance, **kwargs):
    # Every path that deactivates someone (the Django admin, a personnel import, the shell)
    # saves the person: their sessions end with that save, not at their next request.
    if not instance.is_active and SignedInSession.objects.filter(user=instance).exists():
        end_all_sessions(instance, scope="deactivated")


class SessionActivityMiddleware:
    """Keeps "last seen" of the signed-in session current (at most once a minute), and
    records a session that began before the portal kept these rows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is not None and user.is_authenticated and session is not None:
            self._touch(request, user, session)
        return self.get_response(request)

    def _touch(self, request, user, session):
        key = session.session_key
        now = timezone.now()
        seen = session.get(SEEN_KEY)
        if not key or (seen and now.timestamp() - seen < LAST_SEEN_EVERY.total_seconds()):
            return
        updated = SignedInSession.objects.filter(session_key=key, user=user).update(
            last_seen_at=now
        )
        if not updated and _store().exists(key):
            SignedInSession.objects.get_or_create(
                session_key=key,
                defaults={
                    "user": user,
                    "user_agent": audit.user_agent(request),
                    "ip_address": client_ip(request),
                    "last_seen_at": now,
                },
            )
        session[SEEN_KEY] = int(now.timestamp())


# Browser and system as the session list names them, from the User-Agent header. Order
# matters: Edge and Opera say "Chrome" too, Chrome says "Safari", Android says "Linux".
_BROWSERS = [
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"OPR/(\d+)")),
    ("Firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/")),
    ("Internet Explorer", re.compile(r"(?:MSIE |Trident/.*rv:)(\d+)")),
]
_SYSTEMS = [
    ("iPhone", re.compile(r"iPhone")),
    ("iPad", re.compile(r"iPad")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux")),
]


def describe_user_agent(user_agent: str) -> str:
    """ "Chrome 120 (Windows)" for a User-Agent header; the header itself when it names no
    browser the portal knows (a script, a tool)."""
    browser = ""
    for name, pattern in _BROWSERS:
        if found := pattern.search(user_agent):
            browser = f"{name} {found.group(1)}"
            break
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), "")
    if browser and system:
        return f"{browser} ({system})"
    return browser or system or user_agent[:80] or _("Unknown browser")
