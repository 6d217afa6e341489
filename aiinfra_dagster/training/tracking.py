"""Experiment tracking for training assets: the run record and the `experiments` Delta table.

Every training materialization becomes one `ExperimentRun`: parameters, per-step
metrics, wall time, throughput, environment and the exact input versions. It is
kept in the `experiments` Delta table (keyed by a fingerprint of params and
inputs, so re-materializing the same thing updates its row instead of adding
one). The asset records it here, mirrors it to MLflow when a tracking URI is
configured (`tracking_mlflow`) and turns it into metadata (`tracking_render`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from aiinfra_dagster.lakehouse import DeltaStore, WriteResult
from aiinfra_dagster.training.tables import EXPERIMENTS

LOSS_METRICS = ("loss", "eval_loss")
_LIBRARIES = ("torch", "transformers", "peft", "deepspeed", "accelerate", "dagster")


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
    payload = canonical_json({"asset": asset, "params": params, "inputs": inputs})
    return f"{asset}:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


def short_run_id(run_id: str) -> str:
    """The first 8 characters of the fingerprint in `<asset>:<hex>` (or `<asset>-<hex>`)."""
    return re.split(r"[:/-]", run_id)[-1][:8]


def metric_series(history: Iterable[Mapping[str, Any]], metric: str) -> list[tuple[int, float]]:
    """(step, value) pairs of one metric in step order; entries without it are skipped."""
    points = [(int(e["step"]), float(e[metric])) for e in history if is_number(e.get(metric))]
    return sorted(points, key=lambda p: p[0])


@dataclass(frozen=True)
class MlflowRef:
    """Where `tracking_mlflow.log_to_mlflow` mirrored a run."""

    run_id: str
    experiment_id: str
    url: str | None


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
    import torch  # local import: optional and heavy; the Dagster definitions import this module at load

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
        "params": canonical_json(run.params),
        "metrics": canonical_json(run.metrics),
        "history": canonical_json(run.history),
        "environment": canonical_json(run.environment),
        "inputs": canonical_json(run.inputs),
    }


def record_experiment(store: DeltaStore, run: ExperimentRun) -> WriteResult:
    """Upsert the run by `run_id`: a re-record updates its row (no commit if nothing changed)."""
    return store.merge(EXPERIMENTS, EXPERIMENTS.conform([experiment_row(run)]))


def compared_runs(store: DeltaStore, asset: str, current_run_id: str, last: int) -> list[ExperimentRun]:
    """The recorded current run, then up to `last` earlier runs of the same asset, newest first."""
    runs = store.read(EXPERIMENTS).filter(pl.col("asset") == asset)
    current = runs.filter(pl.col("run_id") == current_run_id)
    if current.is_empty():
        raise ValueError(f"run {current_run_id!r} of {asset!r} is not in the experiments table; record it first")
    earlier = (
        runs.filter((pl.col("run_id") != current_run_id) & (pl.col("started_at") <= current["started_at"][0]))
        .sort(["started_at", "run_id"], descending=True)
        .head(max(last, 0))
    )
    return [ExperimentRun.from_row(r) for r in pl.concat([current, earlier]).iter_rows(named=True)]


# --------------------------------------------------------------------------- values as text (shared with render/mlflow)


def format_param(value: Any) -> str:
    """A parameter as text: strings as they are, anything else as sorted JSON."""
    return value if isinstance(value, str) else json.dumps(jsonable(value), sort_keys=True)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def jsonable(value: Any) -> Any:
    """Round-trip through JSON so paths, datetimes etc. become plain strings."""
    return json.loads(json.dumps(value, default=str))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


__all__ = [
    "EXPERIMENTS",
    "LOSS_METRICS",
    "ExperimentRun",
    "MlflowRef",
    "compared_runs",
    "environment_info",
    "experiment_row",
    "experiment_run_id",
    "metric_series",
    "record_experiment",
    "short_run_id",
]
