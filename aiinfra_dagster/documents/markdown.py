"""Markdown -> ``Document``: CommonMark + GFM tables + YAML front matter, offsets into the source.

Parser choice, measured by ``benchmarks/parser_choice.py`` (300 generated documents, 1.32 MB, two
runs on a shared 2-core CPU): mistune 3's AST renderer (table plugin) parses 3.6-4.8 MB/s,
markdown-it-py 4's tokens (CommonMark + ``table`` + front matter plugin) 3.3-3.4 MB/s (0.72-0.93x
mistune), and all of ``parse_markdown`` (tokens -> ``Document``) 3.1 MB/s (0.66-0.88x): a 20 kB
page in ~6 ms. mistune's AST has no source positions (its nodes carry only type, raw, children,
attrs, style, bullet, tight) and it reads front matter as a thematic break and a setext heading.
Offsets are the point of this model (chunks are slices of ``Document.text``) and recovering them
from mistune would mean searching the source for each block's text, which breaks on repeated
blocks, entities and escapes. markdown-it-py's tokens carry ``.map`` (the block's source lines),
so one parse gives blocks, heading paths and offsets for at most a 1.5x cost.

What a document becomes:
- ``text`` is the source, unmodified; a block's ``text[start:end]`` is its source lines (trailing
  blank lines trimmed), ``plain`` what a reader sees (emphasis/link/image markup stripped: link
  text, inline code content and image alt text are kept).
- Headings (ATX and setext) set the heading path by level: a level-3 heading directly under a
  level-1 one has the path ``(h1, h3)``; headings are not blocks. Sections hold the blocks between
  headings (sections with no blocks are left out).
- Top-level blocks only: paragraph; fenced/indented code -> ``code`` (content verbatim); a whole
  top-level list, nested items included -> one ``list`` ("- item" per item, in document order);
  GFM table -> ``table`` ("cell | cell" per row, header row first); block quote -> ``quote``;
  raw HTML -> ``paragraph`` with tags stripped (``code`` for a ``<pre>``), skipped when it has
  no text. Thematic breaks and link reference definitions are not blocks.
- Front matter: YAML between leading ``---`` lines, read with ``yaml.safe_load``; scalar values
  become string metadata (lists and mappings are left out), ``title`` wins over the first h1.
  Front matter that is not a YAML mapping (a syntax error, or prose between two ``---`` rules)
  is treated as Markdown text: the document is parsed again without the plugin, so nothing a
  person wrote is dropped, and no metadata is recorded.
"""

from __future__ import annotations

import datetime as _dt
import html as _html
import re
from collections.abc import Sequence

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from aiinfra_dagster.documents.model import Block, BlockKind, Document, Section

_MD = MarkdownIt("commonmark").enable("table").use(front_matter_plugin)
_MD_NO_FRONT_MATTER = MarkdownIt("commonmark").enable("table")

# markdown-it normalises "\r\n" and "\r" to "\n" before counting lines: count them the same way.
_NEWLINE_RE = re.compile(r"\r\n|\r|\n")
_HTML_DROP_RE = re.compile(r"<!--.*?(?:-->|\Z)|<(script|style)\b.*?(?:</\1\s*>|\Z)", re.I | re.S)
_HTML_TAG_RE = re.compile(r"<[^>]*>")
_TRAILING_SPACE = " \t\r\n"
_CONTAINERS = {
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "blockquote_open": "quote",
    "table_open": "table",
}


def parse_markdown(text: str) -> Document:
    """Parse Markdown ``text`` (unmodified: block offsets point into it)."""
    tokens = _MD.parse(text)
    metadata: dict[str, str] = {}
    if tokens and tokens[0].type == "front_matter":
        front = _front_matter(tokens[0].content)
        if front is None:  # not YAML metadata: read those lines as Markdown
            tokens = _MD_NO_FRONT_MATTER.parse(text)
        else:
            metadata = front
    line_starts = [0, *(m.end() for m in _NEWLINE_RE.finditer(text))]
    builder = _SectionBuilder()
    first_h1 = ""
    last_end = 0
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if tok.level != 0 or tok.map is None:
            i += 1
            continue
        ttype = tok.type
        kind: BlockKind | None = None
        plain = ""
        end_index = i
        if ttype == "heading_open":
            heading = _inline_plain(tokens[i + 1].children or ()).strip()
            level = int(tok.tag[1])
            if level == 1 and not first_h1:
                first_h1 = heading
            builder.heading(level, heading)
            i += 3
            continue
        if ttype == "paragraph_open":
            kind, plain = "paragraph", _inline_plain(tokens[i + 1].children or ()).strip()
            end_index = i + 2
        elif ttype in ("fence", "code_block"):
            kind, plain = "code", _strip_final_newline(tok.content)
        elif ttype == "html_block":
            kind, plain = _html_block(tok.content)
        elif ttype in _CONTAINERS:
            end_index = _closing(tokens, i)
            inner = tokens[i + 1 : end_index]
            kind = _CONTAINERS[ttype]  # type: ignore[assignment]
            plain = (
                _list_plain(inner)
                if kind == "list"
                else _table_plain(inner)
                if kind == "table"
                else _quote_plain(inner)
            )
        i = end_index + 1
        if kind is None or not plain.strip():
            continue  # hr, front matter, empty code fence, tag-only HTML
        start, end = _span(text, line_starts, tok.map)
        start = max(start, last_end)
        if end <= start or not text[start:end].strip():
            continue
        builder.block(Block(kind, start, end, plain))
        last_end = end
    title = metadata.get("title", "").strip() or first_h1
    return Document("markdown", text, title, builder.sections(), metadata)


class _SectionBuilder:
    """Blocks grouped under the heading path in force where they appear."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []
        self._path: tuple[str, ...] = ()
        self._blocks: list[Block] = []
        self._sections: list[Section] = []

    def heading(self, level: int, heading: str) -> None:
        if not heading:
            return
        self._close()
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, heading))
        self._path = tuple(h for _, h in self._stack)

    def block(self, block: Block) -> None:
        self._blocks.append(block)

    def _close(self) -> None:
        if self._blocks:
            self._sections.append(Section(self._path, tuple(self._blocks)))
            self._blocks = []

    def sections(self) -> tuple[Section, ...]:
        self._close()
        return tuple(self._sections)


def _span(text: str, line_starts: list[int], line_map: Sequence[int]) -> tuple[int, int]:
    """Character offsets of source lines ``[first, last)``, trailing blank space trimmed."""
    first, last = line_map[0], line_map[1]
    start = line_starts[first] if first < len(line_starts) else len(text)
    end = line_starts[last] if last < len(line_starts) else len(text)
    while end > start and text[end - 1] in _TRAILING_SPACE:
        end -= 1
    return start, end


def _closing(tokens: list[Token], i: int) -> int:
    """Index of the token closing the level-0 container opened at ``i``."""
    for j in range(i + 1, len(tokens)):
        if tokens[j].level == 0 and tokens[j].nesting == -1:
            return j
    return len(tokens) - 1


def _inline_plain(children: Sequence[Token]) -> str:
    """Inline tokens as a reader sees them: markup and inline HTML dropped, soft breaks as spaces."""
    parts: list[str] = []
    for child in children:
        ctype = child.type
        if ctype in ("text", "code_inline", "text_special"):
            parts.append(child.content)
        elif ctype == "softbreak":
            parts.append(" ")
        elif ctype == "hardbreak":
            parts.append("\n")
        elif ctype == "image":
            parts.append(_inline_plain(child.children or ()))
    return "".join(parts)


def _strip_final_newline(code: str) -> str:
    return code[:-1] if code.endswith("\n") else code


def _html_text(fragment: str) -> str:
    text = _html.unescape(_HTML_TAG_RE.sub(" ", _HTML_DROP_RE.sub(" ", fragment)))
    return "\n".join(line for line in (" ".join(raw.split()) for raw in text.split("\n")) if line)


def _html_block(content: str) -> tuple[BlockKind, str]:
    if content.lstrip()[:4].lower() == "<pre":
        code = _html.unescape(_HTML_TAG_RE.sub("", _HTML_DROP_RE.sub("", content)))
        return "code", code.strip("\n")
    return "paragraph", _html_text(content)


def _token_text(tok: Token) -> str:
    """The reader's text of one token inside a container (one line; "" for structure tokens)."""
    if tok.type == "inline":
        return " ".join(_inline_plain(tok.children or ()).split())
    if tok.type in ("fence", "code_block"):
        return " ".join(tok.content.split())
    if tok.type == "html_block":
        return " ".join(_html_text(tok.content).split())
    return ""


def _list_plain(tokens: list[Token]) -> str:
    """ "- item" per list item, nested items after their parent; an item's paragraphs joined by a space."""
    items: list[list[str]] = []
    open_items: list[int] = []
    for tok in tokens:
        if tok.type == "list_item_open":
            open_items.append(len(items))
            items.append([])
        elif tok.type == "list_item_close":
            if open_items:
                open_items.pop()
        elif open_items:
            piece = _token_text(tok)
            if piece:
                items[open_items[-1]].append(piece)
    return "\n".join("- " + " ".join(parts) for parts in items if parts)


def _table_plain(tokens: list[Token]) -> str:
    rows: list[list[str]] = []
    for tok in tokens:
        if tok.type == "tr_open":
            rows.append([])
        elif tok.type == "inline" and rows:
            rows[-1].append(" ".join(_inline_plain(tok.children or ()).split()))
    return "\n".join(" | ".join(row) for row in rows if any(row))


def _quote_plain(tokens: list[Token]) -> str:
    lines: list[str] = []
    for tok in tokens:
        if tok.type == "inline":
            lines.append(_inline_plain(tok.children or ()).strip())
        elif tok.type in ("fence", "code_block"):
            lines.append(_strip_final_newline(tok.content))
        elif tok.type == "html_block":
            lines.append(_html_text(tok.content))
    return "\n".join(line for line in lines if line)


def _front_matter(content: str) -> dict[str, str] | None:
    """String metadata from YAML front matter; None when it is not a YAML mapping (read it as text)."""
    try:
        data = yaml.safe_load(content)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        return None
    if data is None:
        return {}
    if not isinstance(data, dict):
        return None
    metadata: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            metadata[str(key)] = "true" if value else "false"
        elif isinstance(value, (_dt.date, _dt.datetime)):
            metadata[str(key)] = value.isoformat()
        elif isinstance(value, (str, int, float)):
            metadata[str(key)] = str(value)
    return metadata
