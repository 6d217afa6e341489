"""HTML -> ``Document``: the page's main content, headings as paths, typed blocks.

Extractor choice, measured by ``benchmarks/parser_choice.py`` (two runs on a shared 2-core CPU;
ranges are the two runs). Inputs: 160 generated pages in five layouts (semantic HTML5, div soup
with named classes, Sphinx-like roles, no landmarks at all, one-paragraph pages), each with
navigation, a site header, a sidebar, a footer, share links and a cookie banner; and 60 pages of
the Python documentation's own HTML (``python3.11-doc``, 4.55 MB). trafilatura 2.3 ran as
``extract(output_format="xml", include_formatting=True, include_tables=True, favor_recall=True)``;
selectolax 1.0 (lexbor) with the rules below.

==============================  ======================  ======================
generated pages                 trafilatura             selectolax + rules
==============================  ======================  ======================
docs/s (MB/s)                   105-124 (0.5-0.6)       1,341-1,931 (6.9-9.9)
boilerplate phrases left/page   1.00                    0.80
main-text sentences kept        100%                    100%
headings kept                   70.9%                   100%
code blocks / tables kept       100% / 100%             100% / 100%
**Python docs pages**
docs/s (MB/s)                   16.6-19.6 (1.3-1.5)     176-285 (13-22)
boilerplate phrases left/page   0.02                    0
headings kept                   100%                    100%
code blocks kept                48.8%                   100%
tables kept                     88.2%                   100%
==============================  ======================  ======================

Both leave the footer of the layout with no landmarks or names (a plain ``<p>`` with a copyright
line and two links: 4 phrases a page there, the whole of selectolax's 0.80); trafilatura also
leaves that layout's cookie banner and the share link of short pages, drops every heading of the
no-landmark layout and the h1 of short pages, and on the documentation drops the code examples
inside list items and definitions (half of them) and tables inside definitions. It is the better
*generic* article finder, but documentation sites mark their structure (``<main>``,
``role="main"``, ``<nav>``, ``role="navigation"``, Sphinx/MkDocs classes) and these rules (listed
in ``html_content``, which applies them) over lexbor's DOM keep all of it at 10.6-15.6x the speed,
so selectolax alone is the extractor (no trafilatura fallback: neither came back empty on any page,
short ones included).

``html_content`` picks the content root and what under it is boilerplate; ``html_text`` reads an
element's text; this module builds the document's text, sections and blocks from the content.

``Document.text`` is the readable text built from the content: heading lines and blocks
separated by blank lines; code verbatim; lists as "- item" lines (nested items included; a list
whose items hold code, tables, quotes, definitions or headings is split around those blocks, so
code stays verbatim);
tables as "cell | cell" rows (header first); ``<dl>`` terms as paragraphs with their
definitions' blocks after them (Sphinx object descriptions, ``dt.sig-object``, become ``api``
blocks and the blocks of their description carry the entry). Block offsets point into that
text and ``plain`` equals the slice. Headings are lines of the text but not blocks.
``title`` is ``<title>`` (the first h1 instead when the title is that h1 joined to a site name:
"Pooling | Acme Docs"), else the first h1. ``metadata``: ``<meta name|property content>`` values.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

from aiinfra_dagster.documents.html_content import _NEVER_CONTENT, _content_root, _skipped
from aiinfra_dagster.documents.html_text import _INLINE, _children, _collapse, _holds, _lines, _one_line, _pre_text
from aiinfra_dagster.documents.model import ApiEntry, Block, BlockKind, Document, Section, UnparseableDocument

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_API_DOMAINS = frozenset("py c cpp js rst std objdesc".split())
_STRUCTURED = "pre, table, blockquote, dl, h1, h2, h3, h4, h5, h6"
"""A list or quote holding one of these is walked block by block (its code stays verbatim, its tables tables)."""
_LAYOUT_INSIDE = "table, h1, h2, h3, h4, h5, h6, pre, blockquote"
_TITLE_SEPARATORS = frozenset("|-\u2013\u2014:\u00b7\u2022\u00bb/")
_NO_TEXT = (
    "HTML page has no main text content (nothing left after removing navigation, header, footer, sidebar and scripts)"
)


def parse_html(html: str) -> Document:
    """The main content of an HTML page as a ``Document`` (raises ``UnparseableDocument`` when it has none)."""
    tree = LexborHTMLParser(html)
    body = tree.body
    if body is None:
        raise UnparseableDocument(_NO_TEXT)
    root = _content_root(tree, body)
    builder = _Builder(_skipped(root, body_root=root.mem_id == body.mem_id))
    builder.walk(root)
    if not builder.has_blocks() and root.mem_id != body.mem_id:
        root = body
        builder = _Builder(_skipped(root, body_root=True))
        builder.walk(root)
    if not builder.has_blocks():
        raise UnparseableDocument(_NO_TEXT)
    title_node = tree.css_first("head title") or tree.css_first("title")
    page_title = _collapse(title_node.text(deep=True)) if title_node is not None else ""
    h1 = builder.first_h1
    if not h1:
        first = tree.css_first("h1")
        h1 = _one_line(first, frozenset()) if first is not None else ""
    title = h1 if h1 and _is_h1_plus_site_name(page_title, h1) else page_title or h1
    return Document("html", builder.text(), title, builder.sections(), _metadata(tree))


def _is_h1_plus_site_name(title: str, h1: str) -> bool:
    """ "Pooling | Acme Docs", "Acme Docs - Pooling": the title is the h1 and a site name joined by a separator."""
    if title.startswith(h1):
        rest = title[len(h1) :].lstrip()
        return rest[:1] in _TITLE_SEPARATORS
    if title.endswith(h1):
        rest = title[: -len(h1)].rstrip()
        return rest[-1:] in _TITLE_SEPARATORS
    return False


def _metadata(tree: LexborHTMLParser) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for meta in tree.css("meta[content]"):
        attrs = meta.attributes
        key = (attrs.get("name") or attrs.get("property") or "").strip().lower()
        value = _collapse(attrs.get("content") or "")
        if key and value and key != "viewport":
            metadata.setdefault(key, value)
    return metadata


class _Builder:
    """Walks the content root once, writing ``text`` and collecting blocks under heading paths."""

    def __init__(self, skip: frozenset[int]) -> None:
        self.skip = skip
        self._parts: list[str] = []
        self._pos = 0
        self._inline: list[list[str]] = [[]]
        self._stack: list[tuple[int, str]] = []
        self._path: tuple[str, ...] = ()
        self._blocks: list[Block] = []
        self._sections: list[Section] = []
        self._api: list[ApiEntry | None] = []
        self._dl_api: dict[int, ApiEntry] = {}
        self._list_depth = 0
        """> 0 inside a list walked item by item (one holding code, tables, quotes, definitions or headings)"""
        self._items: list[str] = []
        """that list's items not written yet: they are written as one list block before the next other block"""
        self._item_open = False
        self.first_h1 = ""

    # --- output -----------------------------------------------------------------------------
    def _write(self, piece: str) -> tuple[int, int]:
        if self._parts:
            self._parts.append("\n\n")
            self._pos += 2
        start = self._pos
        self._parts.append(piece)
        self._pos += len(piece)
        return start, self._pos

    def _block(self, kind: BlockKind, plain: str, api: ApiEntry | None = None) -> None:
        if not plain.strip():
            return
        self._write_items()
        start, end = self._write(plain)
        self._blocks.append(Block(kind, start, end, plain, api or (self._api[-1] if self._api else None)))

    def _write_items(self) -> None:
        """The pending items of a list walked item by item, as one list block."""
        if self._items:
            items, self._items = self._items, []
            self._block("list", "\n".join("- " + item for item in items))

    def _heading(self, level: int, heading: str) -> None:
        if not heading:
            return
        self._flush_paragraph()
        self._write_items()
        self._write(heading)
        if self._blocks:
            self._sections.append(Section(self._path, tuple(self._blocks)))
            self._blocks = []
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, heading))
        self._path = tuple(h for _, h in self._stack)
        if level == 1 and not self.first_h1:
            self.first_h1 = heading

    def _flush_paragraph(self) -> None:
        if len(self._inline) == 1 and not self._inline[0]:
            return
        lines = [line for line in (_collapse("".join(raw)) for raw in self._inline) if line]
        self._inline = [[]]
        if not lines:
            return
        if self._list_depth:
            if self._item_open and self._items:
                self._items[-1] += " " + " ".join(lines)
            else:
                self._items.append(" ".join(lines))
                self._item_open = True
            return
        self._block("paragraph", "\n".join(lines))

    def has_blocks(self) -> bool:
        return bool(self._blocks or self._sections)

    def text(self) -> str:
        return "".join(self._parts)

    def sections(self) -> tuple[Section, ...]:
        if self._blocks:
            self._sections.append(Section(self._path, tuple(self._blocks)))
            self._blocks = []
        return tuple(self._sections)

    # --- the walk ---------------------------------------------------------------------------
    def walk(self, root: LexborNode) -> None:
        """Depth-first over ``root`` without recursion (deeply nested, malformed pages stay in bounds)."""
        skip = self.skip
        stack: list[tuple[LexborNode, bool]] = [(root, False)]
        while stack:
            node, leaving = stack.pop()
            if leaving:
                self._flush_paragraph()
                tag = node.tag
                if tag == "dd" and self._api:
                    self._api.pop()
                elif tag == "li":
                    self._item_open = False
                elif tag in ("ul", "ol"):
                    self._list_depth -= 1
                    if not self._list_depth:
                        self._write_items()
                continue
            if node.is_text_node:
                text = node.text_content
                if text:
                    self._inline[-1].append(text)
                continue
            tag = node.tag
            if not node.is_element_node or tag in _NEVER_CONTENT or node.mem_id in skip:
                continue
            if tag in _INLINE:
                if tag != "img":
                    stack.extend((child, False) for child in reversed(list(_children(node))))
                continue
            if tag == "br":
                self._inline.append([])
                continue
            self._flush_paragraph()
            if tag in _HEADINGS:
                self._heading(_HEADINGS[tag], _one_line(node, skip))
            elif tag == "pre":
                self._block("code", _pre_text(node))
            elif tag in ("ul", "ol") and not self._list_depth and not _holds(node, _STRUCTURED):
                self._block("list", "\n".join("- " + item for item in self._list_items(node)))
            elif tag == "table" and not self._is_layout_table(node):
                self._table(node)
            elif tag == "blockquote" and not _holds(node, _STRUCTURED):
                self._block("quote", "\n".join(_lines(node, skip)[0]))
            elif tag == "dt":
                self._definition_term(node)
            else:  # a container: its children are blocks or paragraph text
                if tag in ("ul", "ol"):
                    self._list_depth += 1
                elif tag == "li":
                    self._item_open = False
                elif tag == "dd":
                    parent = node.parent
                    self._api.append(self._dl_api.get(parent.mem_id) if parent is not None else None)
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(list(_children(node))))

    def _list_items(self, node: LexborNode) -> list[str]:
        """One line per item, each nested item after its parent's text."""
        items: list[str] = []
        pending: list[Iterator[LexborNode]] = [_children(node)]
        while pending:
            child = next(pending[-1], None)
            if child is None:
                pending.pop()
                continue
            if child.is_text_node:
                text = _collapse(child.text_content or "")
                if text:
                    items.append(text)
                continue
            if not child.is_element_node or child.tag in _NEVER_CONTENT or child.mem_id in self.skip:
                continue
            lines, nested = _lines(child, self.skip, stop=frozenset({"ul", "ol"}))
            if lines:
                items.append(" ".join(lines))
            if nested:
                pending.append(itertools.chain.from_iterable(_children(n) for n in nested))
        return items

    def _is_layout_table(self, table: LexborNode) -> bool:
        role = (table.attributes.get("role") or "").lower()
        if role in ("presentation", "none"):
            return True
        return _holds(table, _LAYOUT_INSIDE)

    def _table(self, table: LexborNode) -> None:
        caption = table.css_first("caption")
        if caption is not None:
            self._block("paragraph", _one_line(caption, self.skip))
        rows: list[str] = []
        for row in table.css("tr"):
            cells = [_one_line(cell, self.skip) for cell in _children(row) if cell.tag in ("td", "th")]
            if any(cells):
                rows.append(" | ".join(cells))
        self._block("table", "\n".join(rows))

    def _definition_term(self, dt: LexborNode) -> None:
        term = _one_line(dt, self.skip)
        classes = set((dt.attributes.get("class") or "").split())
        parent = dt.parent
        if "sig-object" in classes and parent is not None and parent.tag == "dl":
            objtypes = [c for c in (parent.attributes.get("class") or "").split() if c not in _API_DOMAINS]
            name = "".join(_one_line(n, self.skip) for n in dt.css(".sig-prename, .sig-name"))
            entry = ApiEntry(objtypes[-1] if objtypes else "object", name or dt.attributes.get("id") or term, term)
            self._dl_api[parent.mem_id] = entry
            self._block("api", term, entry)
        else:
            self._block("paragraph", term)
