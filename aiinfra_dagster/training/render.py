"""The training assets' Dagster metadata, from the outcomes `training/run.py` returns.

Pure functions: the run was recorded (Delta, MLflow) by the entry; these only read what it returned. The experiment
part (params, loss curve, comparison, MLflow link) is `tracking_render.experiment_metadata`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from aiinfra_dagster.markdown import markdown_table
from aiinfra_dagster.training.run import LoraCheckpoint, TopicClassifier, TrackedRun
from aiinfra_dagster.training.tracking_render import experiment_metadata


def tracked_metadata(tracked: TrackedRun) -> dict[str, Any]:
    return experiment_metadata(tracked.run, tracked.written, tracked.compared, tracked.mlflow)


def lora_checkpoint_metadata(outcome: LoraCheckpoint) -> dict[str, Any]:
    """MaterializeResult metadata of one lora_checkpoint run."""
    tuned = outcome.tuned
    result = tuned.result
    return {
        "model_version": tuned.fingerprint,
        "model_path": dg.MetadataValue.path(str(tuned.output_dir)),
        "adapter_path": dg.MetadataValue.path(str(result.adapter_dir)),
        "merged_model_path": dg.MetadataValue.path(str(result.merged_dir or "")),
        "reused_finished_checkpoint": tuned.reused,
        "resumed_from_step": result.resumed_from_step or 0,
        "steps": result.steps,
        "train_examples": result.train_examples,
        "validation_examples": result.eval_examples,
        "truncated_examples": result.truncated_examples,
        "input_training_set_version": outcome.training_set_version,
        "input_base_model_sha256": outcome.base_model_sha256,
        "deepspeed": dg.MetadataValue.json(tuned.deepspeed_config or {}),
        **tracked_metadata(outcome.tracked),
    }


def per_class_markdown(per_class: Sequence[Mapping[str, Any]]) -> str:
    """The classifier's scores per class (support, precision, recall, F1, whether training saw the class)."""
    return markdown_table(
        ["class", "support", "precision", "recall", "F1", "seen in training"],
        [
            [
                r["class"],
                r["support"],
                f"{r['precision']:.3f}",
                f"{r['recall']:.3f}",
                f"{r['f1']:.3f}",
                r["seen_in_training"],
            ]
            for r in per_class
        ],
    )


def topic_classifier_metadata(outcome: TopicClassifier) -> dict[str, Any]:
    """MaterializeResult metadata of one topic_classifier run."""
    trained, data = outcome.trained, outcome.data
    result = trained.result
    return {
        "model_version": trained.fingerprint,
        "model_path": dg.MetadataValue.path(str(result.output_dir)),
        "reused_finished_model": trained.reused,
        "accuracy": result.accuracy,
        "macro_f1": result.macro_f1,
        "label_model_accuracy": result.label_model_accuracy,
        "label_model_macro_f1": result.label_model_macro_f1,
        "classes": len(result.classes),
        "train_examples": result.train_examples,
        "evaluation_examples": result.eval_examples,
        "train_documents": data.train_documents,
        "held_out_documents": data.eval_documents,
        "scored_held_out_documents": result.scored_documents,
        "reference_classes_never_trained": dg.MetadataValue.json(result.unseen_reference_labels),
        "per_class": dg.MetadataValue.md(per_class_markdown(result.per_class)),
        **{f"input_{name}_version": v for name, v in outcome.inputs.items()},
        **tracked_metadata(outcome.tracked),
    }
