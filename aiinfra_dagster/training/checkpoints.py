"""Versioned LoRA checkpoints: one directory per (base model, training data, parameters).

The directory name is a fingerprint of everything that decides the weights,
so re-materializing with unchanged inputs reuses the finished checkpoint,
and a run that was killed finds its own checkpoints and resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import torch
from transformers import TrainerCallback

from aiinfra_dagster.models.embedding import model_fingerprint
from aiinfra_dagster.net import free_port
from aiinfra_dagster.settings import ClassifierSettings, K8sSettings, TrainingSettings
from aiinfra_dagster.settings.locations import location
from aiinfra_dagster.training.base_model import StoredBaseModel
from aiinfra_dagster.training.classifier import ClassifierResult, load_classifier_result, train_topic_classifier
from aiinfra_dagster.training.classifier_data import ClassifierData
from aiinfra_dagster.training.deepspeed_checks import checked_deepspeed_config
from aiinfra_dagster.training.launch import (
    LAUNCHER_ENV,
    launch_mode,
    single_process_env,
    torchrun_command,
)
from aiinfra_dagster.training.sft import (
    Messages,
    SftResult,
    effective_precision,
    is_complete,
    read_result,
    train_lora,
)
from aiinfra_dagster.training.worker import WorkerSpec

STORE_DIR = "lora_checkpoint"
# Settings that change how fast or where a run goes but not the weights it ends with.
NOT_IN_FINGERPRINT = {"save_steps", "save_total_limit", "logging_steps", "merge"}


@dataclass(frozen=True)
class FineTune:
    fingerprint: str
    output_dir: Path
    result: SftResult
    reused: bool
    deepspeed_config: dict[str, Any] | None


def split_messages(examples: pl.DataFrame) -> tuple[list[Messages], list[Messages]]:
    """Train and validation conversations from the training_set table, in example-id order."""
    rows = examples.sort("example_id")
    pick = lambda split: [json.loads(m) for m in rows.filter(pl.col("split") == split)["messages"]]  # noqa: E731
    return pick("train"), pick("validation")


def examples_digest(examples: pl.DataFrame) -> str:
    digest = hashlib.sha256()
    for example_id, split, messages in (
        examples.sort("example_id").select("example_id", "split", "messages").iter_rows()
    ):
        digest.update(f"{example_id}\x1f{split}\x1f{messages}\x1e".encode())
    return digest.hexdigest()


def training_fingerprint(
    base_sha256: str, examples: pl.DataFrame, params: TrainingSettings, deepspeed_config: dict[str, Any] | None
) -> str:
    decided_by = {
        "base": base_sha256,
        "examples": examples_digest(examples),
        "params": params.model_dump(mode="json", exclude=NOT_IN_FINGERPRINT | {"deepspeed"}),
        "deepspeed": deepspeed_config,
    }
    return hashlib.sha256(json.dumps(decided_by, sort_keys=True, default=str).encode()).hexdigest()[:16]


def checkpoint_dir(model_store: Path, fingerprint: str) -> Path:
    return model_store / STORE_DIR / fingerprint


def device_count(k8s: K8sSettings) -> int:
    """Accelerators this step may use: the pod's GPUs in the k8s mode, else what torch sees here."""
    return k8s.gpu_count if k8s.enabled else torch.cuda.device_count()


def resolved_deepspeed_config(params: TrainingSettings, world_size: int) -> dict[str, Any] | None:
    """The user's (or a built) DeepSpeed config, validated by DeepSpeed before any training starts."""
    if not params.deepspeed.enabled:
        return None
    # The config must agree with the precision the Trainer really gets.
    return checked_deepspeed_config(params, world_size=world_size, precision=effective_precision(params.precision))


def fine_tune(
    base: StoredBaseModel,
    examples: pl.DataFrame,
    *,
    training: TrainingSettings,
    k8s: K8sSettings,
    model_store: Path,
    callbacks: Sequence[TrainerCallback] = (),
) -> FineTune:
    """Train (or resume, or reuse) the LoRA checkpoint for these inputs, under `model_store`.

    In-process on CPU or one GPU (DeepSpeed over a one-rank gloo/nccl group); with several
    GPUs (the pod's `k8s.gpu_count` in the k8s mode), `torchrun` starts one worker per GPU inside this step's pod.
    """
    gpus = device_count(k8s)
    mode = launch_mode(training, gpus)
    world_size = max(gpus, 1) if mode == "torchrun" else 1
    ds_config = resolved_deepspeed_config(training, world_size)
    fingerprint = training_fingerprint(base.manifest.source_sha256, examples, training, ds_config)
    output_dir = checkpoint_dir(model_store, fingerprint)
    if is_complete(output_dir):
        return FineTune(fingerprint, output_dir, read_result(output_dir), True, ds_config)
    train, evaluation = split_messages(examples)
    if mode == "torchrun":
        run_torchrun(training, base, train, evaluation, output_dir, ds_config, world_size)
        return FineTune(fingerprint, output_dir, read_result(output_dir), False, ds_config)
    if ds_config is None:
        result = train_lora(base.path, train, evaluation, training, output_dir, callbacks=callbacks)
    else:
        extensions_dir = location(training.deepspeed.extensions_dir, "training.deepspeed.extensions_dir")
        with single_process_env(extensions_dir, training.deepspeed.master_port):
            result = train_lora(
                base.path, train, evaluation, training, output_dir, deepspeed_config=ds_config, callbacks=callbacks
            )
    return FineTune(fingerprint, output_dir, result, False, ds_config)


def run_torchrun(
    training: TrainingSettings,
    base: StoredBaseModel,
    train: list[Messages],
    evaluation: list[Messages],
    output_dir: Path,
    ds_config: dict[str, Any] | None,
    nproc: int,
) -> None:
    """One training process per device via torchrun; rank 0 writes the finished checkpoint."""
    spec = WorkerSpec.build(
        base.path,
        train,
        evaluation,
        training,
        output_dir,
        deepspeed_config=ds_config,
        extensions_dir=location(training.deepspeed.extensions_dir, "training.deepspeed.extensions_dir"),
    ).write(output_dir / "worker_spec.json")
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_ENV}
    port = training.deepspeed.master_port or free_port()
    completed = subprocess.run(torchrun_command(nproc, spec, port), env=env, check=False)
    if completed.returncode != 0 or not is_complete(output_dir):
        raise RuntimeError(f"torchrun training failed (exit {completed.returncode}); checkpoints kept in {output_dir}")


@dataclass(frozen=True)
class FittedClassifier:
    fingerprint: str
    result: ClassifierResult
    reused: bool


def classifier_fingerprint(encoder_sha: str, data: ClassifierData, params: ClassifierSettings) -> str:
    digest = hashlib.sha256(
        json.dumps({"encoder": encoder_sha, "params": params.model_dump(mode="json")}, sort_keys=True).encode()
    )
    for frame in (
        data.train.select("chunk_id", "text", "label"),
        data.eval.select("chunk_id", "text", "reference_label"),
    ):
        for row in frame.sort("chunk_id").iter_rows():
            digest.update("\x1f".join(str(v) for v in row).encode() + b"\x1e")
    return digest.hexdigest()[:16]


def fit_topic_classifier(
    model_dir: Path, data: ClassifierData, *, classifier: ClassifierSettings, model_store: Path
) -> FittedClassifier:
    """Train the topic classifier for this data (under `model_store`), or reuse the model trained on exactly it."""
    fingerprint = classifier_fingerprint(model_fingerprint(model_dir), data, classifier)
    output_dir = model_store / "topic_classifier" / fingerprint
    if (output_dir / "metrics.json").is_file():
        return FittedClassifier(fingerprint, load_classifier_result(output_dir), True)
    return FittedClassifier(fingerprint, train_topic_classifier(model_dir, data, classifier, output_dir), False)
