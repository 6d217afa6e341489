"""Schemas of the training-stage Delta tables."""

from __future__ import annotations

import polars as pl

from aiinfra_dagster.lakehouse import UTC_TS, TableSchema

EXPERIMENTS = TableSchema(
    name="experiments",
    columns={
        "run_id": pl.String,
        "asset": pl.String,
        "dagster_run_id": pl.String,
        "started_at": UTC_TS,
        "wall_seconds": pl.Float64,
        "status": pl.String,
        "final_loss": pl.Float64,
        "eval_loss": pl.Float64,
        "tokens_per_second": pl.Float64,
        "model_path": pl.String,
        "model_bytes": pl.Int64,
        "params": pl.String,
        "metrics": pl.String,
        "history": pl.String,
        "environment": pl.String,
        "inputs": pl.String,
    },
    key=("run_id",),
    nullable=frozenset({"final_loss", "eval_loss", "tokens_per_second", "model_path", "model_bytes"}),
    descriptions={
        "run_id": "<asset>:<fingerprint of params and inputs>; re-materializing the same thing updates this row",
        "asset": "the training asset that produced the run (lora_checkpoint, topic_classifier, ...)",
        "dagster_run_id": "the Dagster run of the latest materialization with this run_id",
        "started_at": "when training started (UTC)",
        "wall_seconds": "wall-clock training time in seconds",
        "status": "completed, resumed (continued from a checkpoint), ...",
        "final_loss": "last logged training loss",
        "eval_loss": "last logged evaluation loss",
        "tokens_per_second": "training throughput in tokens per second",
        "model_path": "where the trained model or adapter was saved",
        "model_bytes": "size of the saved model files in bytes",
        "params": "JSON: every training parameter",
        "metrics": "JSON: final metrics (name -> value)",
        "history": "JSON: per-step log entries ({step, epoch, loss, ...})",
        "environment": "JSON: python, platform, library versions, device, threads",
        "inputs": "JSON: exact input versions (e.g. training_set Delta version, base_model_sha256)",
    },
)
