"""Checks of the trained models: they learned something, and what is served equals what was trained."""

import json
from pathlib import Path

import dagster as dg
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from aiinfra_dagster.assets.keys import BASE_MODEL_KEY, LORA_CHECKPOINT_KEY, TOPIC_CLASSIFIER_KEY
from aiinfra_dagster.materializations import require_latest_metadata
from aiinfra_dagster.training.history import MetricsHistory
from aiinfra_dagster.training.verify import adapter_matches_merged, loss_trend


def _latest_model_path(context: dg.AssetCheckExecutionContext, asset: dg.AssetKey) -> Path:
    return Path(require_latest_metadata(context.instance, asset)["model_path"])


@dg.asset_check(
    asset=BASE_MODEL_KEY, description="The stored base model loads and predicts finite logits for a short prompt."
)
def base_model_forward_pass(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    path = _latest_model_path(context, BASE_MODEL_KEY)
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForCausalLM.from_pretrained(str(path))
    with torch.inference_mode():
        logits = model(**tokenizer("What is a list comprehension?", return_tensors="pt")).logits
    finite = bool(torch.isfinite(logits).all())
    return dg.AssetCheckResult(
        passed=finite and logits.shape[-1] >= len(tokenizer) - 1,
        metadata={"vocab": len(tokenizer), "logits_shape": str(tuple(logits.shape)), "finite": finite},
    )


@dg.asset_check(
    asset=LORA_CHECKPOINT_KEY,
    blocking=True,
    description="The adapter loaded on the base model and the merged model give the same logits on probe prompts.",
)
def lora_checkpoint_merge_consistent(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    out = _latest_model_path(context, LORA_CHECKPOINT_KEY)
    base_dir = Path(json.loads((out / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"])
    report = adapter_matches_merged(base_dir, out / "adapter", out / "merged")
    return dg.AssetCheckResult(
        passed=report.matches,
        metadata={
            "max_abs_logit_difference": report.max_abs_difference,
            "tolerance": report.tolerance,
            "prompts": report.prompts,
        },
    )


@dg.asset_check(
    asset=LORA_CHECKPOINT_KEY,
    description=(
        "The training loss went down: the mean of the last quarter of logged steps is below the first quarter's."
    ),
)
def lora_checkpoint_loss_decreased(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    out = _latest_model_path(context, LORA_CHECKPOINT_KEY)
    first, last = loss_trend(MetricsHistory(out / "metrics.jsonl").steps)
    return dg.AssetCheckResult(
        passed=last < first,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"first_quarter_loss": first, "last_quarter_loss": last},
    )


@dg.asset_check(
    asset=TOPIC_CLASSIFIER_KEY,
    description="On held-out documents the classifier beats always predicting the most common reference class.",
)
def topic_classifier_beats_majority_class(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    metrics = json.loads((_latest_model_path(context, TOPIC_CLASSIFIER_KEY) / "metrics.json").read_text())
    support = [row["support"] for row in metrics["per_class"]]
    majority = max(support) / sum(support) if sum(support) else 1.0
    return dg.AssetCheckResult(
        passed=metrics["accuracy"] > majority,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "accuracy": metrics["accuracy"],
            "majority_class_accuracy": majority,
            "label_model_accuracy": metrics["label_model_accuracy"],
        },
    )
