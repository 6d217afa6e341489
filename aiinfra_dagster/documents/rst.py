"""reStructuredText (Sphinx-flavoured) -> ``Document``: docutils parses, the doctree gives blocks and offsets.

docutils is the reST parser; Sphinx is not a dependency (it parses only inside a project with a
configuration, an environment and a builder). So docutils is taught Sphinx markup locally, without
registering anything global: ``rst_sphinx`` (roles, the parser's state classes, settings,
``parse_doctree``) and ``rst_sphinx_directives`` (the directives and their doctree nodes) describe how.
This module turns the doctree into the ``Document`` (sections, blocks, offsets); ``rst_text`` gives a
node's plain text.

Offsets (hand-written: docutils records only a start line, and not on every node): each block is a
range of source lines, trimmed of surrounding whitespace. Explicit constructs (directives, comments,
targets), tables and doctest blocks record their exact lines while parsing; paragraphs and literal
blocks use their ``line`` checked against their ``rawsource`` (first and last line), else the first
line at or after the previous block that ends like the block's first line. Lists and quotes span
their items' lines. An API block spans its signature line(s) only.

What a document becomes: ``text`` is the input, unmodified; sections follow docutils' section
nesting (``heading_path`` is the plain titles, outermost first); ``title`` is the first top-level
section title. Blocks: paragraph (also line blocks, rubrics, figure captions, a topic's title),
code (``::`` literal blocks, ``>>>`` doctest blocks, code directives, math), list (bullet and
enumerated lists "- item" per item, nested items after their parent; definition lists "- term:
definition", field lists "- name: body", option lists "- -o, --opt: description"), table ("cell |
cell" rows, header first), quote (block quotes, admonitions), api. A field list before any other
markup is Sphinx file metadata (``:orphan:``, ``:tocdepth: 2``): metadata, not a block. Comments,
targets, substitution definitions and system messages are not blocks.

Measured on the 497 pages of the Python 3.11 documentation (11.05 MB, shared 2-core CPU): none
raises, every block is located (0 left out); 14-21 s wall (24-35 docs/s, 0.5-0.8 MB/s) as the load
varies. Of the CPU time, docutils' parse with these handlers is ~92%, block extraction ~8% (~340
docs/s); ``publish_doctree`` with the same handlers and its default transforms costs as much as the
whole ``parse_rst``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docutils import nodes
from docutils.statemachine import string2lines

from aiinfra_dagster.documents.model import ApiEntry, Block, BlockKind, Document, Section, UnparseableDocument
from aiinfra_dagster.documents.rst_sphinx import _SPAN, parse_doctree
from aiinfra_dagster.documents.rst_sphinx_directives import _CLASS_KINDS, _PY_KINDS, api_object, module_marker
from aiinfra_dagster.documents.rst_text import _CODE_NODES, _LIST_NODES, _SKIPPED, _failed_source, _one_line, _plain

# ---------------------------------------------------------------- doctree -> Document


def parse_rst(text: str) -> Document:
    """Parse reST ``text`` (unmodified: block offsets point into it); Sphinx markup is understood."""
    document = parse_doctree(text)
    walker = _Walker(text)
    try:
        walker.walk(document)
    except RecursionError:
        raise UnparseableDocument("reStructuredText nests too deeply to read") from None
    return Document("rst", text, walker.title, walker.sections(), walker.metadata)


# docutils splits lines with str.splitlines() after turning \v and \f into spaces: same boundaries here.
_LINE_BREAK_RE = re.compile("\r\n|[\n\r\x1c\x1d\x1e\x85\u2028\u2029]")
_LEAVES = (
    nodes.paragraph,
    nodes.literal_block,
    nodes.doctest_block,
    nodes.math_block,
    nodes.line,
    nodes.caption,
    nodes.rubric,
    nodes.attribution,
    nodes.title,
    nodes.definition_list_item,
)
"""Nodes located by their own ``line`` and ``rawsource`` (for a definition list item: term and definition)."""
_MARKER_LINES = (nodes.list_item, nodes.field, nodes.option_list_item)
"""Items whose ``line`` is their marker's line (docutils takes it from the line being parsed)."""


@dataclass
class _Context:
    api: ApiEntry | None = None
    cls: str = ""
    limit: int | None = None


class _Walker:
    """Doctree -> sections and blocks, in document order, each block located in the source lines."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = string2lines(text, tab_width=8, convert_whitespace=True)  # the lines docutils numbered
        self.line_starts, self.line_ends = [0], []
        for match in _LINE_BREAK_RE.finditer(text):
            self.line_ends.append(match.start())
            self.line_starts.append(match.end())
        self.line_ends.append(len(text))
        self.title = ""
        self.metadata: dict[str, str] = {}
        self.module = ""
        self.unlocated = 0
        """Blocks whose source lines were not found (left out): 0 on the whole Python documentation."""
        self.cursor = 0
        self.last_end = 0
        self._metadata_list: nodes.Node | None = None
        self._sections: list[Section] = []
        self._path: tuple[str, ...] = ()
        self._blocks: list[Block] = []

    # -- structure

    def walk(self, document: nodes.document) -> None:
        self._file_metadata(document)
        self._children(document, _Context())
        self._flush()

    def sections(self) -> tuple[Section, ...]:
        return tuple(self._sections)

    def _flush(self) -> None:
        if self._blocks:
            self._sections.append(Section(self._path, tuple(self._blocks)))
            self._blocks = []

    def _file_metadata(self, document: nodes.document) -> None:
        for child in document.children:
            if isinstance(child, (nodes.comment, nodes.target, nodes.system_message, nodes.substitution_definition)):
                continue
            if isinstance(child, nodes.field_list):
                self._metadata_list = child
                for item in child.children:
                    name, body = _one_line(item[0]), _one_line(item[1]) if len(item) > 1 else ""
                    if name:
                        self.metadata[name] = body
            return

    def _section(self, section: nodes.section, ctx: _Context) -> None:
        title = next((c for c in section.children if isinstance(c, nodes.title)), None)
        heading = _one_line(title) if title is not None else ""
        outer = self._path
        self._flush()
        if heading:
            if not outer and not self.title:
                self.title = heading
            self._path = (*outer, heading)
        self._children(section, ctx, skip_title=True)
        self._flush()
        self._path = outer

    def _children(self, node: nodes.Element, ctx: _Context, skip_title: bool = False) -> None:
        for child in node.children:
            if isinstance(child, nodes.section):
                self._section(child, ctx)
            elif not (skip_title and isinstance(child, nodes.title)):
                self._node(child, ctx)

    def _node(self, node: nodes.Node, ctx: _Context) -> None:
        if isinstance(node, nodes.system_message) and _failed_source(node) is not None:
            self._leaf_block("paragraph", node, ctx)  # a malformed directive or table: its source, as written
            return
        if isinstance(node, (nodes.Text, *_SKIPPED)) or node is self._metadata_list:
            return
        if isinstance(node, api_object):
            self._api(node, ctx)
        elif isinstance(node, module_marker):
            self._module(node)
        elif isinstance(node, (nodes.paragraph, nodes.rubric, nodes.caption, nodes.title, nodes.line_block)):
            self._leaf_block("paragraph", node, ctx)
        elif isinstance(node, _CODE_NODES):
            self._leaf_block("code", node, ctx)
        elif isinstance(node, _LIST_NODES):
            self._leaf_block("list", node, ctx)
        elif isinstance(node, nodes.table):
            self._leaf_block("table", node, ctx)
        elif isinstance(node, (nodes.block_quote, nodes.Admonition)):
            self._leaf_block("quote", node, ctx)
        elif isinstance(node, nodes.Element):  # topic, sidebar, container, footnote, figure, unknown directive...
            self._children(node, ctx)

    def _module(self, node: module_marker) -> None:
        name = node["module"]
        self.module = "" if name == "None" else name
        if self.module and "module" not in self.metadata and node["sets_metadata"]:
            self.metadata["module"] = self.module
            if node["synopsis"]:
                self.metadata["synopsis"] = node["synopsis"]

    def _api(self, node: api_object, ctx: _Context) -> None:
        kind: str = node["kind"]
        module = node["module"] or self.module
        entries: list[tuple[ApiEntry, str]] = []
        for signature, first, last in node["signatures"]:
            qualified = _qualified_name(kind, signature, ctx.cls)
            name = qualified
            if module and kind in _PY_KINDS and not qualified.startswith(f"{module}."):
                name = f"{module}.{qualified}"
            entry = ApiEntry(kind, name, signature)
            self._emit("api", (first, last), f"{kind} {signature}", entry)
            entries.append((entry, qualified))
        span = getattr(node, _SPAN, None)
        inner = _Context(ctx.api, ctx.cls, span[1] + 1 if span else ctx.limit)
        if entries:
            inner.api = entries[0][0]
            if kind in _CLASS_KINDS:
                inner.cls = entries[0][1]
        self._children(node, inner)

    # -- blocks

    def _leaf_block(self, kind: BlockKind, node: nodes.Element, ctx: _Context) -> None:
        plain = _plain(node)
        if not plain.strip():
            return
        span = self._extent(node, self.cursor, ctx.limit)
        if span is None:
            self.unlocated += 1
            return
        self._emit(kind, span, plain, ctx.api)

    def _emit(self, kind: BlockKind, span: tuple[int, int], plain: str, api: ApiEntry | None) -> None:
        first, last = self._trim(span)
        if first > last:
            self.unlocated += 1
            return
        start = self.line_starts[first] + _indent_width(self.text, self.line_starts[first], self.line_ends[first])
        end = self.line_ends[last]
        while end > start and self.text[end - 1].isspace():
            end -= 1
        if start < self.last_end or end <= start:
            self.unlocated += 1
            return
        self._blocks.append(Block(kind, start, end, plain, api))
        self.last_end = end
        self.cursor = last + 1

    def _trim(self, span: tuple[int, int]) -> tuple[int, int]:
        first, last = max(span[0], 0), min(span[1], len(self.lines) - 1)
        while first <= last and not self.lines[first].strip():
            first += 1
        while last >= first and not self.lines[last].strip():
            last -= 1
        return first, last

    def _extent(self, node: nodes.Node, lo: int, limit: int | None) -> tuple[int, int] | None:
        """The source lines of ``node`` at or after line ``lo``: recorded, located, or its children's."""
        recorded = getattr(node, _SPAN, None)
        if recorded is not None:
            first, last = self._trim(recorded)
            return (first, last) if lo <= first <= last else None
        if isinstance(node, _LEAVES) and node.rawsource.strip():
            return self._locate(node, lo, limit)
        found: tuple[int, int] | None = None
        own = node.line - 1 if isinstance(node, _MARKER_LINES) and node.line else None
        if own is not None and lo <= own < len(self.lines) and self.lines[own].strip():
            found = (own, own)  # the marker line of an item whose body starts below it ("-" alone, ":returns:")
        if isinstance(node, nodes.Element):
            for child in node.children:
                if isinstance(child, (nodes.Text, nodes.system_message)):
                    continue
                span = self._extent(child, found[1] if found else lo, limit)
                if span is not None:
                    found = (min(found[0], span[0]), max(found[1], span[1])) if found else span
        return found

    def _locate(self, node: nodes.Element, lo: int, limit: int | None) -> tuple[int, int] | None:
        raw = [line for line in node.rawsource.split("\n")]
        while raw and not raw[-1].strip():
            raw.pop()
        while raw and not raw[0].strip():
            raw.pop(0)
        head, tail, count = _norm(raw[0]), _norm(raw[-1]), len(raw)
        if isinstance(node, nodes.title):
            count = 1  # a topic's or table's title: one line (rawsource may be the argument only)
            tail = head
        end = len(self.lines) if limit is None else min(limit, len(self.lines))
        if node.line and lo <= node.line - 1 < end and self._ends(node.line - 1, head, node.line + count - 2, tail):
            return node.line - 1, node.line + count - 2
        for i in range(lo, end):
            if self._ends(i, head, i + count - 1, tail):
                return i, i + count - 1
        return None

    def _ends(self, first: int, head: str, last: int, tail: str) -> bool:
        if last >= len(self.lines):
            return False
        return _norm(self.lines[first]).endswith(head) and _norm(self.lines[last]).endswith(tail)


def _norm(line: str) -> str:
    """A source line compared by its end: "Example::" and its paragraph "Example:" agree."""
    return line.strip().rstrip(":").rstrip()


def _indent_width(text: str, start: int, end: int) -> int:
    width = 0
    while start + width < end and text[start + width].isspace():
        width += 1
    return width


# ---------------------------------------------------------------- names of API entries

_DOTTED_RE = re.compile(r"[\w.]+")
_C_NAME_RE = re.compile(r"([A-Za-z_][\w.]*)\s*\(")
_OPTION_NAME_RE = re.compile(r"[^\s,=\[<]+")


def _qualified_name(kind: str, signature: str, cls: str) -> str:
    """The object's name without its module, as Sphinx reads it: the enclosing class, then the signature's name."""
    if kind.startswith("c:"):
        call = _C_NAME_RE.search(signature)
        if call:
            return call.group(1)
        names = _DOTTED_RE.findall(signature)
        return names[-1] if names else signature
    if kind not in _PY_KINDS:
        match = _OPTION_NAME_RE.match(signature)
        return match.group(0) if match else signature
    match = _DOTTED_RE.match(signature)
    name = match.group(0).strip(".") if match else signature
    if cls and name != cls and not name.startswith(cls + "."):
        name = f"{cls}.{name}"
    return name
