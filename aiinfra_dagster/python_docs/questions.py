"""Question templates for the Python docs pack: API entries and module pages.

Sphinx pages document objects (``.. function:: dumps(obj, ...)``): the reST parser turns
those into ``api`` blocks, and each gets the question its description answers, phrased
by the kind of object. Module pages ("json --- JSON encoder and decoder") name their
module in the title, which scopes heading questions ("What does the json documentation
say about Basic Usage?").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiinfra_dagster.data.chunking import ChunkBlock
from aiinfra_dagster.documents.model import ApiEntry
from aiinfra_dagster.synthetic.questions import heading_question
from aiinfra_dagster.synthetic.text import ChunkInput, main_prose

_FUNCTION_KINDS = frozenset({"function", "coroutinefunction", "decorator"})
_METHOD_KINDS = frozenset(
    {"method", "classmethod", "staticmethod", "coroutinemethod", "decoratormethod", "abstractmethod"}
)
_ATTRIBUTE_KINDS = frozenset({"attribute", "property"})
_OPTION_KINDS = frozenset({"cmdoption", "option", "envvar"})
_TITLE_SEP_RE = re.compile(r"\s+(?:---|--|\u2014|\u2013)\s+")
_MODULE_NAME_RE = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*")
_MODULE_DIRECTIVE_RE = re.compile(r"^\s*\.\.\s+(?:py:)?(?:module|currentmodule)::\s*([\w.]+)", re.M)
_MODULE_VERB_RE = re.compile(
    r"^(?:This|The [\w.]+) module (provides|implements|defines|contains|offers|supports|allows|exposes|"
    r"includes|describes|gives|makes)\b"
)


@dataclass(frozen=True)
class PackPairs:
    """The pack's questions (asked first) and its heading question (None: no heading question)."""

    pairs: list[tuple[str, str]]
    heading_question: str | None


def clean_heading(title: str) -> str:
    """A module page title without its ' --- description' ("json --- JSON encoder" -> "json")."""
    return _TITLE_SEP_RE.split(" ".join(title.split()), maxsplit=1)[0].strip()


def module_name(headings: Sequence[str], text: str = "") -> str | None:
    """The module a chunk documents: the innermost module-page title, else a ``.. module::`` directive."""
    for title in reversed(headings):
        if _TITLE_SEP_RE.search(title):
            name = clean_heading(title)
            if _MODULE_NAME_RE.fullmatch(name):
                return name
    directive = _MODULE_DIRECTIVE_RE.search(text)
    return directive.group(1) if directive else None


def _qualified(item: ApiEntry, module: str | None, owner: str | None) -> str:
    name = item.name
    if "." in name or item.kind in _OPTION_KINDS or item.kind == "opcode":
        return name
    if item.kind in _METHOD_KINDS | _ATTRIBUTE_KINDS:
        return f"{owner}.{name}" if owner else name
    return f"{module}.{name}" if module and module != "builtins" else name


def api_question(item: ApiEntry, module: str | None, owner: str | None) -> str:
    """A question an API entry's description answers, phrased by the kind of object."""
    q = _qualified(item, module, owner)
    where = f" in {module}" if module and "." not in q else ""
    if item.kind in _FUNCTION_KINDS:
        return f"What does {q}() do?"
    if item.kind in _METHOD_KINDS:
        return f"What does the {q}() method{where} do?"
    if item.kind == "class":
        return f"What is the {q} class used for?"
    if item.kind == "exception":
        return f"When is {q} raised?"
    if item.kind in _ATTRIBUTE_KINDS:
        return f"What is the {q} attribute{where}?"
    if item.kind == "opcode":
        return f"What does the {q} bytecode instruction do?"
    if item.kind in _OPTION_KINDS:
        return f"What does the {q} option do?"
    return f"What is {q}?"


def module_verb_question(sentence: str, module: str | None) -> str | None:
    """'This module provides ...' -> 'What does the heapq module provide?'."""
    match = _MODULE_VERB_RE.match(sentence)
    if not (match and module):
        return None
    verb = match.group(1)
    base = verb[:-2] if verb.endswith(("shes", "ches", "sses", "xes")) else verb[:-1]
    return f"What does the {module} module {base}?"


def _api(block: ChunkBlock) -> ApiEntry | None:
    return ApiEntry(*block.api) if block.api else None


def _owner_class(items: list[ApiEntry], item: ApiEntry) -> str | None:
    """The class documented before a method in the same chunk, if any."""
    owner = None
    for other in items:
        if other == item:
            return owner
        if other.kind in ("class", "exception"):
            owner = other.name
    return None


def _heading_owner(headings: Sequence[str]) -> str | None:
    """A heading that is a bare identifier (``TimedRotatingFileHandler``) names the class of its methods."""
    if len(headings) > 1 and re.fullmatch(r"[A-Z][\w.]*", headings[-1]):
        return headings[-1]
    return None


def python_pairs(chunk: ChunkInput, prose: list[ChunkBlock], first: str, answer: Callable[[str], str]) -> PackPairs:
    """API-entry and module questions for a chunk of the Python docs."""
    headings = [clean_heading(h) for h in chunk.headings]
    module = module_name(chunk.headings, chunk.text)
    pairs: list[tuple[str, str]] = []
    documented = [a for a in (_api(p) for p in prose) if a is not None]
    if documented:
        item = documented[0]
        items = [a for a in (_api(b) for b in chunk.blocks if b.kind == "api") if a is not None]
        owner = _owner_class(items, item) or _heading_owner(headings)
        own = [p for p in prose if _api(p) == item]
        body = " ".join(p.plain for p in ([p for p in own if p.kind == "paragraph"] or own))
        pairs.append((api_question(item, module, owner), answer(body)))
    verb = module_verb_question(first, module) if first else None
    general = " ".join(p.plain for p in main_prose(prose))
    if verb:
        pairs.append((verb, answer(general)))
    heading: str | None
    last = headings[-1] if headings else ""
    if module and (last == module or last.startswith(f"{module}:")):
        introduces = ".. module::" in chunk.text or "module" in first.lower().split(" ")[:8]
        heading = f"What is the {module} module for?" if introduces else None
    else:
        heading = heading_question(headings, scope=module or "")
    return PackPairs(pairs, heading)
