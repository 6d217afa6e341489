"""The training stage's entries: the LoRA checkpoint (lora_checkpoint) and the topic classifier (topic_classifier).

Each trains (or reuses) its model, records the run as an `ExperimentRun` (the `experiments` Delta table, and MLflow
when `tracking.mlflow_tracking_uri` is set) and returns a typed outcome the asset turns into metadata
(`training/render.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS
from aiinfra_dagster.labels.tables import CHUNK_LABELS
from aiinfra_dagster.lakehouse import DeltaStore, WriteResult
from aiinfra_dagster.models.embedding import model_fingerprint
from aiinfra_dagster.models.files import directory_bytes
from aiinfra_dagster.settings import ClassifierSettings, Settings, TrackingSettings, TrainingSettings
from aiinfra_dagster.synthetic.tables import TRAINING_SET
from aiinfra_dagster.training.base_model import configured_base_model
from aiinfra_dagster.training.checkpoints import FineTune, FittedClassifier, fine_tune, fit_topic_classifier
from aiinfra_dagster.training.classifier_data import ClassifierData, classifier_examples
from aiinfra_dagster.training.tracking import (
    ExperimentRun,
    MlflowRef,
    compared_runs,
    environment_info,
    record_experiment,
)
from aiinfra_dagster.training.tracking_mlflow import log_to_mlflow


@dataclass(frozen=True)
class TrackedRun:
    """An experiment run as recorded: its `experiments` write, the runs it is compared with (itself first), and
    the MLflow run (None when no tracking URI is configured)."""

    run: ExperimentRun
    written: WriteResult
    compared: list[ExperimentRun]
    mlflow: MlflowRef | None


def track_experiment(store: DeltaStore, tracking: TrackingSettings, run: ExperimentRun) -> TrackedRun:
    """Record the run in `experiments`, mirror it to MLflow, then read the runs to compare it with."""
    written = record_experiment(store, run)
    mlflow_run = log_to_mlflow(tracking, run)
    compared = compared_runs(store, run.asset, run.run_id, tracking.compare_last)
    return TrackedRun(run, written, compared, mlflow_run)


# --------------------------------------------------------------------------- lora_checkpoint


@dataclass(frozen=True)
class LoraCheckpoint:
    """One lora_checkpoint run: the fine-tune (trained, resumed or reused), its input versions, the recorded run."""

    tuned: FineTune
    training_set_version: int | None
    base_model_sha256: str
    tracked: TrackedRun


def lora_experiment_run(
    tuned: FineTune,
    training: TrainingSettings,
    *,
    inputs: Mapping[str, Any],
    dagster_run_id: str,
    started_at: datetime,
    wall_seconds: float,
) -> ExperimentRun:
    """The experiment record of a fine-tune; `wall_seconds` is this step's time (the original one when reused)."""
    result = tuned.result
    return ExperimentRun(
        run_id=f"lora_checkpoint-{tuned.fingerprint}",
        asset="lora_checkpoint",
        dagster_run_id=dagster_run_id,
        started_at=started_at,
        wall_seconds=wall_seconds,
        params={
            **training.model_dump(mode="json", exclude={"deepspeed"}),
            "deepspeed": tuned.deepspeed_config is not None,
        },
        metrics={
            k: float(v)
            for k, v in {"train_loss": result.train_loss, "eval_loss": result.eval_loss}.items()
            if v is not None
        },
        history=result.history,
        tokens_per_second=result.tokens_per_second,
        environment=environment_info(),
        inputs=dict(inputs),
        model_path=str(tuned.output_dir),
        model_bytes=directory_bytes(tuned.output_dir),
        status="resumed" if result.resumed_from_step else "completed",
    )


def produce_lora_checkpoint(
    settings: Settings, store: DeltaStore, *, dagster_run_id: str, log: Callable[[str], Any] = print
) -> LoraCheckpoint:
    """Fine-tune the base model on training_set (or resume, or reuse the finished checkpoint) and record the run."""
    started_at, started = datetime.now(UTC), time.perf_counter()
    training_set_version = store.version(TRAINING_SET.name)
    examples = store.read(TRAINING_SET)
    base = configured_base_model(settings.models)
    tuned = fine_tune(base, examples, training=settings.training, k8s=settings.k8s, model_store=settings.model_store)
    result = tuned.result
    log(
        f"lora_checkpoint {tuned.fingerprint}: {'reused' if tuned.reused else 'trained'} {result.steps} steps"
        + (f", resumed from step {result.resumed_from_step}" if result.resumed_from_step else "")
    )
    base_sha256 = base.manifest.source_sha256
    run = lora_experiment_run(
        tuned,
        settings.training,
        inputs={"training_set": training_set_version, "base_model_sha256": base_sha256},
        dagster_run_id=dagster_run_id,
        started_at=started_at,
        wall_seconds=time.perf_counter() - started if not tuned.reused else result.train_seconds,
    )
    return LoraCheckpoint(tuned, training_set_version, base_sha256, track_experiment(store, settings.tracking, run))


# --------------------------------------------------------------------------- topic_classifier


@dataclass(frozen=True)
class TopicClassifier:
    """One topic_classifier run: the model (trained or reused), its data split, input versions, the recorded run."""

    trained: FittedClassifier
    data: ClassifierData
    inputs: dict[str, int | None]
    tracked: TrackedRun


def classifier_experiment_run(
    trained: FittedClassifier,
    classifier: ClassifierSettings,
    *,
    inputs: Mapping[str, Any],
    dagster_run_id: str,
    started_at: datetime,
) -> ExperimentRun:
    """The experiment record of a fitted topic classifier: its scores against the reference labels as metrics."""
    result = trained.result
    return ExperimentRun(
        run_id=f"topic_classifier-{trained.fingerprint}",
        asset="topic_classifier",
        dagster_run_id=dagster_run_id,
        started_at=started_at,
        wall_seconds=result.wall_seconds,
        params=classifier.model_dump(mode="json"),
        metrics={
            "accuracy": result.accuracy,
            "macro_f1": result.macro_f1,
            "label_model_accuracy": result.label_model_accuracy,
            "label_model_macro_f1": result.label_model_macro_f1,
            "agreement_with_labels": result.agreement_with_labels,
        },
        history=result.history,
        tokens_per_second=result.train_tokens_per_second,
        environment=environment_info(),
        inputs=dict(inputs),
        model_path=str(result.output_dir),
        model_bytes=result.size_bytes,
    )


def produce_topic_classifier(
    settings: Settings,
    store: DeltaStore,
    *,
    model_dir: Path,
    dagster_run_id: str,
    log: Callable[[str], Any] = print,
) -> TopicClassifier:
    """Train the classifier on the embedding model in `model_dir` (or reuse it) and record the run."""
    started_at = datetime.now(UTC)
    inputs = {t.name: store.version(t.name) for t in (CHUNK_LABELS, DOCUMENT_CHUNKS)}
    data = classifier_examples(store.read(CHUNK_LABELS), store.read(DOCUMENT_CHUNKS), settings.classifier)
    trained = fit_topic_classifier(model_dir, data, classifier=settings.classifier, model_store=settings.model_store)
    log(f"topic_classifier {trained.fingerprint}: {'reused' if trained.reused else 'trained'}")
    run = classifier_experiment_run(
        trained,
        settings.classifier,
        # the encoder's content hash, as EmbeddingModelResource.encoder_id() gives it
        inputs={**inputs, "embedding_model_sha": model_fingerprint(model_dir)},
        dagster_run_id=dagster_run_id,
        started_at=started_at,
    )
    return TopicClassifier(trained, data, inputs, track_experiment(store, settings.tracking, run))
