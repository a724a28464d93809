"""Turning policy text into safe HTML and readable differences."""

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


def line_diff(old_text, new_text):
    """Rows for a side-by-side reading of two texts: (kind, old line, new line), where kind
    is 'same', 'removed', 'added' or 'changed'. Unchanged stretches longer than a few lines
    are folded into one 'skip' row so the reader sees what changed."""
    old_lines = (old_text or "").splitlines()
    new_lines = (new_text or "").splitlines()
    rows = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            block = old_lines[i1:i2]
            if len(block) > 6:
                rows += [("same", line, line) for line in block[:2]]
                rows.append(("skip", f"… {len(block) - 4} …", ""))
                rows += [("same", line, line) for line in block[-2:]]
            else:
                rows += [("same", line, line) for line in block]
        elif tag == "delete":
            rows += [("removed", line, "") for line in old_lines[i1:i2]]
        elif tag == "insert":
            rows += [("added", "", line) for line in new_lines[j1:j2]]
        else:
            old_block, new_block = old_lines[i1:i2], new_lines[j1:j2]
            for k in range(max(len(old_block), len(new_block))):
                old = old_block[k] if k < len(old_block) else ""
                new = new_block[k] if k < len(new_block) else ""
                rows.append(("changed", old, new))
    return rows


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
