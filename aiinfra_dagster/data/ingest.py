"""Reading configured document sources into raw rows.

Raw rows keep the original bytes verbatim, so a document that fails validation
later is never lost, only quarantined. A source is listed first (paths and sizes
from `stat`, nothing read), then only the documents it keeps are read; a file over
the size limit is never read: its row carries the size alone and validation
quarantines it.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterator, Sequence
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
    unread_size: int | None = None
    """Set when the file was over the size limit: its size from `stat`; it was not read and `content` is empty."""
    unread_mtime_ns: int = 0

    @property
    def document_id(self) -> str:
        return hashlib.sha256(f"{self.source}\0{self.path}".encode()).hexdigest()[:32]

    @property
    def size(self) -> int:
        return self.unread_size if self.unread_size is not None else len(self.content)

    @property
    def content_hash(self) -> str:
        if self.unread_size is None:
            return hashlib.sha256(self.content).hexdigest()
        # Not read: a hash of what stat says, so a changed file is still a new version (and no two collide).
        stamp = f"unread\0{self.source}\0{self.path}\0{self.unread_size}\0{self.unread_mtime_ns}"
        return hashlib.sha256(stamp.encode()).hexdigest()


@dataclass(frozen=True)
class ResolvedSource:
    """A source after resolving `python_docs` to its directory (or, when asked for, the pydoc fallback)."""

    name: str
    kind: str
    location: str
    fallback: bool = False
    """A python_docs source read from pydoc_data.topics because python_docs_dir is missing (pydoc_fallback)."""


@dataclass(frozen=True)
class Listed:
    """One document a source lists, before its bytes are read."""

    path: str
    size: int
    mtime_ns: int = 0
    file: Path | None = None
    data: bytes | None = None
    """In-memory content (pydoc topics); files are read only when selected."""


def resolve_source(source: SourceSettings, python_docs_dir: str) -> ResolvedSource:
    if source.kind == "python_docs":
        if Path(python_docs_dir).is_dir():
            return ResolvedSource(source.name, "directory", python_docs_dir)
        if source.pydoc_fallback:
            return ResolvedSource(source.name, "pydoc_topics", PYDOC_TOPICS, fallback=True)
        raise SourceError(
            f"source '{source.name}': python_docs_dir {python_docs_dir} does not exist. Install python3.11-doc, "
            "set python_docs_dir to the reST sources, or ask for the smaller pydoc_data.topics corpus instead "
            "(sources[].pydoc_fallback: true, or a source of kind pydoc_topics)"
        )
    if source.kind == "pydoc_topics":
        return ResolvedSource(source.name, "pydoc_topics", PYDOC_TOPICS)
    assert source.path is not None
    return ResolvedSource(source.name, "directory", source.path)


def list_source(source: SourceSettings, resolved: ResolvedSource) -> list[Listed]:
    """Every document the source lists (globs and exclude applied, before `max_documents`), sorted by path."""
    if resolved.kind == "pydoc_topics":
        return _pydoc_topics()
    return _directory(source, resolved.location)


def select_documents(source: SourceSettings, listed: Sequence[Listed]) -> list[Listed]:
    """The documents `max_documents` keeps, in path order: the first ones, or a stable hash-sampled subset."""
    if source.max_documents is None:
        return list(listed)
    if source.sample == "hash":
        # Rank by a hash of the path so the subset is stable and spread over the whole tree.
        ranked = sorted(listed, key=lambda d: hashlib.sha256(d.path.encode()).hexdigest())
        return sorted(ranked[: source.max_documents], key=lambda d: d.path)
    return list(listed[: source.max_documents])


def read_document(source_name: str, item: Listed, max_bytes: int | None = None) -> SourceDocument:
    """The listed document with its bytes, or, over ``max_bytes``, with its size alone (never read whole)."""
    if item.data is not None:
        return SourceDocument(source_name, item.path, item.data)
    assert item.file is not None
    if max_bytes is not None and item.size > max_bytes:
        return SourceDocument(source_name, item.path, b"", unread_size=item.size, unread_mtime_ns=item.mtime_ns)
    with item.file.open("rb") as fh:
        content = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    if max_bytes is not None and len(content) > max_bytes:  # it grew after it was listed: stop at the limit
        size = max(item.size, len(content))
        return SourceDocument(source_name, item.path, b"", unread_size=size, unread_mtime_ns=item.mtime_ns)
    return SourceDocument(source_name, item.path, content)


def iter_source_documents(
    source: SourceSettings, python_docs_dir: str, *, max_bytes: int | None = None
) -> Iterator[SourceDocument]:
    """Documents of one source in a stable order, capped at `max_documents`; files over ``max_bytes`` are not read."""
    resolved = resolve_source(source, python_docs_dir)
    for item in select_documents(source, list_source(source, resolved)):
        yield read_document(source.name, item, max_bytes)


def _directory(source: SourceSettings, root_dir: str) -> list[Listed]:
    root = Path(root_dir).expanduser()
    if not root.is_dir():
        raise SourceError(f"source '{source.name}': directory {root} does not exist (fix sources[].path)")
    paths: set[Path] = set()
    for pattern in source.globs:
        paths.update(p for p in root.glob(pattern) if p.is_file())
    listed = []
    for path in sorted(paths):
        rel = path.relative_to(root).as_posix()
        if any(fnmatch.fnmatch(rel, pat) for pat in source.exclude):
            continue
        stat = path.stat()
        listed.append(Listed(rel, stat.st_size, stat.st_mtime_ns, file=path))
    return listed


def _pydoc_topics() -> list[Listed]:
    listed = []
    for key in sorted(topics):
        data = topics[key].encode()
        listed.append(Listed(f"{PYDOC_TOPICS}/{key}.txt", len(data), data=data))
    return listed


def decode_utf8(content: bytes) -> str | None:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def raw_rows(documents: list[SourceDocument], ingested_at: datetime) -> pl.DataFrame:
    """Raw-table rows for documents; `ingested_at` only sticks for new or changed content.

    A document over the size limit has empty `content`, its size from `stat` in `bytes` and a hash of that stat as
    `content_hash`; validation quarantines it by its size.
    """
    return RAW_DOCUMENTS.conform(
        [
            {
                "document_id": d.document_id,
                "source": d.source,
                "path": d.path,
                "format": sniff_format(d.path, d.content),
                "content_hash": d.content_hash,
                "bytes": d.size,
                "content": d.content,
                "text": decode_utf8(d.content),
                "ingested_at": ingested_at,
            }
            for d in documents
        ]
    )
