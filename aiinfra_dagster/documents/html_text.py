"""The text of an HTML element as a reader sees it, and the small DOM helpers the block builder uses.

Why a module: reading text out of lexbor nodes (lines, ``<pre>`` verbatim, one-line headings and cells)
is independent of which elements are content (``html_content``) and of the blocks built from them
(``html``).
"""

from __future__ import annotations

from collections.abc import Iterator

from selectolax.lexbor import LexborNode

from aiinfra_dagster.documents.html_content import _NEVER_CONTENT

_INLINE = frozenset(
    "a abbr b bdi bdo cite code data del dfn em font i img ins kbd label mark q s samp small span strike "
    "strong sub sup time tt u var wbr big acronym nobr math".split()
)
"""Elements whose text runs on in the surrounding paragraph; every other element starts a new block."""


def _holds(node: LexborNode, selector: str) -> bool:
    """Whether an element below ``node`` (not ``node`` itself) matches ``selector``."""
    node_id = node.mem_id
    return any(inner.mem_id != node_id for inner in node.css(selector))


def _children(node: LexborNode) -> Iterator[LexborNode]:
    child = node.child
    while child is not None:
        yield child
        child = child.next


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _lines(
    node: LexborNode, skip: frozenset[int], stop: frozenset[str] = frozenset()
) -> tuple[list[str], list[LexborNode]]:
    """The text of ``node`` as a reader sees it: one line per block-level element or ``<br>``, whitespace
    collapsed; elements tagged ``stop`` are not entered but returned (in order) for the caller."""
    lines: list[str] = []
    current: list[str] = []
    stopped: list[LexborNode] = []
    stack: list[LexborNode | None] = [node]
    while stack:
        item = stack.pop()
        if item is None:  # end of a block-level element
            if current:
                lines.append("".join(current))
                current = []
            continue
        if item.is_text_node:
            current.append(item.text_content or "")
            continue
        tag = item.tag
        if not item.is_element_node or tag in _NEVER_CONTENT or item.mem_id in skip:
            continue
        if tag == "br":
            lines.append("".join(current))
            current = []
            continue
        if item is not node and tag in stop:
            stopped.append(item)
            continue
        block = tag not in _INLINE
        if block:
            stack.append(None)
        children = list(_children(item))
        stack.extend(reversed(children))
        if block and current:
            lines.append("".join(current))
            current = []
    if current:
        lines.append("".join(current))
    return [line for line in (_collapse(raw) for raw in lines) if line], stopped


def _pre_text(pre: LexborNode) -> str:
    """A ``<pre>``'s text verbatim (``<br>`` as a newline, no-break spaces as spaces), trailing newlines dropped."""
    if pre.css_first("br") is None:
        text = pre.text(deep=True) or ""
    else:
        nodes = pre.traverse(include_text=True)
        text = "".join(
            "\n" if n.tag == "br" else n.text_content or "" for n in nodes if n.is_text_node or n.tag == "br"
        )
    return text.replace("\xa0", " ").rstrip("\n")


def _one_line(node: LexborNode, skip: frozenset[int]) -> str:
    return " ".join(_lines(node, skip)[0])
