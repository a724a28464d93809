"""Turning policy text into safe HTML, and the plain unified diff of the API (the diff
people read on the pages is isms.policy_diff)."""

import difflib

import markdown as markdown_lib
import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "b",
    "i",
    "blockquote",
    "code",
    "pre",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
    "span",
}


def render_markdown(text):
    """Markdown to HTML with every tag and attribute outside a small safe set removed:
    revision bodies are written by people and shown to everyone."""
    html = markdown_lib.markdown(text or "", extensions=["tables", "sane_lists"])
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def unified_diff(old_text, new_text, old_label, new_label):
    return "\n".join(
        difflib.unified_diff(
            (old_text or "").splitlines(),
            (new_text or "").splitlines(),
            fromfile=old_label,
            tofile=new_label,
            lineterm="",
        )
    )
