"""Per-model summaries with confidence intervals, and paired deltas between models.

Rows are eval_history rows (one scored answer per model x question x mode).
Perplexity is bootstrapped on the per-question mean NLL and shown as
exp(NLL), so its interval is the exponentiated NLL interval; for it lower is
better, and deltas are reported so that a positive delta always means "the
candidate is better".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from aiinfra_dagster.evaluation.metrics import Interval, bootstrap_ci, paired_delta_ci

METRICS: dict[str, str] = {
    "token_f1": "token_f1",
    "rouge_l": "rouge_l",
    "embedding_similarity": "embedding_similarity",
    "reference_perplexity": "reference_nll",
}
"""metric name -> eval_history column it is computed from"""
LOWER_IS_BETTER = frozenset({"reference_perplexity"})


def displayed(metric: str, interval: Interval) -> Interval:
    """The interval in the metric's own unit (perplexity = exp of the NLL interval)."""
    if metric != "reference_perplexity":
        return interval
    return Interval(math.exp(interval.mean), math.exp(interval.low), math.exp(interval.high), interval.n)


def summarize(
    rows: pl.DataFrame, *, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> dict[str, Interval]:
    """metric -> interval over the rows (one model, one mode)."""
    return {
        metric: displayed(
            metric, bootstrap_ci(rows[column].to_list(), resamples=resamples, confidence=confidence, seed=seed)
        )
        for metric, column in METRICS.items()
    }


def paired(candidate: pl.DataFrame, incumbent: pl.DataFrame) -> pl.DataFrame:
    """Questions both models answered in the mode, with both scores, by qa_id."""
    columns = ["qa_id", "slice", *METRICS.values()]
    return (
        candidate.select(columns)
        .join(incumbent.select(columns), on=["qa_id", "slice"], suffix="_incumbent")
        .sort("qa_id")
    )


def improvement(
    metric: str, pairs: pl.DataFrame, *, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> Interval:
    """Interval of the candidate's improvement over the incumbent (positive = better; NLL for perplexity)."""
    column = METRICS[metric]
    candidate, incumbent = pairs[column].to_list(), pairs[f"{column}_incumbent"].to_list()
    if metric in LOWER_IS_BETTER:
        candidate, incumbent = incumbent, candidate
    return paired_delta_ci(candidate, incumbent, resamples=resamples, confidence=confidence, seed=seed)


@dataclass(frozen=True)
class SliceDelta:
    slice: str
    questions: int
    delta: float
    gated: bool


def slice_deltas(metric: str, pairs: pl.DataFrame, min_questions: int) -> list[SliceDelta]:
    """Mean improvement per slice, worst first; slices under `min_questions` are not gated."""
    column = METRICS[metric]
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    grouped = (
        pairs.with_columns(((pl.col(column) - pl.col(f"{column}_incumbent")) * sign).alias("_delta"))
        .group_by("slice")
        .agg(pl.len().alias("n"), pl.col("_delta").mean().alias("delta"))
        .sort(["delta", "slice"])
    )
    return [
        SliceDelta(r["slice"], r["n"], float(r["delta"]), r["n"] >= min_questions)
        for r in grouped.iter_rows(named=True)
    ]


def worst_answers(rows: pl.DataFrame, metric: str, limit: int) -> list[dict[str, object]]:
    """The candidate's lowest-scoring answers on `metric` (highest NLL for perplexity)."""
    column = METRICS[metric]
    ordered = rows.sort(column, descending=metric in LOWER_IS_BETTER)
    return ordered.head(limit).select("qa_id", "slice", "question", "reference", "answer", column).to_dicts()


def metric_names() -> Sequence[str]:
    return list(METRICS)
