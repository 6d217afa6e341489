"""The one document model every format is parsed into.

Whatever a source file is (Markdown, reST, HTML, PDF, plain text), the rest of the
platform sees the same structure: a title, sections with their heading path, and typed
blocks with character offsets into ``Document.text``. Chunking packs blocks, the
template Q/A generator and the labeling functions read block kinds and plain text,
golden parsing reads sections, and relevance judgements read plain text, so none of
them re-parses markup.

``Document.text`` is the text the offsets point into: the source itself for text
formats (Markdown, reST, plain text), the extracted main content for HTML and PDF.
Chunks are slices of it, so a chunk of a reST page is still the reST a person wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

DocFormat = Literal["markdown", "rst", "html", "pdf", "text"]

BlockKind = Literal["paragraph", "code", "list", "table", "api", "quote"]
BLOCK_KINDS: tuple[BlockKind, ...] = ("paragraph", "code", "list", "table", "api", "quote")
"""paragraph: prose; code: code or literal text, verbatim; list: one list (items one per line in
``text``, each prefixed "- "); table: rows as "cell | cell" lines; api: the signature line of a
documented object (a reST ``.. function::``); quote: a block quote or admonition."""


class UnparseableDocument(ValueError):
    """The document cannot be turned into text: the message is the quarantine reason."""


@dataclass(frozen=True)
class ApiEntry:
    """A documented object (from formats that mark them, e.g. reST/Sphinx directives)."""

    kind: str
    name: str
    signature: str


@dataclass(frozen=True)
class Block:
    """One typed block: ``text[start:end]`` of the document is its source, ``plain`` what a reader sees."""

    kind: BlockKind
    start: int
    end: int
    plain: str
    api: ApiEntry | None = None
    """For kind "api": the entry itself; for blocks in an entry's body: the entry they document."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "start": self.start, "end": self.end, "plain": self.plain}
        if self.api is not None:
            out["api"] = [self.api.kind, self.api.name, self.api.signature]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Block:
        api = data.get("api")
        return cls(data["kind"], int(data["start"]), int(data["end"]), data["plain"], ApiEntry(*api) if api else None)


@dataclass(frozen=True)
class Section:
    """Blocks under one heading path (outermost heading first; plain text, markup stripped)."""

    heading_path: tuple[str, ...]
    blocks: tuple[Block, ...]

    @property
    def heading(self) -> str:
        return self.heading_path[-1] if self.heading_path else ""


@dataclass(frozen=True)
class Document:
    format: DocFormat
    text: str
    title: str
    sections: tuple[Section, ...]
    metadata: dict[str, str] = field(default_factory=dict)
    """Front matter (Markdown), PDF info, HTML meta: string values only."""

    def blocks(self) -> list[Block]:
        return [b for s in self.sections for b in s.blocks]

    def validate(self) -> Document:
        """Offsets inside the text, in order, blocks non-empty: parsers are tested against this."""
        last = 0
        for section in self.sections:
            for b in section.blocks:
                if b.kind not in BLOCK_KINDS:
                    raise ValueError(f"unknown block kind {b.kind!r}")
                if not (0 <= b.start < b.end <= len(self.text)):
                    raise ValueError(f"block offsets {b.start}:{b.end} outside the text (length {len(self.text)})")
                if b.start < last:
                    raise ValueError(f"block at {b.start} overlaps the previous block ending at {last}")
                if not self.text[b.start : b.end].strip():
                    raise ValueError(f"block at {b.start}:{b.end} is whitespace only")
                last = b.end
        return self

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": self.format,
                "title": self.title,
                "metadata": self.metadata,
                "sections": [
                    {"path": list(s.heading_path), "blocks": [b.to_dict() for b in s.blocks]} for s in self.sections
                ],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str, structure: str) -> Document:
        data = json.loads(structure)
        sections = tuple(
            Section(tuple(s["path"]), tuple(Block.from_dict(b) for b in s["blocks"])) for s in data["sections"]
        )
        return cls(data["format"], text, data["title"], sections, dict(data.get("metadata") or {}))
