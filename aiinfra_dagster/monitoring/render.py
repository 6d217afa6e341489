"""The drift report as markdown for the UI: verdict, reasons, signals, charts, topic shift."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from aiinfra_dagster.markdown import markdown_image, markdown_table
from aiinfra_dagster.monitoring.charts import comparison_png, history_png
from aiinfra_dagster.monitoring.drift_verdict import DriftThresholds
from aiinfra_dagster.monitoring.report import DriftComparison, TrafficSample


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
