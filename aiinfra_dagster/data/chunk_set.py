"""Turning validated documents into a deduplicated chunk set.

Exact duplicates collapse on the content-derived chunk id; near duplicates are
found with MinHash/LSH. Every removed occurrence is recorded with the chunk it
duplicates, so deduplication is auditable rather than silent.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from aiinfra_dagster.data.chunking import blocks_json, chunk_documents
from aiinfra_dagster.data.dedup import near_duplicates
from aiinfra_dagster.data.tables import CHUNK_DUPLICATES, DOCUMENT_CHUNKS
from aiinfra_dagster.data.token_counters import HFTokenCounter, TokenCounter
from aiinfra_dagster.documents.model import Document
from aiinfra_dagster.models.locate import resolve_model_path
from aiinfra_dagster.settings import ChunkingSettings, ModelSettings


@dataclass(frozen=True)
class ChunkSet:
    chunks: pl.DataFrame
    duplicates: pl.DataFrame
    documents: int
    produced: int

    @property
    def exact_duplicates(self) -> int:
        return self.duplicates.filter(pl.col("kind") == "exact").height

    @property
    def near_duplicates(self) -> int:
        return self.duplicates.filter(pl.col("kind") == "near").height


def embedding_token_counter(models: ModelSettings) -> HFTokenCounter:
    """Counts with the embedding model's own tokenizer (resolved offline), so chunks fit its context."""
    path = resolve_model_path(models.embedding, "models.embedding", allow_hub_downloads=models.allow_hub_downloads)
    return HFTokenCounter.from_file(path / "tokenizer.json")


def build_chunk_set(documents: pl.DataFrame, counter: TokenCounter, settings: ChunkingSettings) -> ChunkSet:
    kept: dict[str, dict[str, object]] = {}
    removed: list[dict[str, object]] = []
    produced = 0
    ordered = documents.sort("source", "path").to_dicts()
    per_document = chunk_documents(
        [Document.from_json(doc["text"], doc["structure"]) for doc in ordered],
        counter,
        settings.max_tokens,
        settings.min_tokens,
    )
    for doc, doc_chunks in zip(ordered, per_document, strict=True):
        for chunk in doc_chunks:
            produced += 1
            occurrence = {"document_id": doc["document_id"], "position": chunk.position, "path": doc["path"]}
            if chunk.chunk_id in kept:
                removed.append(
                    {**occurrence, "chunk_id": chunk.chunk_id, "kept_chunk_id": chunk.chunk_id, "kind": "exact"}
                )
                continue
            kept[chunk.chunk_id] = {
                **occurrence,
                "chunk_id": chunk.chunk_id,
                "source": doc["source"],
                "section": chunk.section,
                "text": chunk.text,
                "n_tokens": chunk.n_tokens,
                "n_chars": len(chunk.text),
                "blocks": blocks_json(chunk.blocks),
            }

    near = near_duplicates(
        [(cid, str(row["text"])) for cid, row in kept.items()],
        threshold=settings.dedup_threshold,
        num_perm=settings.dedup_num_perm,
        shingle_size=settings.shingle_size,
    )
    for entry in removed:  # an exact duplicate of a near-duplicate points at the survivor
        entry["kept_chunk_id"] = near.get(str(entry["kept_chunk_id"]), entry["kept_chunk_id"])
    for removed_id, kept_id in near.items():
        row = kept.pop(removed_id)
        removed.append(
            {
                "document_id": row["document_id"],
                "position": row["position"],
                "path": row["path"],
                "chunk_id": removed_id,
                "kept_chunk_id": kept_id,
                "kind": "near",
            }
        )
    return ChunkSet(
        chunks=DOCUMENT_CHUNKS.conform(list(kept.values())),
        duplicates=CHUNK_DUPLICATES.conform(removed),
        documents=documents.height,
        produced=produced,
    )
