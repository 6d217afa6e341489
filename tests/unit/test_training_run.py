"""The training entries' experiment records and the training assets' metadata, on a real Delta table and a real
Dagster materialization (the models themselves are trained in test_sft.py, test_classifier.py and the integration
tests; here their results are given)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.settings import ClassifierSettings, TrackingSettings, TrainingSettings
from aiinfra_dagster.training.checkpoints import FineTune, FittedClassifier
from aiinfra_dagster.training.classifier import ClassifierResult
from aiinfra_dagster.training.classifier_data import ClassifierData
from aiinfra_dagster.training.render import lora_checkpoint_metadata, per_class_markdown, topic_classifier_metadata
from aiinfra_dagster.training.run import (
    LoraCheckpoint,
    TopicClassifier,
    classifier_experiment_run,
    lora_experiment_run,
    track_experiment,
)
from aiinfra_dagster.training.sft import SftResult
from aiinfra_dagster.training.tables import EXPERIMENTS
from tests.unit.test_tracking import history

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PER_CLASS = [
    {"class": "net", "support": 4, "precision": 0.75, "recall": 1.0, "f1": 6 / 7, "seen_in_training": True},
    {"class": "gui", "support": 1, "precision": 0.0, "recall": 0.0, "f1": 0.0, "seen_in_training": False},
]


@pytest.fixture
def store(tmp_path: Path) -> DeltaStore:
    return DeltaStore(str(tmp_path / "lake"))


def fine_tune_result(
    tmp_path: Path, *, resumed_from_step: int | None = None, eval_loss: float | None = 0.5
) -> FineTune:
    output = tmp_path / "lora_checkpoint" / "abc123"
    (output / "adapter").mkdir(parents=True)
    (output / "adapter" / "adapter_model.safetensors").write_bytes(b"\0" * 1000)
    (output / "result.json").write_text("{}")
    result = SftResult(
        output_dir=output,
        adapter_dir=output / "adapter",
        merged_dir=None,
        history=history(),
        steps=8,
        train_loss=0.42,
        eval_loss=eval_loss,
        tokens_seen=4000,
        train_seconds=2.0,
        resumed_from_step=resumed_from_step,
        train_examples=12,
        eval_examples=3,
        truncated_examples=1,
    )
    return FineTune("abc123", output, result, reused=False, deepspeed_config=None)


def fitted_classifier(tmp_path: Path) -> FittedClassifier:
    result = ClassifierResult(
        output_dir=tmp_path / "topic_classifier" / "def456",
        classes=["gui", "net"],
        accuracy=0.8,
        macro_f1=0.43,
        agreement_with_labels=0.6,
        label_model_accuracy=0.4,
        label_model_macro_f1=0.3,
        per_class=PER_CLASS,
        history=[{"step": 1, "loss": 1.2}, {"step": 2, "loss": 0.9}],
        train_examples=20,
        eval_examples=5,
        wall_seconds=3.5,
        train_seconds=2.5,
        train_tokens_per_second=900.0,
        size_bytes=2048,
        scored_documents=2,
        unseen_reference_labels=["gui"],
    )
    return FittedClassifier("def456", result, reused=True)


def test_the_lora_run_records_what_was_trained_on_what(tmp_path):
    tuned = fine_tune_result(tmp_path)
    inputs = {"training_set": 4, "base_model_sha256": "f" * 64}
    run = lora_experiment_run(
        tuned, TrainingSettings(), inputs=inputs, dagster_run_id="r1", started_at=T0, wall_seconds=9.5
    )
    assert run.run_id == "lora_checkpoint-abc123" and run.asset == "lora_checkpoint" and run.status == "completed"
    assert run.params["deepspeed"] is False and "lora" in run.params and "save_steps" in run.params
    assert run.metrics == {"train_loss": 0.42, "eval_loss": 0.5}
    assert run.tokens_per_second == 2000.0 and run.wall_seconds == 9.5 and run.inputs == inputs
    assert run.model_path == str(tuned.output_dir) and run.model_bytes == 1002  # every file under the checkpoint

    resumed = lora_experiment_run(
        fine_tune_result(tmp_path / "again", resumed_from_step=4, eval_loss=None),
        TrainingSettings(),
        inputs=inputs,
        dagster_run_id="r2",
        started_at=T0,
        wall_seconds=1.0,
    )
    assert resumed.status == "resumed" and resumed.metrics == {"train_loss": 0.42}  # no eval loss, no metric


def test_the_classifier_run_records_its_scores_against_the_reference(tmp_path):
    trained = fitted_classifier(tmp_path)
    run = classifier_experiment_run(
        trained, ClassifierSettings(), inputs={"chunk_labels": 3}, dagster_run_id="r1", started_at=T0
    )
    assert run.run_id == "topic_classifier-def456" and run.wall_seconds == 3.5 and run.model_bytes == 2048
    assert run.metrics == {
        "accuracy": 0.8,
        "macro_f1": 0.43,
        "label_model_accuracy": 0.4,
        "label_model_macro_f1": 0.3,
        "agreement_with_labels": 0.6,
    }
    assert run.tokens_per_second == 900.0 and run.params == ClassifierSettings().model_dump(mode="json")


def test_tracking_records_then_compares_and_needs_no_mlflow_without_a_uri(tmp_path, store):
    run = lora_experiment_run(
        fine_tune_result(tmp_path), TrainingSettings(), inputs={}, dagster_run_id="r1", started_at=T0, wall_seconds=1
    )
    tracked = track_experiment(store, TrackingSettings(), run)
    assert tracked.mlflow is None and tracked.written.version == store.version("experiments")
    assert [r.run_id for r in tracked.compared] == [run.run_id]
    assert store.read(EXPERIMENTS)["run_id"].to_list() == [run.run_id]


def test_training_metadata_is_accepted_by_a_real_dagster_materialization(tmp_path, store):
    tuned = fine_tune_result(tmp_path)
    inputs = {"training_set": 4, "base_model_sha256": "f" * 64}
    lora_run = lora_experiment_run(
        tuned, TrainingSettings(), inputs=inputs, dagster_run_id="r1", started_at=T0, wall_seconds=9.5
    )
    lora = LoraCheckpoint(tuned, 4, "f" * 64, track_experiment(store, TrackingSettings(), lora_run))
    trained = fitted_classifier(tmp_path)
    data = ClassifierData(
        ["gui", "net"],
        pl.DataFrame(),
        pl.DataFrame(),
        train_documents=6,
        eval_documents=2,
        skipped_low_confidence=0,
        skipped_by_sample=0,
    )
    classifier_inputs: dict[str, int | None] = {"chunk_labels": 3, "document_chunks": 5}
    classifier_run = classifier_experiment_run(
        trained, ClassifierSettings(), inputs=classifier_inputs, dagster_run_id="r1", started_at=T0
    )
    classifier = TopicClassifier(
        trained, data, classifier_inputs, track_experiment(store, TrackingSettings(), classifier_run)
    )

    @dg.multi_asset(specs=[dg.AssetSpec("lora_checkpoint"), dg.AssetSpec("topic_classifier")])
    def both():
        yield dg.MaterializeResult(asset_key="lora_checkpoint", metadata=lora_checkpoint_metadata(lora))
        yield dg.MaterializeResult(asset_key="topic_classifier", metadata=topic_classifier_metadata(classifier))

    result = dg.materialize([both])
    assert result.success
    meta = result.asset_materializations_for_node("both")
    lora_meta, classifier_meta = (m.metadata for m in sorted(meta, key=lambda m: m.asset_key.to_user_string()))
    assert lora_meta["model_version"].value == "abc123" and lora_meta["steps"].value == 8
    assert lora_meta["merged_model_path"].value == "" and lora_meta["resumed_from_step"].value == 0
    assert lora_meta["input_training_set_version"].value == 4 and lora_meta["deepspeed"].value == {}
    assert lora_meta["experiment_run_id"].value == "lora_checkpoint-abc123"
    assert lora_meta["model_path"].value == str(tuned.output_dir)
    assert classifier_meta["reused_finished_model"].value is True and classifier_meta["classes"].value == 2
    assert classifier_meta["train_documents"].value == 6 and classifier_meta["held_out_documents"].value == 2
    assert classifier_meta["reference_classes_never_trained"].value == ["gui"]
    assert classifier_meta["input_chunk_labels_version"].value == 3
    assert classifier_meta["final_accuracy"].value == 0.8 and "| net | 4 |" in classifier_meta["per_class"].value


def test_per_class_scores_as_a_table():
    lines = per_class_markdown(PER_CLASS).splitlines()
    assert lines[0] == "| class | support | precision | recall | F1 | seen in training |"
    assert lines[2:] == ["| net | 4 | 0.750 | 1.000 | 0.857 | True |", "| gui | 1 | 0.000 | 0.000 | 0.000 | False |"]
