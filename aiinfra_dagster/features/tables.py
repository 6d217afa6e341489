"""Schemas of the feature-stage Delta tables."""

from __future__ import annotations

import polars as pl

from aiinfra_dagster.features.definitions import FEATURES
from aiinfra_dagster.lakehouse import UTC_TS, TableSchema

EMBEDDING = pl.List(pl.Float32)

CHUNK_EMBEDDINGS = TableSchema(
    name="chunk_embeddings",
    columns={"chunk_id": pl.String, "model_id": pl.String, "embedding": EMBEDDING},
    key=("chunk_id",),
    descriptions={
        "model_id": "content hash of the embedding model's weights",
        "embedding": "L2-normalised sentence embedding",
    },
)

_FEATURE_COLUMNS = {f.name: f.dtype for f in FEATURES}

CHUNK_FEATURES = TableSchema(
    name="chunk_features",
    columns={
        "chunk_id": pl.String,
        "event_timestamp": UTC_TS,
        "active": pl.Boolean,
        "feature_set_version": pl.String,
        **_FEATURE_COLUMNS,
        "embedding": EMBEDDING,
        "label": pl.String,
        "label_confidence": pl.Float64,
    },
    key=("chunk_id", "event_timestamp"),
    nullable=frozenset({*_FEATURE_COLUMNS, "embedding", "label", "label_confidence"}),
    descriptions={
        "event_timestamp": "when these values became current (append-only history)",
        "active": "false marks the moment a chunk left the corpus; its features are null from then on",
        "feature_set_version": "hash of every feature definition and the embedding model id",
        **{f.name: f"{f.description} (definition {f.version})" for f in FEATURES},
    },
)
