"""Markdown for Dagster metadata (MetadataValue.md), shared by assets and the training tracker."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table; pipes and newlines in cells are escaped."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_image(png: bytes, title: str) -> str:
    """A PNG as an inline markdown image: Dagster renders data-URI images in MetadataValue.md."""
    alt = title.replace("[", "(").replace("]", ")")
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
