"""Schemas of the synthetic-data Delta tables."""

from __future__ import annotations

import polars as pl

from aiinfra_dagster.lakehouse import UTC_TS, TableSchema

SYNTHETIC_QA = TableSchema(
    name="synthetic_qa",
    columns={
        "candidate_id": pl.String,
        "chunk_id": pl.String,
        "question": pl.String,
        "answer": pl.String,
        "generator": pl.String,
        "generation_version": pl.String,
        "kept": pl.Boolean,
        "drop_reason": pl.String,
    },
    key=("candidate_id",),
    nullable=frozenset({"drop_reason"}),
    descriptions={
        "generator": "template-v1 or llm:<model file>",
        "generation_version": "hash of the generator and its settings; same version = same candidates",
        "kept": "passed every filter; dropped candidates stay, with the reason",
        "drop_reason": "the first filter that rejected the candidate",
    },
)

TRAINING_SET = TableSchema(
    name="training_set",
    columns={
        "example_id": pl.String,
        "source": pl.String,
        "chunk_id": pl.String,
        "question": pl.String,
        "answer": pl.String,
        "context": pl.String,
        "messages": pl.String,
        "split": pl.String,
        "synthetic_qa_version": pl.Int64,
        "document_chunks_version": pl.Int64,
    },
    key=("example_id",),
    nullable=frozenset({"chunk_id"}),
    descriptions={
        "source": "synthetic or human",
        "messages": "chat-formatted example (system, user with context and question, assistant answer) as JSON",
        "split": "train or validation, by a hash of the example id",
        "synthetic_qa_version": "Delta version of synthetic_qa this example was built from",
        "document_chunks_version": "Delta version of document_chunks the contexts came from",
    },
)

SYNTHETIC_FOCUS = TableSchema(
    name="synthetic_focus",
    columns={
        "chunk_id": pl.String,
        "drift_report_id": pl.String,
        "added_at": UTC_TS,
        "dagster_run_id": pl.String,
    },
    key=("chunk_id",),
    descriptions={
        "chunk_id": "a chunk live traffic retrieved often during a drift episode; generated from from then on",
        "drift_report_id": "the drift report that named it (first time)",
        "dagster_run_id": "the retraining run that added it",
    },
)
