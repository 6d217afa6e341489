"""The data stage's entry for raw_documents: read every configured source and sync the raw table.

Returns a typed outcome the asset turns into metadata; the other data assets call one library function each
(`split_documents`, `build_chunk_set`, `load_golden_set`).

Every source is listed (paths and sizes, nothing read) before anything is written: a source that would lose all or
too many of the documents the raw table holds for it (an emptied or unmounted directory) stops the run with
`ShrinkRefused` and the tables stay as they were, unless its `allow_shrink` says the shrink is meant.
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


class ShrinkRefused(ingest.SourceError):
    """A source lists none or too few of the documents stored for it; nothing was written."""


@dataclass(frozen=True)
class SourceCount:
    """One configured source as it was read: where from, how many documents, and how many were too large to read."""

    name: str
    kind: str
    location: str
    documents: int
    unread: int = 0
    removed: int = 0
    """Documents the raw table held for the source that it no longer lists."""


@dataclass(frozen=True)
class RawIngest:
    sources: tuple[SourceCount, ...]
    documents_seen: int
    bytes_seen: int
    write: WriteResult
    unread: int = 0
    """Documents over validation.max_bytes: recorded by their size from stat, never read, quarantined later."""


def shrink_refusal(
    source: SourceSettings, location: str, stored: set[str], listed: set[str], *, fallback: bool = False
) -> str | None:
    """Why syncing would delete too much of what the raw table holds for `source`, or None when it may go ahead.

    ``stored``: the paths the raw table holds for the source; ``listed``: the paths it lists now (before
    ``max_documents``, so lowering the cap is a setting change, not a disappearance). ``fallback``: it is being read
    from the pydoc_data.topics fallback, named in the reason.
    """
    if source.allow_shrink or not stored:
        return None
    gone = len(stored - listed)
    fix = (
        f"nothing was written. If the source really shrank, set sources[].allow_shrink: true for '{source.name}'"
        f" (or raise sources[].max_shrink_fraction, now {source.max_shrink_fraction}); otherwise check that "
        f"{location} is mounted and complete"
    )
    via = " (the pydoc_data.topics fallback: python_docs_dir is missing)" if fallback else ""
    if not listed:
        return (
            f"source '{source.name}' lists no documents at {location}{via}, but the raw table holds {len(stored)} "
            f"for it; {fix}"
        )
    if gone / len(stored) > source.max_shrink_fraction:
        return (
            f"source '{source.name}' no longer lists {gone} of the {len(stored)} documents the raw table holds for it "
            f"({gone / len(stored):.0%}; it lists {len(listed)} at {location}{via}), more than "
            f"sources[].max_shrink_fraction={source.max_shrink_fraction}; {fix}"
        )
    return None


def ingest_raw_documents(
    store: DeltaStore,
    sources: Sequence[SourceSettings],
    python_docs_dir: str,
    now: datetime,
    *,
    max_bytes: int | None = None,
    warn: Callable[[str], Any] = print,
) -> RawIngest:
    """Every document of every source synced into raw_documents (only new or changed rows written, removed deleted).

    Files over ``max_bytes`` are recorded by their size from stat without being read. Raises `SourceError` for a
    source that cannot be listed and `ShrinkRefused` for one that lost too many documents, before writing anything.
    """
    stored = _stored_paths(store, [s.name for s in sources])
    plans: list[tuple[SourceSettings, ingest.ResolvedSource, list[ingest.Listed], int]] = []
    refusals: list[str] = []
    for source in sources:
        resolved = ingest.resolve_source(source, python_docs_dir)
        listed = ingest.list_source(source, resolved)
        held = stored.get(source.name, set())
        if source.kind == "python_docs" and not resolved.fallback:
            # The real docs replacing an earlier pydoc fallback are an upgrade, not a loss.
            held = {p for p in held if not p.startswith(f"{ingest.PYDOC_TOPICS}/")}
        paths = {item.path for item in listed}
        refusal = shrink_refusal(source, resolved.location, held, paths, fallback=resolved.fallback)
        if refusal:
            refusals.append(refusal)
        plans.append((source, resolved, listed, len(held - paths)))
    if refusals:
        raise ShrinkRefused("; and ".join(refusals))

    counts: list[SourceCount] = []
    documents: list[ingest.SourceDocument] = []
    for source, resolved, listed, removed in plans:
        if resolved.fallback:
            warn(
                f"source '{source.name}': {python_docs_dir} not found; using pydoc_data.topics as "
                "sources[].pydoc_fallback asks (install python3.11-doc or set python_docs_dir for the full docs)"
            )
        if removed and source.allow_shrink:
            warn(f"source '{source.name}': {removed} stored documents are no longer listed and are deleted")
        docs = [ingest.read_document(source.name, item, max_bytes) for item in ingest.select_documents(source, listed)]
        unread = sum(d.unread_size is not None for d in docs)
        counts.append(SourceCount(source.name, resolved.kind, resolved.location, len(docs), unread, removed))
        documents.extend(docs)
    write = store.sync(
        RAW_DOCUMENTS,
        ingest.raw_rows(documents, now),
        compare=["source", "path", "format", "content_hash"],
        scope=pl.col("source").is_in([c.name for c in counts]),
    )
    return RawIngest(
        tuple(counts), len(documents), sum(d.size for d in documents), write, sum(c.unread for c in counts)
    )


def _stored_paths(store: DeltaStore, names: Sequence[str]) -> dict[str, set[str]]:
    """source -> the paths the raw table holds for it (two columns read, no content)."""
    frame = store.read(RAW_DOCUMENTS, columns=["source", "path"]).filter(pl.col("source").is_in(list(names)))
    held: dict[str, set[str]] = {}
    for source, path in frame.iter_rows():
        held.setdefault(source, set()).add(path)
    return held
