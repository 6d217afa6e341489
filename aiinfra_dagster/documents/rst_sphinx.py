"""Getting docutils to parse Sphinx sources: roles, local state classes, settings, ``parse_doctree``.

Why a module: it is everything about running docutils on Sphinx markup (``rst`` only reads the doctree).

docutils is the reST parser; Sphinx is not a dependency (it parses only inside a project with a
configuration, an environment and a builder). So docutils is taught Sphinx markup here, locally:
- Roles: an unknown role (``:func:``, ``:ref:``, ``:c:func:``...) renders as literal text, the title of
  ``title <target>`` or the target (``~a.b.c`` -> ``c``, ``!`` dropped); ``:pep:``/``:rfc:``/``:issue:``/
  ``:gh:`` render as "PEP 8", "RFC 2822", "bpo-123", "gh-123" (docutils' own ``:pep:`` rejects "8#anchor").
- Directives: the classes and their table are in ``rst_sphinx_directives``; the state classes here
  run them.
- Nothing global is registered: the parser runs its own subclasses of docutils' state classes (same
  names) that look directives up in ``rst_sphinx_directives``' table first, and its inliner resolves
  unknown roles; other docutils users in the process see docutils unchanged. (The subclasses also keep
  their own nested-state-machine cache: docutils' is class state shared by every parser.)
- docutils is silent and inert: report_level 5, halt_level 5, no warning stream, no file insertion,
  no raw; of docutils' transforms only substitutions run (no doc-title promotion, no smart quotes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from docutils import nodes, utils
from docutils.frontend import Values, get_default_settings
from docutils.parsers.rst import Parser, directives, roles, states
from docutils.transforms import references

from aiinfra_dagster.documents.model import UnparseableDocument
from aiinfra_dagster.documents.rst_sphinx_directives import _DIRECTIVES, _Generic

_LINE_LENGTH_LIMIT = 100_000
"""docutils stops parsing at a longer line (a DoS guard) and would silently return an empty document."""

_SPAN = "_aiinfra_lines"
"""Node attribute: (first, last) 0-based source lines, recorded by the state classes while parsing."""


def _mark(node: nodes.Node, first: int, last: int) -> None:
    if getattr(node, _SPAN, None) is None:
        setattr(node, _SPAN, (first, last))


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
    inliner.interpreted = _Roles(inliner)
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
