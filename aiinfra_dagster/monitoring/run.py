"""The monitoring stage's entry for drift_report: one traffic window against the training questions, recorded.

Returns a typed outcome the asset turns into metadata and the drift check result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import polars as pl

from aiinfra_dagster.lakehouse import DeltaStore, WriteResult
from aiinfra_dagster.models.embedding import TextEncoder
from aiinfra_dagster.monitoring.report import (
    REFERENCE_COLUMNS,
    WINDOW_COLUMNS,
    DriftComparison,
    TrafficSample,
    compare,
    focus_chunks,
    reference_questions,
    report_id,
    report_row,
    window_days,
    window_requests,
)
from aiinfra_dagster.monitoring.samples import drift_samples
from aiinfra_dagster.monitoring.tables import DRIFT_REPORTS
from aiinfra_dagster.serving.tables import INFERENCE_LOGS
from aiinfra_dagster.settings import Settings
from aiinfra_dagster.synthetic.tables import TRAINING_SET


@dataclass(frozen=True)
class DriftOutcome:
    """One drift report: the window, the comparison and its samples, the focus chunks, what was recorded."""

    report_id: str
    start: datetime
    end: datetime
    comparison: DriftComparison
    reference: TrafficSample
    current: TrafficSample
    focus: list[str]
    row: dict[str, Any]
    inputs: dict[str, Any]
    history: pl.DataFrame
    write: WriteResult


def report_drift(
    settings: Settings,
    store: DeltaStore,
    encoder: Callable[[], TextEncoder],
    *,
    classifier: Mapping[str, Any],
    end: datetime,
    dagster_run_id: str,
) -> DriftOutcome:
    """Compare the window ending at `end` with the training questions and merge the report into drift_reports.

    `classifier` is the topic classifier's latest materialization metadata (empty when there is none); `encoder` is
    called at most once, and only when there is traffic to compare.
    """
    params = settings.monitoring
    start = end - timedelta(hours=params.window_hours)
    logs = store.read(INFERENCE_LOGS, columns=WINDOW_COLUMNS, partitions={"date": window_days(start, end)})
    window = window_requests(logs, endpoints=params.endpoints, start=start, end=end)
    inputs: dict[str, Any] = {
        "training_set_version": store.version(TRAINING_SET.name),
        "inference_logs_version": store.version(INFERENCE_LOGS.name),
        "classifier_version": classifier.get("model_version"),
        "endpoints": params.endpoints,
        "thresholds": params.thresholds.model_dump(),
    }
    questions = reference_questions(
        store.read(TRAINING_SET, columns=REFERENCE_COLUMNS), params.max_samples, params.seed
    )
    loaded = cache(encoder)
    reference, current, index_version = drift_samples(
        settings.qdrant, questions, window, lambda texts: loaded().encode(texts), classifier.get("model_path")
    )
    inputs["index_version"] = index_version
    comparison = compare(
        reference,
        current,
        thresholds=params.thresholds,
        low_confidence_score=params.low_confidence_score,
        permutations=params.permutations,
        max_samples=params.max_samples,
        seed=params.seed,
    )
    focus = focus_chunks(window, params.retraining.focus_chunks) if comparison.verdict.drifted else []
    rid = report_id(start, end, inputs)
    row = report_row(
        comparison,
        report=rid,
        created_at=datetime.now(UTC),
        window_start=start,
        window_end=end,
        window=window,
        focus=focus,
        inputs=inputs,
        run_id=dagster_run_id,
    )
    write = store.merge(DRIFT_REPORTS, DRIFT_REPORTS.conform([row]))
    history = store.read(DRIFT_REPORTS).sort("window_end").tail(params.history_reports)
    return DriftOutcome(rid, start, end, comparison, reference, current, focus, row, inputs, history, write)


def parse_window_end(value: str | None) -> datetime:
    """The end of the window from an ISO 8601 string (UTC when it has no offset); now when empty."""
    if not value:
        return datetime.now(UTC)
    end = datetime.fromisoformat(value)
    return end if end.tzinfo else end.replace(tzinfo=UTC)
