"""A drift report: the monitored traffic window against the training distribution.

The asset gathers the two samples (embeddings, predicted topics, best retrieval
scores); everything here is plain data in, numbers and a verdict out.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from aiinfra_dagster.monitoring.drift import (
    KSResult,
    MMDResult,
    PSIResult,
    ks_test,
    low_confidence_share,
    mmd_permutation_test,
    psi,
    psi_noise_floor,
    score_drop,
)
from aiinfra_dagster.monitoring.drift_verdict import DriftThresholds, DriftVerdict, assess

DRIFT, NO_DRIFT, NO_VERDICT = "drift", "no drift", "no verdict"
"""The verdict labels a report records (the retraining sensor reads them back)."""
WINDOW_COLUMNS = (
    "request_id",
    "ts",
    "endpoint",
    "status_code",
    "query",
    "label_filter",
    "retrieved_ids",
    "scores",
    "model_version",
    "bento_tag",
)
"""What a report reads of inference_logs (not the answers, the bulk of the table)."""
REFERENCE_COLUMNS = ("question", "split")


@dataclass(frozen=True)
class TrafficSample:
    """One side of the comparison: reference (training questions) or current (the window's queries)."""

    texts: list[str]
    embeddings: np.ndarray
    topics: list[str | None]
    top_scores: list[float]
    """best retrieval score per query: the evidence an answer was grounded in"""

    @property
    def lengths(self) -> list[float]:
        return query_lengths(self.texts)


@dataclass(frozen=True)
class DriftComparison:
    n_reference: int
    n_requests: int
    verdict: DriftVerdict
    mmd: MMDResult | None
    topic_psi: PSIResult | None
    length_ks: KSResult | None
    retrieval_score_drop: float | None
    low_confidence: float | None

    @property
    def label(self) -> str:
        """drift / no drift / no verdict (too few requests to decide)."""
        if self.verdict.drifted:
            return DRIFT
        return NO_VERDICT if self.verdict.reasons else NO_DRIFT


def window_requests(logs: pl.DataFrame, *, endpoints: Sequence[str], start: datetime, end: datetime) -> pl.DataFrame:
    """Successful, unfiltered requests of the endpoints with a query, start <= ts < end, oldest first."""
    unfiltered = pl.col("label_filter").is_null() if "label_filter" in logs.columns else pl.lit(True)
    return logs.filter(
        pl.col("endpoint").is_in(list(endpoints))
        & unfiltered
        & (pl.col("status_code") == 200)
        & pl.col("query").is_not_null()
        & (pl.col("ts") >= start)
        & (pl.col("ts") < end)
    ).sort("ts", "request_id")


def window_days(start: datetime, end: datetime) -> list[date]:
    """The UTC days (the `date` partitions of inference_logs) that start <= ts < end can fall on."""
    first, last = start.astimezone(UTC).date(), (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def reference_questions(training_set: pl.DataFrame, max_samples: int, seed: int) -> list[str]:
    """A stable sample of the questions the served model was trained on (train split, unique)."""
    questions = training_set.filter(pl.col("split") == "train").get_column("question").unique().to_list()
    ranked = sorted(questions, key=lambda q: hashlib.sha256(f"{seed}:{q}".encode()).hexdigest())
    return ranked[:max_samples]


def query_lengths(texts: Sequence[str]) -> list[float]:
    """Words per query: what a change of user population changes first (terse vs chatty)."""
    return [float(len(t.split())) for t in texts]


def top_scores(scores: Sequence[Sequence[float] | None]) -> list[float]:
    """Best score per request; a request that retrieved nothing scores 0."""
    return [float(max(s)) if s else 0.0 for s in scores]


def focus_chunks(window: pl.DataFrame, limit: int) -> list[str]:
    """The chunks the window's queries retrieved most often (ties by id): what the traffic is about."""
    if limit == 0 or window.is_empty():
        return []
    counts = Counter(cid for ids in window.get_column("retrieved_ids").to_list() if ids for cid in ids)
    return [cid for cid, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]]


def compare(
    reference: TrafficSample,
    current: TrafficSample,
    *,
    thresholds: DriftThresholds,
    low_confidence_score: float,
    permutations: int,
    max_samples: int,
    seed: int,
) -> DriftComparison:
    """Every signal both samples are large enough for, and the verdict (assess applies min_requests)."""
    n_ref, n_cur = len(reference.texts), len(current.texts)
    enough = n_ref >= 2 and n_cur >= 2
    mmd = (
        mmd_permutation_test(
            reference.embeddings, current.embeddings, permutations=permutations, seed=seed, max_samples=max_samples
        )
        if enough
        else None
    )
    topic_psi = (
        replace(
            psi(reference.topics, current.topics),
            noise_floor=psi_noise_floor(reference.topics, current.topics, permutations=permutations, seed=seed),
        )
        if enough
        else None
    )
    length_ks = ks_test(reference.lengths, current.lengths) if enough else None
    drop = score_drop(reference.top_scores, current.top_scores) if enough else None
    low = low_confidence_share(current.top_scores, low_confidence_score) if n_cur else None
    verdict = assess(
        n_requests=n_cur,
        mmd=mmd,
        label_psi=topic_psi,
        length_ks=length_ks,
        retrieval_score_drop=drop,
        low_confidence=low,
        thresholds=thresholds,
    )
    return DriftComparison(n_ref, n_cur, verdict, mmd, topic_psi, length_ks, drop, low)


def report_id(window_start: datetime, window_end: datetime, inputs: Mapping[str, Any]) -> str:
    """Same window over the same versions = the same report (a re-run merges, it does not duplicate)."""
    payload = json.dumps(
        {"start": window_start.isoformat(), "end": window_end.isoformat(), **inputs}, sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def report_row(
    comparison: DriftComparison,
    *,
    report: str,
    created_at: datetime,
    window_start: datetime,
    window_end: datetime,
    window: pl.DataFrame,
    focus: list[str],
    inputs: Mapping[str, Any],
    run_id: str,
) -> dict[str, Any]:
    """One drift_reports row."""
    return {
        "report_id": report,
        "created_at": created_at,
        "window_start": window_start,
        "window_end": window_end,
        "verdict": comparison.label,
        "drifted": comparison.verdict.drifted,
        "reasons": comparison.verdict.reasons,
        "n_requests": comparison.n_requests,
        "n_reference": comparison.n_reference,
        "mmd_statistic": comparison.mmd.statistic if comparison.mmd else None,
        "mmd_p_value": comparison.mmd.p_value if comparison.mmd else None,
        "topic_psi": comparison.topic_psi.value if comparison.topic_psi else None,
        "topic_psi_noise_floor": comparison.topic_psi.noise_floor if comparison.topic_psi else None,
        "length_ks_statistic": comparison.length_ks.statistic if comparison.length_ks else None,
        "length_ks_p_value": comparison.length_ks.p_value if comparison.length_ks else None,
        "retrieval_score_drop": comparison.retrieval_score_drop,
        "low_confidence_share": comparison.low_confidence,
        "focus_chunk_ids": focus,
        "served_model_versions": sorted(set(window.get_column("model_version").drop_nulls().to_list())),
        "served_bento_tags": sorted(set(window.get_column("bento_tag").drop_nulls().to_list())),
        "training_set_version": inputs.get("training_set_version"),
        "inference_logs_version": inputs.get("inference_logs_version"),
        "classifier_version": inputs.get("classifier_version"),
        "index_version": inputs.get("index_version"),
        "dagster_run_id": run_id,
    }
