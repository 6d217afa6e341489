"""Experiment tracking for training assets.

Every training materialization becomes one `ExperimentRun`: parameters, per-step
metrics, wall time, throughput, environment and the exact input versions. It is
kept in the `experiments` Delta table (keyed by a fingerprint of params and
inputs, so re-materializing the same thing updates its row instead of adding
one), rendered for the Dagster UI (loss curve picture, comparison with earlier
runs) and, only when a tracking URI is configured, logged to MLflow too. MLflow
is imported lazily: nothing here needs it installed otherwise.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from aiinfra_dagster.charts import figure_png, new_figure
from aiinfra_dagster.lakehouse import DeltaStore, WriteResult
from aiinfra_dagster.markdown import markdown_image, markdown_table
from aiinfra_dagster.settings import TrackingSettings
from aiinfra_dagster.training.tables import EXPERIMENTS

LOSS_METRICS = ("loss", "eval_loss")
_LIBRARIES = ("torch", "transformers", "peft", "deepspeed", "accelerate", "dagster")
_MLFLOW_PARAM_MAX = 6000  # MLflow 3 limit on a param value
_MLFLOW_TAG_MAX = 5000


class MlflowUnavailableError(RuntimeError):
    """A tracking URI is configured but the mlflow package cannot be imported."""


@dataclass(frozen=True)
class ExperimentRun:
    """One training materialization, as recorded in the `experiments` table."""

    run_id: str
    asset: str
    dagster_run_id: str
    started_at: datetime
    wall_seconds: float
    params: dict[str, Any]
    metrics: dict[str, float]
    history: list[dict[str, Any]]
    tokens_per_second: float | None = None
    environment: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    model_path: str | None = None
    model_bytes: int | None = None
    status: str = "completed"

    def __post_init__(self) -> None:
        if self.started_at.tzinfo is None:
            raise ValueError("ExperimentRun.started_at must be timezone-aware (UTC)")
        object.__setattr__(self, "started_at", self.started_at.astimezone(UTC))

    @classmethod
    def create(
        cls, *, asset: str, params: Mapping[str, Any], inputs: Mapping[str, Any], **fields: Any
    ) -> ExperimentRun:
        """A run whose `run_id` is derived from what was trained on what (see `experiment_run_id`)."""
        return cls(
            run_id=experiment_run_id(asset, params, inputs),
            asset=asset,
            params=dict(params),
            inputs=dict(inputs),
            **fields,
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ExperimentRun:
        """Rebuild a run from an `experiments` table row."""
        return cls(
            run_id=row["run_id"],
            asset=row["asset"],
            dagster_run_id=row["dagster_run_id"],
            started_at=row["started_at"],
            wall_seconds=row["wall_seconds"],
            params=json.loads(row["params"]),
            metrics=json.loads(row["metrics"]),
            history=json.loads(row["history"]),
            tokens_per_second=row["tokens_per_second"],
            environment=json.loads(row["environment"]),
            inputs=json.loads(row["inputs"]),
            model_path=row["model_path"],
            model_bytes=row["model_bytes"],
            status=row["status"],
        )

    @property
    def short_id(self) -> str:
        return short_run_id(self.run_id)

    def final(self, metric: str) -> float | None:
        """The final value of a metric: the reported figure, else the last logged step."""
        if metric in self.metrics:
            return float(self.metrics[metric])
        series = metric_series(self.history, metric)
        return series[-1][1] if series else None


def experiment_run_id(asset: str, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    """`<asset>:<16 hex>` from canonical JSON of params and inputs: same training, same id."""
    payload = _canonical_json({"asset": asset, "params": params, "inputs": inputs})
    return f"{asset}:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


def short_run_id(run_id: str) -> str:
    """The first 8 characters of the fingerprint in `<asset>:<hex>` (or `<asset>-<hex>`)."""
    return re.split(r"[:/-]", run_id)[-1][:8]


def metric_series(history: Iterable[Mapping[str, Any]], metric: str) -> list[tuple[int, float]]:
    """(step, value) pairs of one metric in step order; entries without it are skipped."""
    points = [(int(e["step"]), float(e[metric])) for e in history if _is_number(e.get(metric))]
    return sorted(points, key=lambda p: p[0])


# --------------------------------------------------------------------------- environment


def environment_info(device: str | None = None) -> dict[str, str]:
    """What a run ran on, so a number can be reproduced: versions are read from package metadata."""
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": str(_usable_cpus()),
    }
    info.update({lib: _version(lib) for lib in _LIBRARIES})
    info.update(_torch_runtime(device))
    return info


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _usable_cpus() -> int:
    """CPUs this process may use (cgroup/affinity aware where the OS tells us)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _torch_runtime(device: str | None) -> dict[str, str]:
    """Device name and intra-op threads; torch is already loaded by the training code that asks."""
    if importlib.util.find_spec("torch") is None:
        return {"device": device or "cpu", "torch_threads": "n/a"}
    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and torch.cuda.is_available():
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        device = f"{device} ({torch.cuda.get_device_name(index)})"
    return {"device": device, "torch_threads": str(torch.get_num_threads())}


# --------------------------------------------------------------------------- the Delta table


def experiment_row(run: ExperimentRun) -> dict[str, Any]:
    """The `experiments` row of a run: JSON columns for the detail, flat ones to sort by."""
    return {
        "run_id": run.run_id,
        "asset": run.asset,
        "dagster_run_id": run.dagster_run_id,
        "started_at": run.started_at,
        "wall_seconds": float(run.wall_seconds),
        "status": run.status,
        "final_loss": run.final("loss"),
        "eval_loss": run.final("eval_loss"),
        "tokens_per_second": None if run.tokens_per_second is None else float(run.tokens_per_second),
        "model_path": run.model_path,
        "model_bytes": run.model_bytes,
        "params": _canonical_json(run.params),
        "metrics": _canonical_json(run.metrics),
        "history": _canonical_json(run.history),
        "environment": _canonical_json(run.environment),
        "inputs": _canonical_json(run.inputs),
    }


def record_experiment(store: DeltaStore, run: ExperimentRun) -> WriteResult:
    """Upsert the run by `run_id`: a re-record updates its row (no commit if nothing changed)."""
    return store.merge(EXPERIMENTS, EXPERIMENTS.conform([experiment_row(run)]))


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


def comparison_markdown(store: DeltaStore, asset: str, current_run_id: str, last: int) -> str:
    """The current run and up to `last` earlier runs of the asset, newest first, current marked."""
    runs = store.read(EXPERIMENTS).filter(pl.col("asset") == asset)
    current = runs.filter(pl.col("run_id") == current_run_id)
    if current.is_empty():
        raise ValueError(f"run {current_run_id!r} of {asset!r} is not in the experiments table; record it first")
    earlier = (
        runs.filter((pl.col("run_id") != current_run_id) & (pl.col("started_at") <= current["started_at"][0]))
        .sort(["started_at", "run_id"], descending=True)
        .head(max(last, 0))
    )
    shown = [ExperimentRun.from_row(r) for r in pl.concat([current, earlier]).iter_rows(named=True)]
    differing = _differing_keys([r.params for r in shown])
    headers = ["", "started (UTC)", "run", *differing, "final loss", "eval loss", "tokens/s", "wall", "inputs"]
    rows = [
        [
            "**current**" if r.run_id == current_run_id else "",
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"`{r.short_id}`",
            *(_format_value(r.params.get(k)) for k in differing),
            _format_float(r.final("loss")),
            _format_float(r.final("eval_loss")),
            _format_rate(r.tokens_per_second),
            format_duration(r.wall_seconds),
            _format_inputs(r.inputs),
        ]
        for r in shown
    ]
    notes = []
    if len(shown) == 1:
        notes.append(f"_No earlier runs of `{asset}`._")
    elif not differing:
        notes.append("_Parameters are identical across these runs._")
    return "\n\n".join([markdown_table(headers, rows), *notes])


def _differing_keys(params: Sequence[Mapping[str, Any]]) -> list[str]:
    """Parameter names whose value is not the same in every run (a missing one counts as different)."""
    keys = sorted({k for p in params for k in p})
    return [k for k in keys if len({_canonical_json(p.get(k)) for p in params}) > 1]


# --------------------------------------------------------------------------- MLflow


@dataclass(frozen=True)
class MlflowRef:
    run_id: str
    experiment_id: str
    url: str | None


def log_to_mlflow(tracking: TrackingSettings, run: ExperimentRun, artifacts: Sequence[Path] = ()) -> str | None:
    """Log the run to MLflow when `tracking.mlflow_tracking_uri` is set; the MLflow run id, else None."""
    ref = _log_mlflow(tracking, run, artifacts)
    return ref.run_id if ref else None


def _mlflow_client(uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != "mlflow":
            raise
        raise MlflowUnavailableError(
            f"settings tracking.mlflow_tracking_uri is set ({uri!r}) but the mlflow package is not installed: "
            "`pip install mlflow-skinny` (or unset tracking.mlflow_tracking_uri to track in Delta only)"
        ) from exc
    return MlflowClient(tracking_uri=uri)


def _log_mlflow(
    tracking: TrackingSettings, run: ExperimentRun, artifacts: Sequence[Path], curve_png: bytes | None = None
) -> MlflowRef | None:
    """One MLflow run per experiment run_id: a re-materialization reuses it and only adds new steps."""
    uri = tracking.mlflow_tracking_uri
    if not uri:
        return None
    client = _mlflow_client(uri)
    from mlflow.entities import Metric, Param, RunTag

    experiment_id = _mlflow_experiment_id(client, tracking.mlflow_experiment, _local_artifact_location(uri))
    tags = _mlflow_tags(run)
    quoted = run.run_id.replace("'", "\\'")
    found = client.search_runs([experiment_id], filter_string=f"tags.`aiinfra.run_id` = '{quoted}'", max_results=1)
    start_ms = _epoch_ms(run.started_at)
    if found:
        mlflow_run_id = found[0].info.run_id
    else:
        mlflow_run_id = client.create_run(
            experiment_id, start_time=start_ms, tags=tags, run_name=f"{run.asset}-{run.short_id}"
        ).info.run_id

    metrics = _mlflow_metrics(run)
    logged_params: Mapping[str, str] = {}
    if found:  # MLflow params are immutable and repeated steps would be stored twice: only add what is new
        logged_params = found[0].data.params
        keys = {key for key, _, _ in metrics}
        logged = {(m.key, m.step) for key in keys for m in client.get_metric_history(mlflow_run_id, key)}
        metrics = [m for m in metrics if (m[0], m[2]) not in logged]
    params = [
        Param(k, _truncate(_format_param(v), _MLFLOW_PARAM_MAX))
        for k, v in sorted(run.params.items())
        if k not in logged_params
    ]
    for chunk in _chunks(params, 100):
        client.log_batch(mlflow_run_id, params=chunk)
    for chunk in _chunks([RunTag(k, v) for k, v in tags.items()], 100):
        client.log_batch(mlflow_run_id, tags=chunk)
    for chunk in _chunks([Metric(k, v, start_ms, step) for k, v, step in metrics], 1000):
        client.log_batch(mlflow_run_id, metrics=chunk)

    with tempfile.TemporaryDirectory(prefix="aiinfra-mlflow-") as tmp:
        curve = Path(tmp) / "loss_curve.png"
        curve.write_bytes(curve_png if curve_png is not None else loss_curve_png(run.history))
        environment = Path(tmp) / "environment.json"
        environment.write_text(json.dumps(run.environment, indent=2, sort_keys=True))
        for path in (curve, environment):
            client.log_artifact(mlflow_run_id, str(path))
    for artifact in map(Path, artifacts):
        if artifact.is_dir():
            client.log_artifacts(mlflow_run_id, str(artifact), artifact_path=artifact.name)
        else:
            client.log_artifact(mlflow_run_id, str(artifact))
    end_ms = _epoch_ms(run.started_at + timedelta(seconds=run.wall_seconds))
    client.set_terminated(mlflow_run_id, status="FINISHED", end_time=end_ms)
    return MlflowRef(mlflow_run_id, experiment_id, _mlflow_url(uri, experiment_id, mlflow_run_id))


def _mlflow_experiment_id(client: Any, name: str, artifact_location: str | None) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return client.create_experiment(name, artifact_location=artifact_location)
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def _mlflow_tags(run: ExperimentRun) -> dict[str, str]:
    tags = {
        "aiinfra.run_id": run.run_id,
        "aiinfra.asset": run.asset,
        "aiinfra.status": run.status,
        "dagster.run_id": run.dagster_run_id,
    }
    if run.model_path:
        tags["aiinfra.model_path"] = run.model_path
    tags.update({f"input.{k}": _format_param(v) for k, v in run.inputs.items()})
    return {k: _truncate(v, _MLFLOW_TAG_MAX) for k, v in tags.items()}


def _mlflow_metrics(run: ExperimentRun) -> list[tuple[str, float, int]]:
    """(key, value, step): every numeric history value, then final figures at the last step."""
    out: dict[tuple[str, int], float] = {}
    for entry in run.history:
        step = int(entry["step"])
        for key, value in entry.items():
            if key != "step" and _is_number(value):
                out.setdefault((key, step), float(value))
    last_step = max((int(e["step"]) for e in run.history), default=0)
    finals = dict(run.metrics)
    finals["wall_seconds"] = run.wall_seconds
    if run.tokens_per_second is not None:
        finals["tokens_per_second"] = run.tokens_per_second
    for key, value in finals.items():
        if _is_number(value):
            out.setdefault((key, last_step), float(value))
    return [(key, value, step) for (key, step), value in out.items()]


def _local_artifact_location(uri: str) -> str | None:
    """Artifacts of a local sqlite store go beside its database file.

    MLflow's default is ./mlruns under whatever directory the Dagster process
    happens to run in; servers choose their own artifact store (None).
    """
    if not uri.startswith("sqlite:///") or uri.endswith(":memory:"):
        return None
    database = Path(uri.removeprefix("sqlite:///")).expanduser().resolve()
    return (database.parent / "mlflow-artifacts").as_uri()


def _mlflow_url(uri: str, experiment_id: str, run_id: str) -> str | None:
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return None


# --------------------------------------------------------------------------- Dagster metadata


def experiment_metadata(
    run: ExperimentRun, store: DeltaStore, tracking: TrackingSettings, artifacts: Sequence[Path] = ()
) -> dict[str, Any]:
    """Record the run (Delta, and MLflow when configured) and return its MaterializeResult metadata."""
    written = record_experiment(store, run)
    curve = loss_curve_png(run.history)
    metadata: dict[str, Any] = {
        "experiment_run_id": dg.MetadataValue.text(run.run_id),
        "experiment_status": dg.MetadataValue.text(run.status),
        "params": dg.MetadataValue.md(markdown_table(["param", "value"], _sorted_rows(run.params, _format_param))),
        **{f"final_{k}": _metadata_float(v) for k, v in sorted(run.metrics.items()) if _is_number(v)},
        "wall_seconds": _metadata_float(run.wall_seconds),
        "wall_time": dg.MetadataValue.text(format_duration(run.wall_seconds)),
        "environment": dg.MetadataValue.md(markdown_table(["key", "value"], _sorted_rows(run.environment, str))),
        "inputs": dg.MetadataValue.json(_jsonable(run.inputs)),
        **_input_versions(run.inputs),
        "loss_curve": dg.MetadataValue.md(markdown_image(curve, f"{run.asset} loss")),
        "comparison": dg.MetadataValue.md(comparison_markdown(store, run.asset, run.run_id, tracking.compare_last)),
        "experiments_delta_version": dg.MetadataValue.int(written.version),
        "experiments_table": dg.MetadataValue.path(written.uri),
    }
    if run.tokens_per_second is not None:
        metadata["tokens_per_second"] = _metadata_float(run.tokens_per_second)
    if run.model_path:
        metadata["model_path"] = dg.MetadataValue.path(run.model_path)
    if run.model_bytes is not None:
        metadata["model_bytes"] = dg.MetadataValue.int(run.model_bytes)
    ref = _log_mlflow(tracking, run, artifacts, curve)
    if ref is not None:
        metadata["mlflow_run_id"] = dg.MetadataValue.text(ref.run_id)
        metadata["mlflow_experiment_id"] = dg.MetadataValue.text(ref.experiment_id)
        if ref.url:
            metadata["mlflow_run_url"] = dg.MetadataValue.url(ref.url)
    return metadata


def _input_versions(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """`input_<table>_version` for integer (Delta) versions, as every asset records them; others as text."""
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        if isinstance(value, int) and not isinstance(value, bool):
            out[f"input_{key}_version"] = dg.MetadataValue.int(value)
        elif value is not None:
            out[f"input_{key}"] = dg.MetadataValue.text(_format_param(value))
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


def _sorted_rows(values: Mapping[str, Any], fmt: Any) -> list[tuple[str, str]]:
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
    return f"{value:g}" if isinstance(value, float) else _format_param(value)


def _format_param(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(_jsonable(value), sort_keys=True)


def _format_inputs(inputs: Mapping[str, Any]) -> str:
    """`name=value` pairs; hashes shortened to 12 characters so the table stays readable."""

    def short(value: Any) -> str:
        text = _format_param(value)
        return text[:12] + "…" if len(text) > 16 else text

    return ", ".join(f"{k}={short(v)}" for k, v in sorted(inputs.items())) or "–"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so paths, datetimes etc. become plain strings."""
    return json.loads(json.dumps(value, default=str))


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


__all__ = [
    "EXPERIMENTS",
    "ExperimentRun",
    "MlflowUnavailableError",
    "comparison_markdown",
    "environment_info",
    "experiment_metadata",
    "experiment_run_id",
    "format_duration",
    "log_to_mlflow",
    "loss_curve_markdown",
    "loss_curve_png",
    "record_experiment",
]
