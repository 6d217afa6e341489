"""Schemas of the labeling-stage Delta tables."""

from __future__ import annotations

import polars as pl

from aiinfra_dagster.lakehouse import TableSchema

REFERENCE_LABELS = TableSchema(
    name="reference_labels",
    columns={"path": pl.String, "label": pl.String, "origin": pl.String},
    key=("path",),
    descriptions={
        "path": "document path relative to its source root",
        "label": "human categorisation (the docs' library chapter by default)",
        "origin": "where the label came from",
    },
)

HUMAN_LABELS = TableSchema(
    name="human_labels",
    columns={
        "chunk_id": pl.String,
        "label": pl.String,
        "annotator": pl.String,
        "source_file": pl.String,
        "record": pl.String,
    },
    key=("chunk_id",),
    nullable=frozenset({"annotator"}),
    descriptions={"record": "where in the source file (line or task id)"},
)

HUMAN_LABEL_QUARANTINE = TableSchema(
    name="human_label_quarantine",
    columns={"source_file": pl.String, "record": pl.String, "raw": pl.String, "reason": pl.String},
    key=("source_file", "record"),
    descriptions={"raw": "the record as it appeared in the file", "reason": "why it was not accepted"},
)

CHUNK_LABELS = TableSchema(
    name="chunk_labels",
    columns={
        "chunk_id": pl.String,
        "label": pl.String,
        "confidence": pl.Float64,
        "decided_by": pl.String,
        "votes": pl.List(pl.String),
        "reference_label": pl.String,
        "labeling_version": pl.String,
    },
    key=("chunk_id",),
    nullable=frozenset({"label", "reference_label"}),
    descriptions={
        "label": "final label; null when no source could decide",
        "decided_by": "human, label_model or none",
        "votes": "'<function>=<label>' for every labeling function that fired",
        "reference_label": "human reference label of the chunk's document, for evaluation only",
        "labeling_version": "hash of every labeling function's version and the label model settings",
    },
)
