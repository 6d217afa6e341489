"""What a reader sees of a docutils doctree node: the ``plain`` text of the blocks ``rst`` emits.

Why a module: rendering a node as text is independent of walking the doctree into sections and locating
blocks in the source (``rst``), which is long enough alone.
"""

from __future__ import annotations

from collections.abc import Iterator

from docutils import nodes

from aiinfra_dagster.documents.rst_sphinx import _SPAN
from aiinfra_dagster.documents.rst_sphinx_directives import api_object, module_marker

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
    """ "--file=FILE": an option string and its argument (whose ``astext`` starts with its delimiter)."""
    return "".join(child.astext() for child in option.children)


def _item_body(item: nodes.Element) -> list[nodes.Node]:
    """The body elements of a list item (a definition's, a field body's, an option's description)."""
    if isinstance(item, (nodes.definition_list_item, nodes.field, nodes.option_list_item)):
        bodies = [c for c in item.children if isinstance(c, (nodes.definition, nodes.field_body, nodes.description))]
        return [child for body in bodies for child in body.children]
    return list(item.children)
