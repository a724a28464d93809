"""What changed between two revisions, as people read it (issue 12).

The two Markdown bodies are rendered and cut into blocks (headings, paragraphs, list items,
table rows, code); the blocks are compared in order, and a block that changed is compared
again character by character with diff-match-patch (Japanese has no spaces between words,
so a word diff by whitespace would mark whole sentences). What is shown:

- the rendered text, never Markdown syntax: headings as headings, items in lists;
- inserted and deleted words in <ins> and <del>, with visually hidden words saying so, and
  a visible tag on each changed block, so that nothing rests on colour alone;
- the headings of the sections that changed, even when unchanged, as context;
- unchanged runs folded into <details> whose summary says how many paragraphs they hide.

Policy text is written by people: the HTML is built with format_html from text taken out
of the sanitised rendering (isms.rendering.render_markdown), so it is escaped twice over.
"""

from dataclasses import dataclass, field
from difflib import SequenceMatcher
from html.parser import HTMLParser

from diff_match_patch import diff_match_patch
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .rendering import render_markdown

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCK_TAGS = HEADINGS | {"p", "li", "tr", "pre"}
# Below this share of common characters, a changed block reads better as one removed and
# one added than as a sentence riddled with <ins> and <del>.
SIMILAR = 0.5
# The diff is shown under a section heading (h2): the top level of the policy's own
# headings becomes h3.
TOP_HEADING = 3


@dataclass(frozen=True)
class Block:
    kind: str  # "heading", "paragraph", "item", "row" or "code"
    text: str
    level: int = 0  # heading level (1-6); nesting depth of a list item
    ordered: bool = False  # an item of a numbered list


@dataclass
class Entry:
    status: str  # "same", "changed", "added" or "removed"
    block: Block  # the new block; the old one for "removed"
    parts: list[tuple[int, str]] = field(default_factory=list)  # diff-match-patch ops
    context: bool = False  # an unchanged heading kept above a change


class _Blocks(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.lists: list[str] = []
        self.current: dict | None = None
        self.in_pre = False

    def _open(self, kind, level=0, ordered=False):
        self._flush()
        self.current = {"kind": kind, "level": level, "ordered": ordered, "text": []}

    def _flush(self):
        if self.current is None:
            return
        raw = "".join(self.current["text"])
        text = raw.strip("\n") if self.current["kind"] == "code" else " ".join(raw.split())
        if text:
            self.blocks.append(
                Block(self.current["kind"], text, self.current["level"], self.current["ordered"])
            )
        self.current = None

    def handle_starttag(self, tag, attrs):
        if tag in ("ul", "ol"):
            self._flush()
            self.lists.append(tag)
        elif tag in HEADINGS:
            self._open("heading", int(tag[1]))
        elif tag == "li":
            self._open("item", len(self.lists), bool(self.lists) and self.lists[-1] == "ol")
        elif tag == "p":
            # A loose list's item holds its text in a <p>: still the item.
            if not (self.current and self.current["kind"] == "item" and not self.current["text"]):
                self._open("paragraph")
        elif tag == "tr":
            self._open("row")
        elif tag == "pre":
            self._open("code")
            self.in_pre = True
        elif tag in ("td", "th") and self.current and "".join(self.current["text"]).strip():
            self.current["text"].append(" | ")
        elif tag == "br" and self.current:
            self.current["text"].append("\n" if self.in_pre else " ")

    def handle_endtag(self, tag):
        if tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
        elif tag in BLOCK_TAGS:
            self._flush()
            if tag == "pre":
                self.in_pre = False

    def handle_data(self, data):
        if self.current is None:
            if not data.strip():
                return
            self._open("paragraph")  # text straight inside a blockquote or after a sublist
        self.current["text"].append(data)

    def close(self):
        super().close()
        self._flush()


def blocks_of(markdown_text: str) -> list[Block]:
    """The rendered blocks of a Markdown text, as plain text (emphasis, links and code spans
    become their words)."""
    parser = _Blocks()
    parser.feed(render_markdown(markdown_text or ""))
    parser.close()
    return parser.blocks


def _char_diff(old: str, new: str) -> list[tuple[int, str]] | None:
    """The pieces of an edited block, or None when the two share too little to be read as
    one block edited."""
    dmp = diff_match_patch()
    dmp.Diff_Timeout = 0.5  # a pathological pair of paragraphs must not hold the page
    diffs = dmp.diff_main(old, new)
    # Measured before the clean-up, which folds short common runs into the edits.
    common = sum(len(text) for op, text in diffs if op == 0)
    if 2 * common / (len(old) + len(new)) < SIMILAR:
        return None
    dmp.diff_cleanupSemantic(diffs)
    return [(op, text) for op, text in diffs]


def diff_blocks(old_text: str, new_text: str) -> list[Entry]:
    """Every block of both texts in reading order, marked same, changed, added or removed."""
    old, new = blocks_of(old_text), blocks_of(new_text)
    entries: list[Entry] = []
    matcher = SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            entries += [Entry("same", block) for block in new[j1:j2]]
            continue
        removed, added = old[i1:i2], new[j1:j2]
        # Blocks in the same place and of the same kind are one block edited, when they
        # still share enough of their text.
        for k in range(max(len(removed), len(added))):
            before = removed[k] if k < len(removed) else None
            after = added[k] if k < len(added) else None
            if before and after and before.kind == after.kind:
                parts = _char_diff(before.text, after.text)
                if parts is not None:
                    entries.append(Entry("changed", after, parts))
                    continue
            if before:
                entries.append(Entry("removed", before))
            if after:
                entries.append(Entry("added", after))
    _keep_headings_as_context(entries)
    return entries


def _keep_headings_as_context(entries: list[Entry]) -> None:
    """Mark the unchanged headings of every section (and the sections above it) in which
    something changed, so the reader knows where each change sits."""
    path: dict[int, int] = {}  # heading level -> index of the entry of the open heading
    for index, entry in enumerate(entries):
        if entry.block.kind == "heading" and entry.status != "removed":
            level = entry.block.level
            path = {lvl: i for lvl, i in path.items() if lvl < level}
            path[level] = index
        if entry.status != "same":
            for i in path.values():
                if entries[i].status == "same":
                    entries[i].context = True


def segments(entries: list[Entry]) -> list[tuple[str, list[Entry]]]:
    """("show", entries) and ("fold", entries) runs: unchanged blocks that are not context
    are folded when there are two or more in a row."""
    runs: list[tuple[str, list[Entry]]] = []
    for entry in entries:
        kind = "fold" if entry.status == "same" and not entry.context else "show"
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(entry)
        else:
            runs.append((kind, [entry]))
    # A single unchanged paragraph between two changes is context, not worth a fold.
    merged: list[tuple[str, list[Entry]]] = []
    for kind, run in runs:
        kind = "show" if kind == "fold" and len(run) < 2 else kind
        if merged and merged[-1][0] == kind == "show":
            merged[-1][1].extend(run)
        else:
            merged.append((kind, run))
    return merged


def readable_diff(old_text: str, new_text: str) -> SafeString:
    """The HTML of the differences, or "" when the texts read the same."""
    entries = diff_blocks(old_text, new_text)
    if all(entry.status == "same" for entry in entries):
        return SafeString("")
    levels = [e.block.level for e in entries if e.block.kind == "heading"]
    offset = TOP_HEADING - min(levels) if levels else 0
    html = []
    for kind, run in segments(entries):
        blocks = _render_run(run, offset)
        if kind == "fold":
            count = len(run)
            summary = ngettext(
                "%(count)s unchanged paragraph", "%(count)s unchanged paragraphs", count
            ) % {"count": count}
            blocks = format_html(
                '<details class="diff-fold" data-hidden="{}"><summary>{}</summary>'
                '<div class="diff-folded">{}</div></details>',
                count,
                summary,
                blocks,
            )
        html.append(blocks)
    return format_html('<div class="diff-blocks">{}</div>', _joined(html))


def _render_run(run: list[Entry], offset: int) -> SafeString:
    """Blocks in reading order; consecutive list items share one list."""
    out = []
    items: list[Entry] = []

    def close_list():
        if items:
            tag = "ol" if items[0].block.ordered else "ul"
            out.append(
                format_html(
                    '<{} class="diff-list">{}</{}>',
                    tag,
                    format_html_join("", "{}", ((_render_block(e, offset),) for e in items)),
                    tag,
                )
            )
            items.clear()

    for entry in run:
        if entry.block.kind == "item":
            items.append(entry)
            continue
        close_list()
        out.append(_render_block(entry, offset))
    close_list()
    return _joined(out)


def _joined(pieces: list[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((piece,) for piece in pieces))


def _render_block(entry: Entry, offset: int) -> SafeString:
    block = entry.block
    status = "context" if entry.context else entry.status
    content = _content(entry)
    if block.kind == "heading":
        level = max(1, min(6, block.level + offset))
        return format_html(
            '<h{} class="diff-block {}" data-status="{}">{}</h{}>',
            level,
            status,
            status,
            content,
            level,
        )
    tag = {"item": "li", "code": "pre"}.get(block.kind, "p")
    extra = f" depth-{min(block.level, 4)}" if block.kind == "item" else ""
    if block.kind == "row":
        extra = " row"
    return format_html(
        '<{} class="diff-block {}{}" data-status="{}">{}</{}>',
        tag,
        status,
        extra,
        status,
        content,
        tag,
    )


def _tag(status: str) -> SafeString:
    label = {"added": _("Added"), "removed": _("Deleted"), "changed": _("Changed")}[status]
    return format_html('<span class="diff-tag">{}</span> ', label)


def _content(entry: Entry) -> SafeString:
    text = entry.block.text
    if entry.status == "same":
        return format_html("{}", text)
    if entry.status == "added":
        return format_html("{}<ins>{}</ins>", _tag("added"), text)
    if entry.status == "removed":
        return format_html("{}<del>{}</del>", _tag("removed"), text)
    return format_html(
        "{}{}",
        _tag("changed"),
        format_html_join("", "{}", ((_part(op, piece),) for op, piece in entry.parts)),
    )


def _part(op: int, text: str) -> SafeString:
    """A piece of a changed block; screen readers hear where an insertion or a deletion
    starts and ends (the underline and the strike-through are not read out)."""
    if op == 0:
        return format_html("{}", text)
    tag = "ins" if op > 0 else "del"
    start, end = (
        (_("Inserted:"), _("(end of insertion)"))
        if op > 0
        else (_("Deleted:"), _("(end of deletion)"))
    )
    return format_html(
        '<{}><span class="visually-hidden">{} </span>{}'
        '<span class="visually-hidden"> {}</span></{}>',
        tag,
        start,
        text,
        end,
        tag,
    )
