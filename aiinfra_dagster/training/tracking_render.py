"""An experiment run for people: the loss-curve picture, the comparison table and the Dagster metadata.

Pure functions of a recorded run: the asset records it (`tracking.record_experiment`), mirrors it
to MLflow (`tracking_mlflow.log_to_mlflow`), reads the runs to compare (`tracking.compared_runs`)
and passes what those returned to `experiment_metadata`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dagster as dg

from aiinfra_dagster.charts import figure_png, new_figure
from aiinfra_dagster.lakehouse import WriteResult
from aiinfra_dagster.markdown import markdown_image, markdown_table
from aiinfra_dagster.training.tracking import (
    LOSS_METRICS,
    ExperimentRun,
    MlflowRef,
    canonical_json,
    format_param,
    is_number,
    jsonable,
    metric_series,
)

# --------------------------------------------------------------------------- pictures


def loss_curve_png(history: Sequence[Mapping[str, Any]], metrics: Sequence[str] = LOSS_METRICS) -> bytes:
    """A small PNG of the metric curves over steps (Agg canvas, no pyplot state)."""
    fig = new_figure(6, 3)
    ax = fig.add_subplot()
    plotted = 0
    for name in metrics:
        points = metric_series(history, name)
        if not points:
            continue
        steps, values = zip(*points, strict=True)
        marker = "o" if len(points) <= 30 else None
        ax.plot(steps, values, label=name, marker=marker, markersize=3, linewidth=1.2)
        plotted += 1
    if plotted:
        ax.legend(loc="upper right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no metrics logged", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    return figure_png(fig)


def loss_curve_markdown(history: Sequence[Mapping[str, Any]], title: str, metrics: Sequence[str] = LOSS_METRICS) -> str:
    """The curve as an inline markdown image: Dagster renders data-URI images in MetadataValue.md."""
    return markdown_image(loss_curve_png(history, metrics), title)


# --------------------------------------------------------------------------- comparison


def comparison_markdown(compared: Sequence[ExperimentRun]) -> str:
    """The current run (first, as `tracking.compared_runs` returns it) and earlier runs, current marked."""
    if not compared:
        raise ValueError("nothing to compare: the current run must come first")
    current = compared[0]
    differing = _differing_keys([r.params for r in compared])
    headers = ["", "started (UTC)", "run", *differing, "final loss", "eval loss", "tokens/s", "wall", "inputs"]
    rows = [
        [
            "**current**" if r.run_id == current.run_id else "",
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"`{r.short_id}`",
            *(_format_value(r.params.get(k)) for k in differing),
            _format_float(r.final("loss")),
            _format_float(r.final("eval_loss")),
            _format_rate(r.tokens_per_second),
            format_duration(r.wall_seconds),
            _format_inputs(r.inputs),
        ]
        for r in compared
    ]
    notes = []
    if len(compared) == 1:
        notes.append(f"_No earlier runs of `{current.asset}`._")
    elif not differing:
        notes.append("_Parameters are identical across these runs._")
    return "\n\n".join([markdown_table(headers, rows), *notes])


def _differing_keys(params: Sequence[Mapping[str, Any]]) -> list[str]:
    """Parameter names whose value is not the same in every run (a missing one counts as different)."""
    keys = sorted({k for p in params for k in p})
    return [k for k in keys if len({canonical_json(p.get(k)) for p in params}) > 1]


# --------------------------------------------------------------------------- Dagster metadata


def experiment_metadata(
    run: ExperimentRun,
    written: WriteResult,
    compared: Sequence[ExperimentRun],
    mlflow: MlflowRef | None = None,
) -> dict[str, Any]:
    """MaterializeResult metadata of a recorded run: `written` by `record_experiment`, `compared` by
    `compared_runs` (read after recording), `mlflow` from `log_to_mlflow` (None when not configured)."""
    metadata: dict[str, Any] = {
        "experiment_run_id": dg.MetadataValue.text(run.run_id),
        "experiment_status": dg.MetadataValue.text(run.status),
        "params": dg.MetadataValue.md(markdown_table(["param", "value"], _sorted_rows(run.params, format_param))),
        **{f"final_{k}": _metadata_float(v) for k, v in sorted(run.metrics.items()) if is_number(v)},
        "wall_seconds": _metadata_float(run.wall_seconds),
        "wall_time": dg.MetadataValue.text(format_duration(run.wall_seconds)),
        "environment": dg.MetadataValue.md(markdown_table(["key", "value"], _sorted_rows(run.environment, str))),
        "inputs": dg.MetadataValue.json(jsonable(run.inputs)),
        **_input_versions(run.inputs),
        "loss_curve": dg.MetadataValue.md(loss_curve_markdown(run.history, f"{run.asset} loss")),
        "comparison": dg.MetadataValue.md(comparison_markdown(compared)),
        "experiments_delta_version": dg.MetadataValue.int(written.version),
        "experiments_table": dg.MetadataValue.path(written.uri),
    }
    if run.tokens_per_second is not None:
        metadata["tokens_per_second"] = _metadata_float(run.tokens_per_second)
    if run.model_path:
        metadata["model_path"] = dg.MetadataValue.path(run.model_path)
    if run.model_bytes is not None:
        metadata["model_bytes"] = dg.MetadataValue.int(run.model_bytes)
    if mlflow is not None:
        metadata["mlflow_run_id"] = dg.MetadataValue.text(mlflow.run_id)
        metadata["mlflow_experiment_id"] = dg.MetadataValue.text(mlflow.experiment_id)
        if mlflow.url:
            metadata["mlflow_run_url"] = dg.MetadataValue.url(mlflow.url)
    return metadata


def _input_versions(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """`input_<table>_version` for integer (Delta) versions, as every asset records them; others as text."""
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        if isinstance(value, int) and not isinstance(value, bool):
            out[f"input_{key}_version"] = dg.MetadataValue.int(value)
        elif value is not None:
            out[f"input_{key}"] = dg.MetadataValue.text(format_param(value))
    return out


def _metadata_float(value: float) -> Any:
    """Finite floats as floats (the UI plots them across materializations); nan/inf as text."""
    value = float(value)
    return dg.MetadataValue.float(value) if math.isfinite(value) else dg.MetadataValue.text(str(value))


# --------------------------------------------------------------------------- formatting


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _sorted_rows(values: Mapping[str, Any], fmt: Callable[[Any], str]) -> list[tuple[str, str]]:
    return [(k, fmt(v)) for k, v in sorted(values.items())]


def _format_float(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def _format_rate(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _format_value(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:g}" if isinstance(value, float) else format_param(value)


def _format_inputs(inputs: Mapping[str, Any]) -> str:
    """`name=value` pairs; hashes shortened to 12 characters so the table stays readable."""

    def short(value: Any) -> str:
        text = format_param(value)
        return text[:12] + "…" if len(text) > 16 else text

    return ", ".join(f"{k}={short(v)}" for k, v in sorted(inputs.items())) or "–"


__all__ = [
    "comparison_markdown",
    "experiment_metadata",
    "format_duration",
    "loss_curve_markdown",
    "loss_curve_png",
]
