"""Reading configured document sources into raw rows.

Raw rows keep the original bytes verbatim, so a document that fails validation
later is never lost, only quarantined.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from pydoc_data.topics import topics

import polars as pl

from aiinfra_dagster.data.tables import RAW_DOCUMENTS
from aiinfra_dagster.documents.formats import sniff_format
from aiinfra_dagster.settings import SourceSettings

PYDOC_TOPICS = "pydoc_data.topics"


class SourceError(RuntimeError):
    """A configured source cannot be read; the message names the setting to fix."""


@dataclass(frozen=True)
class SourceDocument:
    source: str
    path: str
    content: bytes

    @property
    def document_id(self) -> str:
        return hashlib.sha256(f"{self.source}\0{self.path}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ResolvedSource:
    """A source after resolving `python_docs` to the directory or the pydoc fallback."""

    name: str
    kind: str
    location: str


def resolve_source(source: SourceSettings, python_docs_dir: str) -> ResolvedSource:
    if source.kind == "python_docs":
        if Path(python_docs_dir).is_dir():
            return ResolvedSource(source.name, "directory", python_docs_dir)
        return ResolvedSource(source.name, "pydoc_topics", PYDOC_TOPICS)
    if source.kind == "pydoc_topics":
        return ResolvedSource(source.name, "pydoc_topics", PYDOC_TOPICS)
    assert source.path is not None
    return ResolvedSource(source.name, "directory", source.path)


def iter_source_documents(source: SourceSettings, python_docs_dir: str) -> Iterator[SourceDocument]:
    """Documents of one source in a stable order, capped at `max_documents`."""
    resolved = resolve_source(source, python_docs_dir)
    docs = _pydoc_topics(source.name) if resolved.kind == "pydoc_topics" else _directory(source, resolved.location)
    if source.max_documents is not None and source.sample == "hash":
        # Rank by a hash of the path so the subset is stable and spread over the whole tree.
        ranked = sorted(docs, key=lambda d: hashlib.sha256(d.path.encode()).hexdigest())
        yield from sorted(ranked[: source.max_documents], key=lambda d: d.path)
        return
    for i, doc in enumerate(docs):
        if source.max_documents is not None and i >= source.max_documents:
            return
        yield doc


def _directory(source: SourceSettings, root_dir: str) -> Iterator[SourceDocument]:
    root = Path(root_dir).expanduser()
    if not root.is_dir():
        raise SourceError(f"source '{source.name}': directory {root} does not exist (fix sources[].path)")
    paths: set[Path] = set()
    for pattern in source.globs:
        paths.update(p for p in root.glob(pattern) if p.is_file())
    for path in sorted(paths):
        rel = path.relative_to(root).as_posix()
        if any(fnmatch.fnmatch(rel, pat) for pat in source.exclude):
            continue
        yield SourceDocument(source.name, rel, path.read_bytes())


def _pydoc_topics(source_name: str) -> Iterator[SourceDocument]:
    for key in sorted(topics):
        yield SourceDocument(source_name, f"{PYDOC_TOPICS}/{key}.txt", topics[key].encode())


def decode_utf8(content: bytes) -> str | None:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def raw_rows(documents: list[SourceDocument], ingested_at: datetime) -> pl.DataFrame:
    """Raw-table rows for documents; `ingested_at` only sticks for new or changed content."""
    return RAW_DOCUMENTS.conform(
        [
            {
                "document_id": d.document_id,
                "source": d.source,
                "path": d.path,
                "format": sniff_format(d.path, d.content),
                "content_hash": hashlib.sha256(d.content).hexdigest(),
                "bytes": len(d.content),
                "content": d.content,
                "text": decode_utf8(d.content),
                "ingested_at": ingested_at,
            }
            for d in documents
        ]
    )
