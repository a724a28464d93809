"""Notification text that is rendered in the reader's language when it is shown.

A job renders a notification once, in its recipient's language, for the mail (which is
frozen when it is sent) and for the stored title and body (the fallback). Whatever it wrote
as a Text (an English msgid, marked for translation with gettext_noop, and its parameters) is
also kept as JSON on the notification, so that the list renders it again in the language of
whoever reads it, when they read it: someone who switches to English reads their old
reminders in English. Free text (a corrective action's plan, names) is kept as it was.

Parameters are what the sentence needs and nothing more: strings and numbers as they are,
dates as ISO dates that render as 令和8年4月1日 in Japanese and "1 April 2026" in English."""

import datetime
import logging
from collections.abc import Sequence
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import get_language, gettext

from .eras import date_label

logger = logging.getLogger(__name__)

# How a date parameter is stored: {"date": "2026-04-01"}.
DATE = "date"


# A date as the reader reads dates: in the era in Japanese, "1 April 2026" in English.
format_date = date_label


class Text:
    """A sentence to render in the reader's language: `msgid` is the English source text,
    marked for the catalogue with gettext_noop where it is defined; `params` fill its
    %(name)s placeholders."""

    def __init__(self, msgid: str | Promise, **params: Any) -> None:
        # A lazy string is accepted (str() of it would already be translated), but the
        # catalogue key is what has to be kept: ask for gettext_noop strings instead.
        if isinstance(msgid, Promise):
            raise TypeError("Text takes a plain msgid (mark it with gettext_noop)")
        self.msgid = msgid
        self.params = params

    def to_json(self) -> dict[str, Any]:
        return {
            "msgid": self.msgid,
            "params": {k: _param_to_json(v) for k, v in self.params.items()},
        }

    def __str__(self) -> str:
        return gettext(self.msgid) % {k: _param_text(v) for k, v in self.params.items()}

    def __repr__(self) -> str:
        return f"Text({self.msgid!r}, **{self.params!r})"


# What a job's render() may return as a title or body: a Text, plain text, or a sequence
# of them (a body's lines, joined by new lines).
Part = Text | str | Promise
Content = Part | Sequence[Part]


def _param_to_json(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return {DATE: value.isoformat()}
    if isinstance(value, Promise):
        return str(value)
    return value


def _param_text(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return format_date(value)
    if isinstance(value, dict) and set(value) == {DATE}:
        return format_date(datetime.date.fromisoformat(value[DATE]))
    return value


def parts_of(content: Content) -> list[Part]:
    if isinstance(content, Text | str | Promise):
        return [content]
    return list(content)


def render(content: Content) -> str:
    """The content in the current language."""
    return "\n".join(str(part) for part in parts_of(content))


def to_json(content: Content) -> list[dict[str, Any]] | None:
    """The content as stored for rendering again, or None when none of it is a Text (then
    the stored text is all there is to show)."""
    parts = parts_of(content)
    if not any(isinstance(part, Text) for part in parts):
        return None
    return [part.to_json() if isinstance(part, Text) else {"text": str(part)} for part in parts]


def render_json(parts: list[dict[str, Any]] | None, fallback: str) -> str:
    """Stored parts in the current language. The stored text instead when there are no parts,
    or when a msgid is no longer in the catalogue (it was reworded since: the stored text,
    in the recipient's language of the day, reads better than an English source text), or
    when it no longer fits its parameters."""
    if not parts:
        return fallback
    english = (get_language() or "ja").startswith("en")
    lines = []
    try:
        for part in parts:
            if "msgid" not in part:
                lines.append(str(part.get("text", "")))
                continue
            translated = gettext(part["msgid"])
            if translated == part["msgid"] and not english:
                return fallback
            params = {k: _param_text(v) for k, v in (part.get("params") or {}).items()}
            lines.append(translated % params)
    except (KeyError, ValueError, TypeError, AttributeError):
        logger.warning("a stored notification text no longer renders; showing the stored text")
        return fallback
    return "\n".join(lines)
