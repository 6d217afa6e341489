"""The drift report for the UI: markdown (verdict, reasons, signals, charts, topic shift) and the Dagster metadata of
a drift_report run (`drift_report_metadata`, from the outcome `run.report_drift` returned; nothing is read or written
here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dagster as dg
import polars as pl

from aiinfra_dagster.markdown import markdown_image, markdown_table
from aiinfra_dagster.monitoring.charts import comparison_png, history_png
from aiinfra_dagster.monitoring.drift_verdict import DriftThresholds
from aiinfra_dagster.monitoring.report import DriftComparison, TrafficSample
from aiinfra_dagster.monitoring.run import DriftOutcome


def report_markdown(
    comparison: DriftComparison,
    reference: TrafficSample,
    current: TrafficSample,
    history: pl.DataFrame,
    thresholds: DriftThresholds,
    start: datetime,
    end: datetime,
) -> str:
    signals = [
        [s.name, f"{s.value:.4g}", f"{s.threshold:.4g}", "yes" if s.crossed else "no", s.description]
        for s in comparison.verdict.signals.values()
    ]
    parts = [
        (
            f"**{comparison.label}** over {comparison.n_requests} requests "
            f"({start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC) against {comparison.n_reference} training questions"
        ),
        "\n".join(f"- {reason}" for reason in comparison.verdict.reasons) or "- every signal within its threshold",
    ]
    if signals:
        parts += [
            markdown_table(["signal", "value", "threshold", "crossed", "reading"], signals),
            markdown_image(comparison_png(reference, current, comparison), "window vs reference"),
        ]
    parts += [
        "Drift over time (red = drifted report)",
        markdown_image(history_png(history, thresholds), "drift over time"),
    ]
    return "\n\n".join(parts)


def topic_shift_markdown(comparison: DriftComparison, rows: int = 10) -> str:
    """The topics whose share moved most (largest PSI terms first)."""
    if comparison.topic_psi is None:
        return "too few requests"
    return markdown_table(
        ["topic", "reference share", "window share", "PSI term"],
        [
            [r.label, f"{r.reference_share:.3f}", f"{r.current_share:.3f}", f"{r.contribution:.3f}"]
            for r in comparison.topic_psi.rows[:rows]
        ],
    )


def verdict_metadata(comparison: DriftComparison) -> dict[str, Any]:
    """The verdict as metadata: on the materialization and on the drift check's result alike."""
    return {
        "verdict": comparison.label,
        "drifted": comparison.verdict.drifted,
        "reasons": dg.MetadataValue.json(comparison.verdict.reasons),
    }


def drift_report_metadata(drift: DriftOutcome, thresholds: DriftThresholds) -> dict[str, Any]:
    """drift_report's metadata beyond the drift_reports table's own (`LakehouseResource.table_metadata`)."""
    comparison = drift.comparison
    return {
        **verdict_metadata(comparison),
        "drift_report_id": drift.report_id,
        "n_requests": comparison.n_requests,
        "n_reference": comparison.n_reference,
        "window_start": drift.start.isoformat(),
        "window_end": drift.end.isoformat(),
        "report": dg.MetadataValue.md(
            report_markdown(
                comparison, drift.reference, drift.current, drift.history, thresholds, drift.start, drift.end
            )
        ),
        "topic_shift": dg.MetadataValue.md(topic_shift_markdown(comparison)),
        "focus_chunk_ids": dg.MetadataValue.json(drift.focus),
        "served_model_versions": dg.MetadataValue.json(drift.row["served_model_versions"]),
        **{
            f"input_{name}": value
            for name, value in drift.inputs.items()
            if name.endswith("version") and value is not None
        },
    }
