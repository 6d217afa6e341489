"""Experiment tracking against a real Delta table, real matplotlib, a real Dagster run and a real MLflow store."""

import base64
import io
import json
import math
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from PIL import Image

from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.settings import TrackingSettings
from aiinfra_dagster.training.tables import EXPERIMENTS
from aiinfra_dagster.training.tracking import (
    ExperimentRun,
    compared_runs,
    environment_info,
    experiment_run_id,
    record_experiment,
)
from aiinfra_dagster.training.tracking_mlflow import MlflowUnavailableError, log_to_mlflow
from aiinfra_dagster.training.tracking_render import (
    comparison_markdown,
    experiment_metadata,
    loss_curve_markdown,
    loss_curve_png,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def history(steps: int = 8, eval_every: int = 4, start: float = 3.0) -> list[dict]:
    entries: list[dict] = []
    for step in range(1, steps + 1):
        loss = start * math.exp(-step / max(steps / 3, 1))
        entries.append({"step": step, "epoch": step / steps, "loss": loss, "learning_rate": 1e-4, "grad_norm": 0.8})
        if step % eval_every == 0:
            entries.append({"step": step, "epoch": step / steps, "eval_loss": loss * 1.1})
    return entries


def make_run(
    lr: float = 1e-4, *, started_at: datetime = T0, asset: str = "lora_checkpoint", training_set: int = 7, **fields
) -> ExperimentRun:
    defaults = dict(
        dagster_run_id="dagster-run-1",
        started_at=started_at,
        wall_seconds=92.5,
        metrics={"loss": 0.42, "eval_loss": 0.5},
        history=history(),
        tokens_per_second=1234.5,
        environment={"torch": "2.13.0+cpu", "device": "cpu"},
        model_path="/models/lora/abc",
        model_bytes=1_048_576,
    )
    defaults.update(fields)
    return ExperimentRun.create(
        asset=asset,
        params={"learning_rate": lr, "lora_r": 8, "epochs": 1},
        inputs={"training_set": training_set, "base_model_sha256": "f" * 64},
        **defaults,
    )


@pytest.fixture
def store(tmp_path: Path) -> DeltaStore:
    return DeltaStore(str(tmp_path / "lake"))


def recorded_metadata(run: ExperimentRun, store: DeltaStore, tracking: TrackingSettings) -> dict:
    """What a training asset does: record the run, mirror it to MLflow, then build its metadata."""
    written = record_experiment(store, run)
    mlflow_run = log_to_mlflow(tracking, run)
    compared = compared_runs(store, run.asset, run.run_id, tracking.compare_last)
    return experiment_metadata(run, written, compared, mlflow_run)


def test_run_id_is_derived_from_params_and_inputs_only():
    a = make_run()
    same = ExperimentRun.create(
        asset="lora_checkpoint",
        params={"epochs": 1, "lora_r": 8, "learning_rate": 0.0001},  # other order, same values
        inputs={"base_model_sha256": "f" * 64, "training_set": 7},
        dagster_run_id="another-run",
        started_at=T0 + timedelta(days=1),
        wall_seconds=1.0,
        metrics={},
        history=[],
    )
    assert same.run_id == a.run_id and a.run_id.startswith("lora_checkpoint:")
    assert make_run(lr=2e-4).run_id != a.run_id
    assert make_run(training_set=8).run_id != a.run_id
    assert make_run(asset="topic_classifier").run_id != a.run_id
    assert experiment_run_id("x", {"a": 1}, {}) == experiment_run_id("x", {"a": 1}, {})
    assert a.short_id == a.run_id.split(":")[1][:8]
    assert replace(a, run_id="lora_checkpoint-0123456789abcdef").short_id == "01234567"


def test_started_at_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        make_run(started_at=datetime(2026, 3, 1, 12, 0))


def test_recording_the_same_run_twice_keeps_one_row_and_updates_it(store):
    run = make_run()
    first = record_experiment(store, run)
    assert (first.inserted, first.row_count) == (1, 1)

    again = record_experiment(store, run)
    assert not again.committed and again.version == first.version

    resumed = replace(
        run,
        dagster_run_id="dagster-run-2",
        wall_seconds=120.0,
        status="resumed",
        history=history(steps=12),
        metrics={"loss": 0.3, "eval_loss": 0.4},
    )
    updated = record_experiment(store, resumed)
    assert (updated.inserted, updated.updated, updated.row_count) == (0, 1, 1)

    table = store.read(EXPERIMENTS)
    assert table.height == 1
    row = table.row(0, named=True)
    assert (row["dagster_run_id"], row["status"], row["wall_seconds"]) == ("dagster-run-2", "resumed", 120.0)
    assert (row["final_loss"], row["eval_loss"], row["tokens_per_second"]) == (0.3, 0.4, 1234.5)
    assert len(json.loads(row["history"])) == len(history(steps=12))
    assert ExperimentRun.from_row(row) == resumed


def test_flat_losses_fall_back_to_the_last_logged_step(store):
    run = make_run(asset="topic_classifier", metrics={"accuracy": 0.81, "macro_f1": 0.77}, tokens_per_second=None)
    record_experiment(store, run)
    row = store.read(EXPERIMENTS).row(0, named=True)
    assert row["final_loss"] == pytest.approx(history()[-2]["loss"])  # last train entry (the final one is eval)
    assert row["eval_loss"] == pytest.approx(history()[-1]["eval_loss"])
    assert row["tokens_per_second"] is None
    assert json.loads(row["metrics"]) == {"accuracy": 0.81, "macro_f1": 0.77}


def test_comparison_lists_runs_newest_first_with_current_marked(store):
    old = make_run(lr=1e-4, started_at=T0)
    new = make_run(lr=3e-4, started_at=T0 + timedelta(hours=1), wall_seconds=3725.0, training_set=8)
    other_asset = make_run(asset="topic_classifier", started_at=T0 + timedelta(minutes=30))
    for run in (old, new, other_asset):
        record_experiment(store, run)

    table = comparison_markdown(compared_runs(store, "lora_checkpoint", new.run_id, last=5))
    lines = table.splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert "learning_rate" in header and "lora_r" not in header  # only params that differ
    assert "final loss" in header and "tokens/s" in header and "inputs" in header
    body = lines[2:]
    assert len(body) == 2  # the other asset's run is not compared
    assert body[0].startswith("| **current**") and new.short_id in body[0] and "0.0003" in body[0]
    assert old.short_id in body[1] and "**current**" not in body[1] and "0.0001" in body[1]
    assert "1h 02m" in body[0] and "1m 32s" in body[1]
    assert "training_set=8" in body[0] and "training_set=7" in body[1]
    assert "base_model_sha256=ffffffffffff…" in body[0]


def test_comparison_shows_only_earlier_runs_and_at_most_last(store):
    runs = [make_run(lr=i * 1e-4, started_at=T0 + timedelta(hours=i)) for i in range(1, 5)]
    for run in runs:
        record_experiment(store, run)
    middle = comparison_markdown(compared_runs(store, "lora_checkpoint", runs[2].run_id, last=1))
    assert runs[2].short_id in middle and runs[1].short_id in middle
    assert runs[0].short_id not in middle and runs[3].short_id not in middle  # too old / later than current

    alone = comparison_markdown(compared_runs(store, "lora_checkpoint", runs[0].run_id, last=5))
    assert "No earlier runs" in alone
    with pytest.raises(ValueError, match="record it first"):
        compared_runs(store, "lora_checkpoint", "lora_checkpoint:unknown", last=5)


def test_loss_curve_is_a_small_png_embedded_in_markdown():
    long = history(steps=2000, eval_every=100)
    png = loss_curve_png(long)
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) < 60_000
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (480, 240)  # 6x3 inches at 80 dpi

    md = loss_curve_markdown(long, "lora [r=8] loss")
    prefix = "![lora (r=8) loss](data:image/png;base64,"
    assert md.startswith(prefix) and md.endswith(")")
    assert base64.b64decode(md[len(prefix) : -1]) == png


def test_loss_curve_without_metrics_is_still_an_image():
    png = loss_curve_png([{"step": 1, "epoch": 0.1, "learning_rate": 1e-4}])
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (480, 240)


def test_environment_reports_versions_device_and_threads():
    env = environment_info()
    expected = {
        "python",
        "platform",
        "cpu_count",
        "torch",
        "transformers",
        "peft",
        "deepspeed",
        "dagster",
        "accelerate",
        "device",
        "torch_threads",
    }
    assert expected <= set(env)
    assert all(isinstance(v, str) and v for v in env.values())
    assert env["python"] == f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    assert env["dagster"] == dg.__version__
    assert int(env["cpu_count"]) >= 1 and int(env["torch_threads"]) >= 1
    assert environment_info(device="cpu")["device"] == "cpu"


def test_experiment_metadata_is_accepted_by_a_real_dagster_materialization(store):
    record_experiment(store, make_run(lr=1e-4, started_at=T0))
    run = make_run(lr=2e-4, started_at=T0 + timedelta(hours=1), environment=environment_info())
    metadata = recorded_metadata(run, store, TrackingSettings())

    @dg.asset(name="lora_checkpoint")
    def tiny() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=metadata)

    result = dg.materialize([tiny])
    assert result.success
    recorded = result.asset_materializations_for_node("lora_checkpoint")[0].metadata
    assert isinstance(recorded["loss_curve"], dg.MarkdownMetadataValue)
    assert "data:image/png;base64," in recorded["loss_curve"].value
    assert "**current**" in recorded["comparison"].value and run.short_id in recorded["comparison"].value
    assert recorded["experiments_delta_version"].value == store.version("experiments")
    assert recorded["final_loss"].value == 0.42 and recorded["tokens_per_second"].value == 1234.5
    assert recorded["input_training_set_version"].value == 7
    assert recorded["inputs"].value == {"training_set": 7, "base_model_sha256": "f" * 64}
    assert "learning_rate" in recorded["params"].value and "torch_threads" in recorded["environment"].value
    assert "mlflow_run_id" not in recorded  # no tracking URI configured
    assert store.read(EXPERIMENTS).height == 2


def test_no_tracking_uri_needs_no_mlflow(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if the package were absent
    assert log_to_mlflow(TrackingSettings(), make_run()) is None


def test_missing_mlflow_names_the_setting_and_the_package(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if never installed, even when imported before
    monkeypatch.setitem(sys.modules, "mlflow", None)
    tracking = TrackingSettings(mlflow_tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    with pytest.raises(MlflowUnavailableError, match=r"tracking\.mlflow_tracking_uri.*pip install mlflow-skinny"):
        log_to_mlflow(tracking, make_run())


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory):
    """One local sqlite store for the module: creating its schema takes most of an MLflow test's time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        from mlflow.tracking import MlflowClient

        uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"
        MlflowClient(tracking_uri=uri).search_experiments()
        yield uri


@pytest.fixture
def mlflow_tracking(mlflow_uri: str, request: pytest.FixtureRequest, monkeypatch) -> TrackingSettings:
    """An MLflow experiment of its own per test, in the shared local store."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    return TrackingSettings(mlflow_tracking_uri=mlflow_uri, mlflow_experiment=request.node.name)


def test_logs_a_run_to_a_local_mlflow_store_and_reads_it_back(mlflow_tracking, tmp_path):
    from mlflow.tracking import MlflowClient

    extra = tmp_path / "adapter_config.json"
    extra.write_text('{"r": 8}')
    run = make_run(lr=2e-4)
    ref = log_to_mlflow(mlflow_tracking, run, artifacts=[extra])
    assert ref is not None and ref.run_id
    mlflow_id = ref.run_id

    client = MlflowClient(tracking_uri=mlflow_tracking.mlflow_tracking_uri)
    got = client.get_run(mlflow_id)
    assert got.info.status == "FINISHED"
    assert client.get_experiment(got.info.experiment_id).name == mlflow_tracking.mlflow_experiment
    assert got.data.params == {"learning_rate": "0.0002", "lora_r": "8", "epochs": "1"}
    assert got.data.tags["aiinfra.run_id"] == run.run_id
    assert got.data.tags["aiinfra.asset"] == "lora_checkpoint"
    assert got.data.tags["dagster.run_id"] == "dagster-run-1"
    assert got.data.tags["input.training_set"] == "7"
    losses = sorted((m.step, m.value) for m in client.get_metric_history(mlflow_id, "loss"))
    assert losses == [(e["step"], pytest.approx(e["loss"])) for e in run.history if "loss" in e]
    assert [m.step for m in client.get_metric_history(mlflow_id, "eval_loss")] == [4, 8]
    assert got.data.metrics["tokens_per_second"] == 1234.5
    artifacts = {a.path for a in client.list_artifacts(mlflow_id)}
    assert {"loss_curve.png", "environment.json", "adapter_config.json"} <= artifacts
    database = Path(mlflow_tracking.mlflow_tracking_uri.removeprefix("sqlite:///"))
    assert got.info.artifact_uri.startswith((database.parent / "mlflow-artifacts").as_uri())  # not ./mlruns
    curve = Path(client.download_artifacts(mlflow_id, "loss_curve.png", str(tmp_path / "dl")))
    assert curve.read_bytes().startswith(PNG_SIGNATURE)


def test_re_logging_the_same_run_reuses_the_mlflow_run_without_duplicate_steps(mlflow_tracking):
    from mlflow.tracking import MlflowClient

    run = make_run()
    first = log_to_mlflow(mlflow_tracking, run).run_id
    resumed = replace(
        run,
        history=history(steps=12),
        dagster_run_id="dagster-run-2",
        status="resumed",
        params={**run.params, "lora_r": 16, "new_knob": "on"},
    )  # e.g. a caller-chosen run_id
    second = log_to_mlflow(mlflow_tracking, resumed).run_id
    assert second == first
    params = MlflowClient(tracking_uri=mlflow_tracking.mlflow_tracking_uri).get_run(first).data.params
    assert (params["lora_r"], params["new_knob"]) == ("8", "on")  # MLflow params are immutable; new ones are added

    client = MlflowClient(tracking_uri=mlflow_tracking.mlflow_tracking_uri)
    steps = [m.step for m in client.get_metric_history(first, "grad_norm")]
    assert sorted(steps) == list(range(1, 13))  # steps 1-8 once, 9-12 added
    assert client.get_run(first).data.tags["dagster.run_id"] == "dagster-run-2"
    experiment = client.get_experiment_by_name(mlflow_tracking.mlflow_experiment)
    assert len(client.search_runs([experiment.experiment_id])) == 1


def test_experiment_metadata_includes_the_mlflow_run(mlflow_tracking, store):
    metadata = recorded_metadata(make_run(), store, mlflow_tracking)
    normalized = dg.MaterializeResult(metadata=metadata).metadata
    assert normalized["mlflow_run_id"].value
    assert "mlflow_run_url" not in normalized  # a sqlite store has no web UI to link to
