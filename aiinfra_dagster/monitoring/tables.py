"""Schema of the monitoring Delta table: one row per drift report, the history behind drift over time."""

from __future__ import annotations

import polars as pl

from aiinfra_dagster.lakehouse import UTC_TS, TableSchema

DRIFT_REPORTS = TableSchema(
    name="drift_reports",
    columns={
        "report_id": pl.String,
        "created_at": UTC_TS,
        "window_start": UTC_TS,
        "window_end": UTC_TS,
        "verdict": pl.String,
        "drifted": pl.Boolean,
        "reasons": pl.List(pl.String),
        "n_requests": pl.Int64,
        "n_reference": pl.Int64,
        "mmd_statistic": pl.Float64,
        "mmd_p_value": pl.Float64,
        "topic_psi": pl.Float64,
        "topic_psi_noise_floor": pl.Float64,
        "length_ks_statistic": pl.Float64,
        "length_ks_p_value": pl.Float64,
        "retrieval_score_drop": pl.Float64,
        "low_confidence_share": pl.Float64,
        "focus_chunk_ids": pl.List(pl.String),
        "served_model_versions": pl.List(pl.String),
        "served_bento_tags": pl.List(pl.String),
        "training_set_version": pl.Int64,
        "inference_logs_version": pl.Int64,
        "classifier_version": pl.String,
        "index_version": pl.String,
        "dagster_run_id": pl.String,
    },
    key=("report_id",),
    nullable=frozenset(
        {
            "mmd_statistic",
            "mmd_p_value",
            "topic_psi",
            "topic_psi_noise_floor",
            "length_ks_statistic",
            "length_ks_p_value",
            "retrieval_score_drop",
            "low_confidence_share",
            "classifier_version",
            "index_version",
            "training_set_version",
            "inference_logs_version",
        }
    ),
    descriptions={
        "report_id": "hash of the window and the versions compared",
        "verdict": "drift, no drift, or no verdict (too few requests in the window)",
        "drifted": "whether any signal crossed its threshold with enough requests",
        "reasons": "one readable line per crossed signal (or why there is no verdict)",
        "n_requests": "successful requests of the monitored endpoint in the window",
        "n_reference": "training_set questions the window is compared with",
        "mmd_p_value": "permutation p-value of the query-embedding MMD (small = drift)",
        "topic_psi": "population stability index of the predicted-topic mix",
        "topic_psi_noise_floor": "mean PSI of random splits at these sample sizes; "
        "drift = PSI minus this above the threshold",
        "length_ks_p_value": "two-sample KS p-value of query length in words",
        "retrieval_score_drop": "mean best retrieval score, reference minus window (positive = worse)",
        "low_confidence_share": "share of answers whose best retrieved chunk scored below "
        "monitoring.low_confidence_score",
        "focus_chunk_ids": "chunks the window's traffic retrieved most: what retraining generates new examples from",
        "served_model_versions": "LLM versions that answered in the window",
        "served_bento_tags": "Bentos that answered in the window",
    },
)
