"""The data stage's entry for raw_documents: read every configured source and sync the raw table.

Returns a typed outcome the asset turns into metadata; the other data assets call one library function each
(`split_documents`, `build_chunk_set`, `load_golden_set`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from aiinfra_dagster.data import ingest
from aiinfra_dagster.data.tables import RAW_DOCUMENTS
from aiinfra_dagster.lakehouse import DeltaStore, WriteResult
from aiinfra_dagster.settings import SourceSettings


@dataclass(frozen=True)
class SourceCount:
    """One configured source as it was read: where from, and how many documents."""

    name: str
    kind: str
    location: str
    documents: int


@dataclass(frozen=True)
class RawIngest:
    sources: tuple[SourceCount, ...]
    documents_seen: int
    bytes_seen: int
    write: WriteResult


def ingest_raw_documents(
    store: DeltaStore,
    sources: Sequence[SourceSettings],
    python_docs_dir: str,
    now: datetime,
    *,
    warn: Callable[[str], Any] = print,
) -> RawIngest:
    """Every document of every source synced into raw_documents (only new or changed rows written, removed deleted)."""
    counts: list[SourceCount] = []
    documents: list[ingest.SourceDocument] = []
    for source in sources:
        resolved = ingest.resolve_source(source, python_docs_dir)
        docs = list(ingest.iter_source_documents(source, python_docs_dir))
        counts.append(SourceCount(source.name, resolved.kind, resolved.location, len(docs)))
        documents.extend(docs)
        if resolved.kind == "pydoc_topics" and source.kind == "python_docs":
            warn(
                f"source '{source.name}': {python_docs_dir} not found; using pydoc_data.topics "
                "(install python3.11-doc or set python_docs_dir)"
            )
    write = store.sync(
        RAW_DOCUMENTS,
        ingest.raw_rows(documents, now),
        compare=["source", "path", "format", "content_hash"],
        scope=pl.col("source").is_in([c.name for c in counts]),
    )
    return RawIngest(tuple(counts), len(documents), sum(len(d.content) for d in documents), write)
