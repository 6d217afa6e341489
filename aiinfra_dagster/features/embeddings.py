"""Chunk embeddings, computed once per (chunk, model) and reused everywhere downstream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl

from aiinfra_dagster.features.tables import CHUNK_EMBEDDINGS


class Encoder(Protocol):
    model_id: str
    dimension: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class EmbeddingPlan:
    table: pl.DataFrame
    embedded: int
    reused: int


def plan_embeddings(chunks: pl.DataFrame, existing: pl.DataFrame, encoder: Encoder) -> EmbeddingPlan:
    """The embedding table for `chunks`: rows already made by this model are reused, only the rest are encoded.

    Chunk ids are content hashes, so an id seen before with the same model has the same embedding.
    """
    reusable = existing.filter(pl.col("model_id") == encoder.model_id).join(
        chunks.select("chunk_id"), on="chunk_id", how="semi"
    )
    todo = chunks.join(reusable.select("chunk_id"), on="chunk_id", how="anti").sort("chunk_id")
    vectors = encoder.encode(todo["text"].to_list())
    fresh = CHUNK_EMBEDDINGS.validate(
        pl.DataFrame(
            {
                "chunk_id": todo["chunk_id"],
                "model_id": pl.Series([encoder.model_id] * todo.height, dtype=pl.String),
                "embedding": pl.Series(vectors.tolist(), dtype=pl.List(pl.Float32)),
            }
        )
    )
    table = pl.concat([reusable, fresh]).sort("chunk_id")
    return EmbeddingPlan(table=table, embedded=todo.height, reused=reusable.height)


def embedding_matrix(table: pl.DataFrame) -> np.ndarray:
    """(n, d) float32 matrix in the table's row order."""
    if table.is_empty():
        return np.zeros((0, 0), dtype=np.float32)
    dim = len(table["embedding"][0])
    return table["embedding"].cast(pl.Array(pl.Float32, dim)).to_numpy().astype(np.float32, copy=False)
