"""Sphinx directives as docutils ``Directive`` classes, the doctree nodes they produce, and their table.

Why a module: what each Sphinx directive means to a reader is one concern; making docutils use these
(state classes, inliner, settings: ``rst_sphinx``) is another, and together they exceed one short module.
Nothing here is registered with docutils: ``rst_sphinx``'s state classes look names up in ``_DIRECTIVES``.

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
"""

from __future__ import annotations

import re
from collections.abc import Callable

from docutils import nodes
from docutils.parsers.rst import Directive, directives

# ---------------------------------------------------------------- doctree nodes of the Sphinx handlers


class api_object(nodes.General, nodes.Element):  # noqa: N801 (docutils node names are lower case)
    """A Python/C-domain object: kind, signatures with their source lines, ``:module:``; children: its body."""


class labeled(nodes.Admonition, nodes.Element):  # noqa: N801
    """A Sphinx note-like directive ("Changed in version 3.2"): ``label`` and its content."""


class module_marker(nodes.Invisible, nodes.Element):  # noqa: N801
    """``.. module::``/``.. currentmodule::``: the module of the objects that follow."""


class generic_body(nodes.General, nodes.Element):  # noqa: N801
    """An unknown directive: its argument (as a paragraph) and its content, parsed as body."""


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
