"""reStructuredText (Sphinx-flavoured) -> ``Document``: docutils parses, the doctree gives blocks and offsets.

docutils is the reST parser; Sphinx is not a dependency (it parses only inside a project with a
configuration, an environment and a builder). So docutils is taught Sphinx markup here, locally:
- Roles: an unknown role (``:func:``, ``:ref:``, ``:c:func:``...) renders as literal text, the title of
  ``title <target>`` or the target (``~a.b.c`` -> ``c``, ``!`` dropped); ``:pep:``/``:rfc:``/``:issue:``/
  ``:gh:`` render as "PEP 8", "RFC 2822", "bpo-123", "gh-123" (docutils' own ``:pep:`` rejects "8#anchor").
- Directives: Python/C-domain objects (``.. function::``, ``.. c:function::``, ``.. opcode::``...) -> an
  ``api`` block per signature (plain "kind signature", the entry's name dotted with the current module
  and enclosing class) whose body blocks carry the entry; ``module``/``currentmodule`` set the module
  (the first ``module`` is ``metadata["module"]``, its ``:synopsis:`` ``metadata["synopsis"]``); code
  directives (code-block, doctest, testcode, testoutput, productionlist...) -> code; admonitions and
  Sphinx notes (seealso, versionadded/changed, deprecated(-removed), impl-detail, availability) -> one
  quote block ("Changed in version 3.2: ..."); navigation and build-only directives (toctree, index,
  include, raw, literalinclude, only, testsetup...) -> nothing; any other directive docutils does not
  know -> its argument as a paragraph and its content parsed as body. Any option is accepted, so a
  Sphinx option never makes a directive an error; a directive or table docutils still rejects is kept
  as a paragraph of its source.
- Nothing global is registered: the parser runs its own subclasses of docutils' state classes (same
  names) that look directives up in this module's table first, and its inliner resolves unknown roles;
  other docutils users in the process see docutils unchanged. (The subclasses also keep their own
  nested-state-machine cache: docutils' is class state shared by every parser.)
- docutils is silent and inert: report_level 5, halt_level 5, no warning stream, no file insertion,
  no raw; of docutils' transforms only substitutions run (no doc-title promotion, no smart quotes).

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from docutils import nodes, utils
from docutils.frontend import Values, get_default_settings
from docutils.parsers.rst import Directive, Parser, directives, roles, states
from docutils.statemachine import string2lines
from docutils.transforms import references

from aiinfra_dagster.documents.model import ApiEntry, Block, BlockKind, Document, Section, UnparseableDocument

_LINE_LENGTH_LIMIT = 100_000
"""docutils stops parsing at a longer line (a DoS guard) and would silently return an empty document."""

# ---------------------------------------------------------------- doctree nodes of the Sphinx handlers


class api_object(nodes.General, nodes.Element):  # noqa: N801 (docutils node names are lower case)
    """A Python/C-domain object: kind, signatures with their source lines, ``:module:``; children: its body."""


class labeled(nodes.Admonition, nodes.Element):  # noqa: N801
    """A Sphinx note-like directive ("Changed in version 3.2"): ``label`` and its content."""


class module_marker(nodes.Invisible, nodes.Element):  # noqa: N801
    """``.. module::``/``.. currentmodule::``: the module of the objects that follow."""


class generic_body(nodes.General, nodes.Element):  # noqa: N801
    """An unknown directive: its argument (as a paragraph) and its content, parsed as body."""


_SPAN = "_aiinfra_lines"
"""Node attribute: (first, last) 0-based source lines, recorded by the state classes while parsing."""


def _mark(node: nodes.Node, first: int, last: int) -> None:
    if getattr(node, _SPAN, None) is None:
        setattr(node, _SPAN, (first, last))


# ---------------------------------------------------------------- directives


class _AnyOptions(dict[str, Callable[[str | None], str]]):
    """An option spec accepting every option (Sphinx's ``:noindex:``, ``:emphasize-lines:``...) as text."""

    def __missing__(self, key: str) -> Callable[[str | None], str]:
        return directives.unchanged


_ANY_OPTIONS = _AnyOptions(name=directives.unchanged)  # non-empty: docutils skips option parsing for {}


class _Base(Directive):
    """Sphinx directives as docutils sees them: an optional argument (spaces allowed), any options, content."""

    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True
    option_spec = _ANY_OPTIONS

    def _argument_paragraph(self, text: str) -> nodes.paragraph:
        inline, _messages = self.state.inline_text(text, self.lineno)
        para = nodes.paragraph(text, "", *inline)
        para.line = self.lineno
        return para


class _Ignored(_Base):
    """Navigation, index entries, file inclusion, build-only content: nothing a reader sees here."""

    def run(self) -> list[nodes.Node]:
        return []


class _Code(_Base):
    """code-block, doctest, productionlist...: the content verbatim (docutils' ``code`` rejects Sphinx options)."""

    def run(self) -> list[nodes.Node]:
        lines = list(self.content)
        if self.name == "productionlist" and self.arguments:  # Sphinx: the productions are the argument's lines
            written = self.arguments[0].split("\n")
            lines = written[1:] + lines if ":" not in written[0] else written + lines  # a first line w/o ":" is a group
        code = "\n".join(lines)
        if not code.strip():
            return []
        node = nodes.literal_block(code, code)
        if self.arguments and self.name != "productionlist":
            node["language"] = self.arguments[0].strip()
        return [node]


class _Module(_Base):
    """``module``/``currentmodule``: a marker the walker reads in document order (Sphinx keeps it in its env)."""

    def run(self) -> list[nodes.Node]:
        marker = module_marker()
        marker["module"] = self.arguments[0].strip() if self.arguments else ""
        marker["synopsis"] = " ".join(str(self.options.get("synopsis") or "").split())
        marker["sets_metadata"] = self.name.split(":")[-1] == "module"
        if not self.content:
            return [marker]
        body = generic_body()
        self.state.nested_parse(self.content, self.content_offset, body)
        return [marker, body]


class _Generic(_Base):
    """Any directive nobody registered: nothing is lost, its argument and content are read as body."""

    def run(self) -> list[nodes.Node]:
        node = generic_body()
        if self.arguments and self.arguments[0].strip():
            node += self._argument_paragraph(self.arguments[0])
        if self.content:
            self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


_VERSION_LABELS = {
    "versionadded": "New in version {0}",
    "versionchanged": "Changed in version {0}",
    "deprecated": "Deprecated since version {0}",
    "deprecated-removed": "Deprecated since version {0}, will be removed in version {1}",
}
_NOTE_LABELS = {
    "seealso": "See also",
    "impl-detail": "CPython implementation detail",
    "availability": "Availability",
    "note": "Note",
    "warning": "Warning",
    "tip": "Tip",
    "important": "Important",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "hint": "Hint",
    "todo": "Todo",
}


class _Labeled(_Base):
    """Admonitions and version notes: a label, inline text after the directive name, then content."""

    def run(self) -> list[nodes.Node]:
        name = self.name.split(":")[-1].lower()
        node = labeled()
        text = self.arguments[0] if self.arguments else ""
        if name in _VERSION_LABELS:
            parts = text.split(None, 2 if name == "deprecated-removed" else 1)
            versions = parts[:2] if name == "deprecated-removed" else parts[:1]
            node["label"] = _VERSION_LABELS[name].format(*versions, "?", "?")
            text = " ".join(parts[len(versions) :])
        else:
            node["label"] = _NOTE_LABELS.get(name, name.capitalize())
        if text.strip():
            node += self._argument_paragraph(text)
        if self.content:
            self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


_C_KINDS = ("function", "member", "macro", "type", "var", "struct", "union", "enum", "enumerator", "data")
_PY_KINDS = frozenset(
    "function method classmethod staticmethod class exception data attribute property decorator decoratormethod "
    "coroutinefunction coroutinemethod abstractmethod awaitablefunction awaitablemethod".split()
)
_OTHER_API_KINDS = frozenset("opcode envvar cmdoption option describe object pdbcommand 2to3fixer".split())
_CLASS_KINDS = frozenset({"class", "exception"})
_DIRECTIVE_LINE_RE = re.compile(r"^\s*\.\.\s+[^\s:]+(?::[^\s:]+)*\s*::\s?")
_OPTION_LINE_RE = re.compile(r"^\s*:[^:\s][^:]*:(?:\s|$)")


class _Api(_Base):
    """A documented object: one signature per line (Sphinx's rule), the content is its description."""

    def run(self) -> list[nodes.Node]:
        node = api_object()
        name = self.name.lower()
        node["kind"] = name[3:] if name.startswith("py:") else name
        node["module"] = str(self.options.get("module") or "").strip()
        node["signatures"] = self._signatures()
        if self.content:
            self.state.nested_parse(self.content, self.content_offset, node)
        return [node]

    def _signatures(self) -> list[tuple[str, int, int]]:
        """(signature, first line, last line) of each signature; "\\" at a line end continues it."""
        first = self.lineno - 1
        out: list[tuple[str, int, int]] = []
        pending: list[str] = []
        start = first
        for i, line in enumerate(self.block_text.split("\n")):
            if i == 0:
                line = _DIRECTIVE_LINE_RE.sub("", line, count=1)
            elif not line.strip() or (not pending and _OPTION_LINE_RE.match(line)):
                break
            if not pending:
                start = first + i
            stripped = line.strip()
            continued = len(stripped) - len(stripped.rstrip("\\"))
            if continued % 2:
                pending.append(stripped[:-1])
                continue
            pending.append(stripped)
            signature = " ".join(" ".join(pending).split())
            if signature:
                out.append((signature, start, first + i))
            pending = []
        if pending and " ".join(pending).strip():
            out.append((" ".join(" ".join(pending).split()), start, start + len(pending) - 1))
        return out


def _directive_table() -> dict[str, type[Directive]]:
    table: dict[str, type[Directive]] = {}
    for kind in _PY_KINDS:
        table[kind] = table[f"py:{kind}"] = _Api
    for kind in _OTHER_API_KINDS:
        table[kind] = _Api
    for kind in _C_KINDS:
        table[f"c:{kind}"] = _Api
    for name in ("module", "currentmodule", "py:module", "py:currentmodule"):
        table[name] = _Module
    for name in "code-block sourcecode code doctest testcode testoutput productionlist".split():
        table[name] = _Code
    for name in (*_VERSION_LABELS, *_NOTE_LABELS):
        table[name] = _Labeled
    ignored = (
        "toctree index tabularcolumns highlight highlightlang sectionauthor moduleauthor codeauthor only include "
        "raw literalinclude audit-event audit-event-table testsetup testcleanup program default-domain contents "
        "limited-api-list miscnews c:namespace c:namespace-push c:namespace-pop py:decorator-module"
    )
    for name in ignored.split():
        table[name] = _Ignored
    return table


_DIRECTIVES = _directive_table()


# ---------------------------------------------------------------- roles

_EXPLICIT_TITLE_RE = re.compile(r"^(.+?)\s*(?<!\x00)<(.*?)>$", re.S)
_NUMBERED_ROLES = {"pep": "PEP ", "rfc": "RFC ", "issue": "bpo-", "gh": "gh-"}


def _role_text(name: str, text: str) -> str:
    match = _EXPLICIT_TITLE_RE.match(text)
    if match:
        return utils.unescape(match.group(1))
    target = utils.unescape(text).strip()
    if name in _NUMBERED_ROLES:
        return _NUMBERED_ROLES[name] + target
    if name == "abbr":
        return target.split(" (", 1)[0]
    target = target.lstrip("!")
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return target


def _generic_role(
    name: str, rawtext: str, text: str, lineno: int, inliner: Any, options: Any = None, content: Any = None
) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    return [nodes.literal(rawtext, _role_text(name.lower(), text))], []


class _Roles:
    """An inliner's ``interpreted``: roles docutils knows as usual, every other role with ``_generic_role``.

    Set on the instance: ``Inliner.init_customizations`` reads the class's own attributes, so it
    cannot be subclassed.
    """

    def __init__(self, inliner: states.Inliner) -> None:
        self.inliner = inliner
        self.found: dict[str, Any] = {}

    def __call__(self, rawsource: str, text: str, role: str, lineno: int) -> Any:
        key = role.lower()
        if key not in self.found or not key:  # the default role may change (``.. default-role::``)
            found = None
            if key not in _NUMBERED_ROLES and key != "abbr":
                found, _messages = roles.role(role, self.inliner.language, lineno, self.inliner.reporter)
            self.found[key] = found or _generic_role
        return self.found[key](role, rawsource, text, lineno, self.inliner)


def _inliner() -> states.Inliner:
    inliner = states.Inliner()
    inliner.interpreted = _Roles(inliner)  # type: ignore[method-assign]
    return inliner


# ---------------------------------------------------------------- state classes


def _own(method: Callable[..., Any]) -> Callable[..., Any]:
    """An explicit-construct entry calling the state's own (overridable) method of that name."""

    def call(self: Any, match: re.Match[str]) -> Any:
        return getattr(self, method.__name__)(match)

    return call


class _LocalState:
    """Every state: nested parsers use these state classes and this cache, never docutils' shared ones."""

    nested_sm_cache: list[Any] = []

    def __init__(self, state_machine: Any, debug: bool = False) -> None:
        super().__init__(state_machine, debug)  # type: ignore[call-arg]
        self.nested_sm_kwargs = {"state_classes": _STATE_CLASSES, "initial_state": "Body"}


class _LocalBody(_LocalState):
    """Body states: Sphinx directives from ``_DIRECTIVES``, and the source lines of what they parse."""

    explicit = SimpleNamespace(
        **{
            **vars(states.Body.explicit),
            "constructs": [(_own(method), pattern) for method, pattern in states.Body.explicit.constructs],
        }
    )
    state_machine: Any
    parent: Any
    memo: Any
    document: Any

    def directive(self, match: re.Match[str], **option_presets: Any) -> Any:
        type_name = match.group(1)
        directive_class = _DIRECTIVES.get(type_name.lower())
        if directive_class is None:
            directive_class, _messages = directives.directive(type_name, self.memo.language, self.document)
        if directive_class is None:
            directive_class = _Generic
        return self.run_directive(directive_class, match, type_name, option_presets)  # type: ignore[attr-defined]

    def explicit_construct(self, match: re.Match[str]) -> Any:
        first = self.state_machine.abs_line_offset()
        nodelist, blank_finish = super().explicit_construct(match)  # type: ignore[misc]
        last = self.state_machine.abs_line_offset()
        for node in nodelist:
            _mark(node, first, last)
        return nodelist, blank_finish

    def table(self, isolate_function: Any, parser_class: Any) -> Any:
        first = self.state_machine.abs_line_offset()
        nodelist, blank_finish = super().table(isolate_function, parser_class)  # type: ignore[misc]
        last = self.state_machine.abs_line_offset()
        for node in nodelist:
            _mark(node, first, last)
        return nodelist, blank_finish

    def doctest(self, match: re.Match[str], context: Any, next_state: Any) -> Any:
        first, before = self.state_machine.abs_line_offset(), len(self.parent.children)
        result = super().doctest(match, context, next_state)  # type: ignore[misc]
        last = self.state_machine.abs_line_offset()
        for node in self.parent.children[before:]:
            _mark(node, first, last)
        return result


def _local_state_classes() -> tuple[type, ...]:
    out = []
    for cls in states.state_classes:
        mixin = _LocalBody if issubclass(cls, states.Body) else _LocalState
        out.append(type(cls.__name__, (mixin, cls), {"__module__": __name__}))
    return tuple(out)


_STATE_CLASSES = _local_state_classes()


class _SphinxTolerantParser(Parser):
    def __init__(self) -> None:
        super().__init__(inliner=_inliner())
        self.state_classes = _STATE_CLASSES


_settings: Values | None = None


def _docutils_settings() -> Values:
    global _settings
    if _settings is None:
        settings = get_default_settings(Parser)
        for key, value in {
            "report_level": 5,  # never report
            "halt_level": 5,  # never raise
            "warning_stream": False,
            "file_insertion_enabled": False,
            "raw_enabled": False,
            "line_length_limit": _LINE_LENGTH_LIMIT,
            "syntax_highlight": "none",
            "language_code": "en",
            "tab_width": 8,
        }.items():
            setattr(settings, key, value)
        _settings = settings
    return _settings


def parse_doctree(text: str) -> nodes.document:
    """The docutils doctree of ``text`` with the Sphinx handlers; raises ``UnparseableDocument``.

    Substitutions are resolved; no other transform runs (no doc-title promotion, no smart quotes).
    """
    document = utils.new_document("<rst>", _docutils_settings())
    try:
        _SphinxTolerantParser().parse(text, document)
        references.Substitutions(document).apply()  # the one transform a reader's text needs: |name| -> its value
    except RecursionError:
        raise UnparseableDocument("reStructuredText nests too deeply to parse") from None
    except Exception as exc:  # docutils raises many kinds on malformed input; none may escape
        raise UnparseableDocument(f"reStructuredText parser failed: {type(exc).__name__}: {exc}") from None
    for message in document.findall(nodes.system_message):
        if "line-length-limit" in message.astext():
            raise UnparseableDocument(f"a line is longer than {_LINE_LENGTH_LIMIT:,} characters")
    return document


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
_LIST_NODES = (nodes.bullet_list, nodes.enumerated_list, nodes.definition_list, nodes.field_list, nodes.option_list)
_CODE_NODES = (nodes.literal_block, nodes.doctest_block, nodes.math_block)
_SKIPPED = (
    nodes.comment,
    nodes.target,
    nodes.substitution_definition,
    nodes.system_message,
    nodes.pending,
    nodes.raw,
    nodes.image,
    nodes.transition,
    nodes.label,
    nodes.meta,
)
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


# ---------------------------------------------------------------- plain text


def _one_line(node: nodes.Node) -> str:
    return " ".join(_plain(node).split())


def _failed_source(node: nodes.system_message) -> nodes.literal_block | None:
    """The source docutils quotes in an error about a directive or table it could not parse (the span is known)."""
    if node.get("level", 0) < 3 or getattr(node, _SPAN, None) is None:
        return None
    return next((c for c in node.children if isinstance(c, nodes.literal_block)), None)


def _plain(node: nodes.Node) -> str:
    """What a reader sees of ``node``: inline markup dropped, code verbatim, lists and tables as lines."""
    if isinstance(node, nodes.Text):
        return node.astext()
    if isinstance(node, nodes.system_message):
        failed = _failed_source(node)
        return failed.astext().strip() if failed is not None else ""
    if isinstance(node, _SKIPPED) or isinstance(node, module_marker):
        return ""
    if isinstance(node, _CODE_NODES):
        return node.astext().strip("\n")
    if isinstance(node, nodes.line_block):
        return "\n".join(line for line in (_one_line(c) for c in node.findall(nodes.line)) if line)
    if isinstance(node, nodes.TextElement):
        return " ".join(node.astext().split())
    if isinstance(node, _LIST_NODES):
        return "\n".join(f"- {item}" for item in _list_items(node) if item)
    if isinstance(node, nodes.table):
        rows = (" | ".join(_one_line(entry) for entry in row.children) for row in node.findall(nodes.row))
        return "\n".join(row for row in rows if row.strip(" |"))
    body = "\n".join(text for text in (_plain(child) for child in _body_children(node)) if text.strip())
    if isinstance(node, api_object):
        heads = [f"{node['kind']} {sig}" for sig, _a, _b in node["signatures"]]
        return "\n".join([*heads, body] if body else heads)
    if isinstance(node, nodes.Admonition):
        label = node.get("label") or _admonition_title(node)
        return f"{label}: {body}" if body else f"{label}."
    return body


def _body_children(node: nodes.Element) -> Iterator[nodes.Node]:
    for child in node.children:
        if not (isinstance(child, nodes.title) and isinstance(node, nodes.admonition)):
            yield child


def _admonition_title(node: nodes.Element) -> str:
    title = next((c for c in node.children if isinstance(c, nodes.title)), None)
    return _one_line(title) if title is not None else node.tagname.capitalize()


def _list_items(node: nodes.Element) -> Iterator[str]:
    """One line per item, nested lists' items after their parent's."""
    for item in node.children:
        if isinstance(item, nodes.system_message):
            continue
        nested = [c for c in _item_body(item) if isinstance(c, _LIST_NODES)]
        text = " ".join(t for t in (_one_line(c) for c in _item_body(item) if not isinstance(c, _LIST_NODES)) if t)
        head = ""
        if isinstance(item, nodes.definition_list_item):
            head = " ".join(_one_line(c) for c in item.children if isinstance(c, (nodes.term, nodes.classifier)))
        elif isinstance(item, nodes.field) and item.children:
            head = _one_line(item[0])
        elif isinstance(item, nodes.option_list_item) and item.children:
            head = ", ".join(_option_text(o) for o in item[0].children)
        yield f"{head}: {text}" if head and text else head or text
        for child in nested:
            yield from _list_items(child)


def _option_text(option: nodes.Node) -> str:
    """"--file=FILE": an option string and its argument (whose ``astext`` starts with its delimiter)."""
    return "".join(child.astext() for child in option.children)


def _item_body(item: nodes.Element) -> list[nodes.Node]:
    """The body elements of a list item (a definition's, a field body's, an option's description)."""
    if isinstance(item, (nodes.definition_list_item, nodes.field, nodes.option_list_item)):
        bodies = [c for c in item.children if isinstance(c, (nodes.definition, nodes.field_body, nodes.description))]
        return [child for body in bodies for child in body.children]
    return list(item.children)
