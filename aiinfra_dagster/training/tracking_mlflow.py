"""The MLflow mirror of the `experiments` table, used only when `tracking.mlflow_tracking_uri` is set.

One MLflow run per experiment `run_id`: a re-materialization reuses it and only adds what is new
(MLflow params are immutable; repeated steps would be stored twice). MLflow is imported lazily:
nothing here needs it installed unless a tracking URI is configured.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiinfra_dagster.settings import TrackingSettings
from aiinfra_dagster.training.tracking import ExperimentRun, MlflowRef, format_param, is_number
from aiinfra_dagster.training.tracking_render import loss_curve_png

_MLFLOW_PARAM_MAX = 6000  # MLflow 3 limit on a param value
_MLFLOW_TAG_MAX = 5000


class MlflowUnavailableError(RuntimeError):
    """A tracking URI is configured but the mlflow package cannot be imported."""


def log_to_mlflow(tracking: TrackingSettings, run: ExperimentRun, artifacts: Sequence[Path] = ()) -> MlflowRef | None:
    """Log the run to MLflow when `tracking.mlflow_tracking_uri` is set; where it went, else None."""
    uri = tracking.mlflow_tracking_uri
    if not uri:
        return None
    client = _mlflow_client(uri)
    from mlflow.entities import Metric, Param, RunTag  # local import: optional package, needed only with a URI

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
        Param(k, _truncate(format_param(v), _MLFLOW_PARAM_MAX))
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
        curve.write_bytes(loss_curve_png(run.history))
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


def _mlflow_client(uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient  # local import: optional package, needed only with a URI
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != "mlflow":
            raise
        raise MlflowUnavailableError(
            f"settings tracking.mlflow_tracking_uri is set ({uri!r}) but the mlflow package is not installed: "
            "`pip install mlflow-skinny` (or unset tracking.mlflow_tracking_uri to track in Delta only)"
        ) from exc
    return MlflowClient(tracking_uri=uri)


def _mlflow_experiment_id(client: Any, name: str, artifact_location: str | None) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return str(client.create_experiment(name, artifact_location=artifact_location))
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return str(experiment.experiment_id)


def _mlflow_tags(run: ExperimentRun) -> dict[str, str]:
    tags = {
        "aiinfra.run_id": run.run_id,
        "aiinfra.asset": run.asset,
        "aiinfra.status": run.status,
        "dagster.run_id": run.dagster_run_id,
    }
    if run.model_path:
        tags["aiinfra.model_path"] = run.model_path
    tags.update({f"input.{k}": format_param(v) for k, v in run.inputs.items()})
    return {k: _truncate(v, _MLFLOW_TAG_MAX) for k, v in tags.items()}


def _mlflow_metrics(run: ExperimentRun) -> list[tuple[str, float, int]]:
    """(key, value, step): every numeric history value, then final figures at the last step."""
    out: dict[tuple[str, int], float] = {}
    for entry in run.history:
        step = int(entry["step"])
        for key, value in entry.items():
            if key != "step" and is_number(value):
                out.setdefault((key, step), float(value))
    last_step = max((int(e["step"]) for e in run.history), default=0)
    finals = dict(run.metrics)
    finals["wall_seconds"] = run.wall_seconds
    if run.tokens_per_second is not None:
        finals["tokens_per_second"] = run.tokens_per_second
    for key, value in finals.items():
        if is_number(value):
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


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


__all__ = ["MlflowRef", "MlflowUnavailableError", "log_to_mlflow"]
