"""Build a version, verify it, and only then switch the alias (blue/green); drop versions beyond the keep count.

Unchanged inputs give the same version name, so a re-run reuses the version the alias already names (no new
points). A version that fails verification is never switched to: the step fails and the old one keeps serving.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from aiinfra_dagster.features.embeddings import embedding_matrix
from aiinfra_dagster.retrieval.metrics import RetrievalMetrics, first_relevant_rank, retrieval_metrics
from aiinfra_dagster.retrieval.rows import IndexRows, index_version
from aiinfra_dagster.retrieval.store import IndexStore, VersionReader
from aiinfra_dagster.settings import QdrantSettings

EVAL_K = 10


class IndexVerificationError(RuntimeError):
    """A new version failed verification; the alias still names the previous version."""


@dataclass(frozen=True)
class GoldenQueries:
    """Golden questions with their embeddings and relevant chunk ids (unanswerable ones already left out)."""

    qa_ids: list[str]
    questions: list[str]
    vectors: np.ndarray
    relevant: list[set[str]]
    left_out: int = 0


@dataclass
class IndexBuild:
    alias: str
    version: str
    previous_version: str | None
    built: bool
    switched: bool
    points: int
    build_seconds: float
    metrics: RetrievalMetrics
    ranks: list[int | None]
    checks: list[tuple[str, bool, str]]
    changes: dict[str, int] | None = None  # new / dropped / unchanged chunks vs the previous version
    deleted_versions: list[str] = field(default_factory=list)
    kept_versions: list[str] = field(default_factory=list)


def index_rows(chunks: pl.DataFrame, labels: pl.DataFrame, embeddings: pl.DataFrame, model_id: str) -> IndexRows:
    """Chunks (chunk_id, path, text) joined with labels and this model's embeddings; every chunk needs one."""
    vectors = embeddings.filter(pl.col("model_id") == model_id).select("chunk_id", "embedding")
    table = (
        chunks.select("chunk_id", "text", pl.col("path").alias("document_path"))
        .join(labels.select("chunk_id", "label"), on="chunk_id", how="left")
        .join(vectors, on="chunk_id", how="left")
        .sort("chunk_id")
    )
    missing = table.filter(pl.col("embedding").is_null())
    if missing.height:
        raise ValueError(
            f"chunk_embeddings has no embedding by model {model_id} for {missing.height} of {table.height} chunks "
            f"(e.g. {missing['chunk_id'][0]}): materialize chunk_embeddings first"
        )
    return IndexRows(
        chunk_ids=table["chunk_id"].to_list(),
        texts=table["text"].to_list(),
        document_paths=table["document_path"].to_list(),
        labels=table["label"].to_list(),
        vectors=embedding_matrix(table) if table.height else np.zeros((0, 0), dtype=np.float32),
    )


def _sample_indices(n: int, count: int) -> list[int]:
    return sorted({int(i) for i in np.linspace(0, n - 1, num=min(n, count))}) if n else []


Check = tuple[str, bool, str]  # name, passed, detail


def verify_version(
    reader: VersionReader, rows: IndexRows, golden: GoldenQueries, q: QdrantSettings
) -> tuple[list[Check], RetrievalMetrics, list[int | None]]:
    """The checks, the golden metrics, and each golden question's first relevant rank (None: not in the top 10)."""
    checks: list[Check] = []
    count = reader.count()
    checks.append(("point count", count == len(rows), f"{count} points, expected {len(rows)}"))
    sample = _sample_indices(len(rows), q.sample_queries)
    if sample:
        hits = reader.search(rows.vectors[sample], k=3)
        empty = sum(1 for h in hits if not h)
        missed = [
            rows.chunk_ids[i]
            for i, h in zip(sample, hits, strict=True)
            if rows.chunk_ids[i] not in {x.chunk_id for x in h}
        ]
        example = f" (e.g. {missed[0]})" if missed else ""
        checks.append(("sample queries non-empty", empty == 0, f"{empty} of {len(sample)} returned nothing"))
        checks.append(
            (
                "sample chunks find themselves",
                not missed,
                f"{len(missed)} of {len(sample)} not in their own top 3{example}",
            )
        )
        labelled = next((i for i in sample if rows.labels[i] is not None), None)
        if labelled is not None:
            label = rows.labels[labelled]
            got = reader.search(rows.vectors[[labelled]], k=5, label=label)[0]
            ok = bool(got) and all(h.label == label for h in got)
            checks.append(("label filter", ok, f"{len(got)} hits for label {label!r}, all with that label: {ok}"))
    ranks: list[int | None] = []
    if golden.qa_ids:
        rankings = [[h.chunk_id for h in hits] for hits in reader.search(golden.vectors, k=EVAL_K)]
        ranks = [first_relevant_rank(r, rel) for r, rel in zip(rankings, golden.relevant, strict=True)]
        metrics = retrieval_metrics(rankings, golden.relevant)
        detail = f"{metrics.recall[10]:.3f} (minimum {q.min_recall_at_10}) over {metrics.questions} questions"
        checks.append(("golden recall@10", metrics.recall[10] >= q.min_recall_at_10, detail))
    else:
        metrics = retrieval_metrics([], [])
        checks.append(("golden recall@10", True, "no golden question has a relevant chunk in this index: not measured"))
    return checks, metrics, ranks


def build_and_switch(
    store: IndexStore, rows: IndexRows, model_id: str, golden: GoldenQueries, q: QdrantSettings
) -> IndexBuild:
    if len(rows) == 0:
        raise ValueError("no chunks to index: document_chunks is empty")
    version = index_version(q.collection_prefix, model_id, rows)
    previous = store.alias_target(q.alias)
    existing = {v.name: v for v in store.versions()}
    built = version not in existing
    started = time.perf_counter()
    if built:
        store.build(version, rows)
    build_seconds = time.perf_counter() - started
    reader = store.open_version(version)
    try:
        checks, metrics, ranks = verify_version(reader, rows, golden, q)
    finally:
        reader.close()
    failed = [f"{name}: {detail}" for name, ok, detail in checks if not ok]
    if failed:
        raise IndexVerificationError(
            f"index version {version} failed verification; alias {q.alias!r} still names {previous!r}:\n  "
            + "\n  ".join(failed)
        )
    changes = changes_since(store, previous, rows) if previous in existing else None
    switched = previous != version
    if switched:
        store.switch_alias(q.alias, version)
    result = IndexBuild(
        q.alias, version, previous, built, switched, len(rows), build_seconds, metrics, ranks, checks, changes
    )
    result.deleted_versions, result.kept_versions = collect_garbage(store, version, q.keep_versions)
    return result


def changes_since(store: IndexStore, previous: str, rows: IndexRows) -> dict[str, int]:
    """Chunks new, dropped and unchanged relative to the previous version (its vectors were reused, not recomputed)."""
    reader = store.open_version(previous)
    try:
        before = reader.chunk_ids()
    finally:
        reader.close()
    now = set(rows.chunk_ids)
    return {"new": len(now - before), "dropped": len(before - now), "unchanged": len(now & before)}


def collect_garbage(store: IndexStore, current: str, keep: int) -> tuple[list[str], list[str]]:
    """Keep `current` and the newest others up to `keep` versions; never delete one an alias names."""
    others = [v.name for v in reversed(store.versions()) if v.name != current]
    kept = [current, *others[: keep - 1]]
    deleted = []
    for name in others[keep - 1 :]:
        try:
            store.delete_version(name)
            deleted.append(name)
        except ValueError:  # another alias still names it
            kept.append(name)
    return deleted, kept
