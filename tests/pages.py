"""Reading server-rendered pages the way a person sees them, for the page tests.

A tiny DOM built with the standard library's HTMLParser: enough to find elements by tag,
class, test id or attribute and read their text, so the tests assert on what is shown
rather than on template source.
"""

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from django.utils import translation

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []

    @property
    def classes(self):
        return set((self.attrs.get("class") or "").split())

    @property
    def text(self):
        parts = []

        def walk(node):
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    walk(child)

        walk(self)
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag=None, *, cls=None, testid=None, **attrs):
        found = []
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            if cls and cls not in node.classes:
                continue
            if testid and node.attrs.get("data-testid") != testid:
                continue
            if any(node.attrs.get(name.replace("_", "-")) != v for name, v in attrs.items()):
                continue
            found.append(node)
        return found

    def find(self, tag=None, **kwargs):
        found = self.find_all(tag, **kwargs)
        return found[0] if found else None

    def __repr__(self):
        return f"<{self.tag} {self.attrs}>"


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("document", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def page(response):
    """The DOM of a rendered page."""
    builder = _Builder()
    builder.feed(response.content.decode("utf-8"))
    builder.close()
    return builder.root


def main_text(response):
    """The visible text of the page's main content (navigation and footer left out)."""
    main = page(response).find("main")
    return main.text if main else ""


def messages(response):
    """(level, text) of the flash messages shown on the page."""
    # <div class="messages" role="status"><p class="message success">…</p></div> (base.html)
    return [
        (" ".join(sorted(p.classes - {"message"})), p.text)
        for box in page(response).find_all("div", cls="messages")
        for p in box.find_all("p", cls="message")
    ]


def form_actions(response):
    return [form.attrs.get("action", "") for form in page(response).find_all("form")]


def links(response):
    return [a.attrs.get("href", "") for a in page(response).find_all("a")]


def diff_blocks(response):
    """(status, text) of each block of the difference between two revisions
    (isms/policy_diff.py), in reading order, folded ones included: status is same,
    context, changed, added or removed; the text as shown, without the tag ("追加") and the
    words only screen readers hear."""
    diff = page(response).find(testid="diff")
    assert diff is not None, "the page shows no difference"

    def shown(node):
        parts = []
        for child in node.children:
            if isinstance(child, str):
                parts.append(child)
            elif not child.classes & {"visually-hidden", "diff-tag"}:
                parts.append(shown(child))
        return "".join(parts)

    return [
        (node.attrs["data-status"], re.sub(r"\s+", " ", shown(node)).strip())
        for node in diff.find_all(cls="diff-block")
    ]


def ja(message):
    """The text a Japanese reader sees for a message of the UI (the default language)."""
    with translation.override("ja"):
        return str(translation.gettext(message))


def is_login_redirect(response, next_url):
    """True when the response sends an anonymous visitor to log in, coming back to next_url."""
    if response.status_code != 302:
        return False
    location = urlsplit(response["Location"])
    return location.path == "/accounts/login/" and parse_qs(location.query).get("next") == [
        next_url
    ]
