"""The drift report's pictures: the window against the reference, and drift over time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import polars as pl
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

from aiinfra_dagster.charts import figure_png, new_figure
from aiinfra_dagster.monitoring.drift_verdict import DriftThresholds
from aiinfra_dagster.monitoring.report import DriftComparison, TrafficSample

_REFERENCE = {"color": "#4C72B0", "alpha": 0.55, "label": "reference (training set)"}
_CURRENT = {"color": "#DD8452", "alpha": 0.55, "label": "window (live traffic)"}


def comparison_png(
    reference: TrafficSample, current: TrafficSample, comparison: DriftComparison, top_topics: int = 8
) -> bytes:
    """Query length and best retrieval score histograms, and the largest topic-share changes."""
    fig = new_figure(11, 3)
    lengths, scores, topics = fig.subplots(1, 3)
    _histograms(lengths, reference.lengths, current.lengths, "query length (words)")
    _histograms(scores, reference.top_scores, current.top_scores, "best retrieval score")
    if comparison.topic_psi is not None:
        rows = comparison.topic_psi.rows[:top_topics]
        labels = [r.label[:28] for r in rows][::-1]
        positions = range(len(rows))
        topics.barh([p + 0.2 for p in positions], [r.reference_share for r in rows][::-1], height=0.4, **_REFERENCE)
        topics.barh([p - 0.2 for p in positions], [r.current_share for r in rows][::-1], height=0.4, **_CURRENT)
        topics.set_yticks(list(positions), labels, fontsize=7)
        topics.set_xlabel(f"topic share (PSI {comparison.topic_psi.value:.2f})")
    else:
        topics.text(0.5, 0.5, "too few requests", ha="center", va="center", transform=topics.transAxes)
    return figure_png(fig)


def _histograms(ax, reference: Sequence[float], current: Sequence[float], title: str) -> None:
    values = [*reference, *current]
    if not values:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        return
    low, high = min(values), max(values)
    bins = 20 if high > low else 1
    for sample, style in ((reference, _REFERENCE), (current, _CURRENT)):
        if sample:
            ax.hist(sample, bins=bins, range=(low, high if high > low else low + 1), density=True, **style)
    ax.set_xlabel(title)
    ax.legend(fontsize=7)


def history_png(history: pl.DataFrame, thresholds: DriftThresholds) -> bytes:
    """MMD p-value (log scale), topic PSI and retrieval-score drop per report; thresholds dashed, drifted red."""
    fig = new_figure(11, 2.6)
    axes = fig.subplots(1, 3, sharex=True)
    frame = history.sort("window_end")
    if "topic_psi_noise_floor" in frame.columns:
        frame = frame.with_columns(topic_psi=pl.col("topic_psi") - pl.col("topic_psi_noise_floor").fill_null(0.0))
    times = frame.get_column("window_end").to_list()
    drifted = frame.get_column("drifted").to_list()
    panels = (
        ("mmd_p_value", "query-embedding MMD p-value", thresholds.mmd_p_value, True),
        ("topic_psi", "topic PSI above its noise floor", thresholds.psi, False),
        ("retrieval_score_drop", "retrieval score drop", thresholds.score_drop, False),
    )
    for ax, (column, title, limit, log) in zip(axes, panels, strict=True):
        values = frame.get_column(column).to_list()
        points = [(t, v, d) for t, v, d in zip(times, values, drifted, strict=True) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], color="#555555", linewidth=1)
            ax.scatter(
                [p[0] for p in points],
                [p[1] for p in points],
                s=14,
                c=["#C44E52" if p[2] else "#55A868" for p in points],
                zorder=3,
            )
        ax.axhline(limit, color="#C44E52", linestyle="--", linewidth=1)
        if log:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(AutoDateLocator()))
        ax.tick_params(axis="x", labelsize=7)
    if len(times) == 1:  # one report: an hour either side, not matplotlib's default span of years
        axes[0].set_xlim(times[0] - timedelta(hours=1), times[0] + timedelta(hours=1))
    return figure_png(fig)
