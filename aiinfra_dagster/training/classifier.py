"""`topic_classifier`: LoRA sequence classification on the embedding model, trained on `chunk_labels`.

The classifier learns the final labels of `chunk_labels` (human or label-model decisions) and is
judged against the human *reference* labels of documents it never saw (the split and the input
text are `classifier_data`; prediction and scoring are `classifier_predict`). The output directory
holds a merged model that plain ``AutoModelForSequenceClassification.from_pretrained`` loads (what
later stages and serving use) next to the LoRA adapter it was merged from.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
    set_seed,
)

from aiinfra_dagster.atomic import write_text_atomic
from aiinfra_dagster.models.files import directory_bytes
from aiinfra_dagster.settings import ClassifierSettings
from aiinfra_dagster.training.classifier_data import ClassifierData
from aiinfra_dagster.training.classifier_predict import label_model_baseline, predict_labels, score
from aiinfra_dagster.training.history import MetricsHistory

ADAPTER_DIR = "adapter"
HEAD_MODULES = ("classifier", "pooler")
"""Trained in full (not LoRA): the new head, and BERT's pooler over the CLS token, which the
sentence encoder never trained (all-MiniLM-L6-v2 mean-pools); training it lifted held-out
accuracy from 0.25 to 0.32 in an otherwise equal demo run."""


@dataclass(frozen=True)
class ClassifierResult:
    output_dir: Path
    classes: list[str]
    accuracy: float
    """vs the reference labels of held-out documents; rows whose reference class was never trained on count as wrong"""
    macro_f1: float
    """mean F1 over every class in the reference labels or the predictions (unseen reference classes score 0)"""
    agreement_with_labels: float
    """share of held-out rows where the prediction equals chunk_labels' label (a null label is a disagreement)"""
    label_model_accuracy: float
    """the baseline: chunk_labels' own label vs the reference on the same rows (null labels count as wrong)"""
    label_model_macro_f1: float
    per_class: list[dict[str, Any]]
    history: list[dict[str, Any]]
    train_examples: int
    eval_examples: int
    wall_seconds: float
    train_seconds: float
    train_tokens_per_second: float
    size_bytes: int
    """bytes of everything in output_dir but metrics.json (merged model, adapter, tokenizer, logs)"""
    params: dict[str, Any] = field(default_factory=dict)
    scored_documents: int = 0
    """held-out documents with reference labels, i.e. the pages the figures are about"""
    unseen_reference_labels: list[str] = field(default_factory=list)
    """reference classes of scored rows that no training row had (those rows count as wrong)"""

    def metrics(self) -> dict[str, Any]:
        """Everything but the history, JSON-ready (what `metrics.json` holds)."""
        out = {k: v for k, v in self.__dict__.items() if k not in {"history", "output_dir"}}
        out["output_dir"] = str(self.output_dir)
        return out


class _Encoded(torch.utils.data.Dataset[dict[str, Any]]):
    """Tokenized rows for the Trainer (padding happens per batch in the collator)."""

    def __init__(self, encodings: dict[str, list[list[int]]], labels: list[int]) -> None:
        self.encodings = encodings
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item: dict[str, Any] = {k: v[i] for k, v in self.encodings.items()}
        item["labels"] = self.labels[i]
        return item


def _load_base(model_dir: Path, classes: list[str]) -> Any:
    return AutoModelForSequenceClassification.from_pretrained(
        str(model_dir),
        num_labels=len(classes),
        id2label=dict(enumerate(classes)),
        label2id={c: i for i, c in enumerate(classes)},
        dtype=torch.float32,
    )


def _lora_model(model_dir: Path, classes: list[str], params: ClassifierSettings) -> Any:
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=params.lora.r,
        lora_alpha=params.lora.alpha,
        lora_dropout=params.lora.dropout,
        target_modules=list(params.lora.target_modules),
        modules_to_save=list(HEAD_MODULES),
    )
    return get_peft_model(_load_base(model_dir, classes), config)


def load_adapter_model(model_dir: Path, output_dir: Path) -> Any:
    """The unmerged model (base + saved adapter) of a run, for checking the merge."""
    config = json.loads((output_dir / "config.json").read_text())
    classes = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    return PeftModel.from_pretrained(_load_base(model_dir, classes), str(output_dir / ADAPTER_DIR)).eval()


def train_topic_classifier(
    model_dir: Path, data: ClassifierData, params: ClassifierSettings, output_dir: Path
) -> ClassifierResult:
    """Fine-tune LoRA adapters (plus a full classification head) and score them on held-out documents.

    Writes to ``output_dir``: the merged model and tokenizer (loadable by
    AutoModelForSequenceClassification), ``adapter/``, ``metrics.json``, ``history.jsonl``
    (per-step logs) and ``training_args.json``. Runs in fp32 on CPU, seeded.
    """
    if data.train.is_empty():
        raise ValueError("no training rows: chunk_labels has no confident labels outside the held-out documents")
    started = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "history.jsonl").unlink(missing_ok=True)
    set_seed(params.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    index = {c: i for i, c in enumerate(data.classes)}
    encodings = tokenizer(data.train["text"].to_list(), truncation=True, max_length=params.max_length)
    dataset = _Encoded(dict(encodings), [index[label] for label in data.train["label"].to_list()])
    model = _lora_model(model_dir, data.classes, params)

    steps_per_epoch = math.ceil(len(dataset) / params.batch_size)
    checkpoints = output_dir / "checkpoints"
    args = TrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=params.batch_size,
        num_train_epochs=params.epochs,
        learning_rate=params.learning_rate,
        warmup_steps=0.1,
        lr_scheduler_type="linear",
        weight_decay=0.01,
        logging_strategy="steps",
        logging_steps=max(1, min(10, steps_per_epoch // 4)),
        logging_first_step=True,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=params.seed,
        data_seed=params.seed,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    history = MetricsHistory(output_dir / "history.jsonl")
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        callbacks=[history],
    )
    train_started = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - train_started
    _remove_empty_dir(checkpoints)  # save_strategy="no": nothing is checkpointed
    train_tokens = sum(len(ids) for ids in encodings["input_ids"]) * params.epochs

    model.eval()
    predicted = predict_labels(model, tokenizer, data.eval["text"].to_list(), data.classes, params.max_length)
    scores = score(predicted, data)
    baseline = label_model_baseline(data)

    model.save_pretrained(str(output_dir / ADAPTER_DIR))
    merged = model.merge_and_unload()
    merged.save_pretrained(str(output_dir))
    tokenizer.model_max_length = params.max_length  # so every user of the directory truncates as in training
    tokenizer.save_pretrained(str(output_dir))
    (output_dir / "training_args.json").write_text(args.to_json_string())
    result = ClassifierResult(
        output_dir=output_dir,
        classes=list(data.classes),
        accuracy=scores.accuracy,
        macro_f1=scores.macro_f1,
        agreement_with_labels=scores.agreement_with_labels,
        label_model_accuracy=baseline.accuracy,
        label_model_macro_f1=baseline.macro_f1,
        per_class=[c.as_row() for c in scores.per_class],
        history=history.steps,
        train_examples=data.train.height,
        eval_examples=data.eval.height,
        wall_seconds=0.0,
        train_seconds=train_seconds,
        train_tokens_per_second=train_tokens / train_seconds if train_seconds > 0 else float("nan"),
        size_bytes=0,
        params=params.model_dump(mode="json"),
        scored_documents=data.eval["document_id"].n_unique(),
        unseen_reference_labels=data.unseen_reference_labels,
    )
    return _finish(result, started)


def _finish(result: ClassifierResult, started: float) -> ClassifierResult:
    """Measure the artifacts and the wall time, then write metrics.json (not counted in size_bytes)."""
    out = result.output_dir
    size = directory_bytes(out, exclude=[out / "metrics.json"])
    final = ClassifierResult(**{**result.__dict__, "wall_seconds": time.perf_counter() - started, "size_bytes": size})
    # Replaced whole: metrics.json marks the directory as trained (fit_topic_classifier reuses it), so a write cut
    # short must leave no file (or the previous one), never a half that later runs take as done and cannot read.
    write_text_atomic(out / "metrics.json", json.dumps(final.metrics(), indent=2, default=_json_default))
    return final


def load_classifier_result(output_dir: Path) -> ClassifierResult:
    """A trained classifier's result as `train_topic_classifier` wrote it (metrics.json, history.jsonl)."""
    metrics = json.loads((output_dir / "metrics.json").read_text())
    metrics["output_dir"] = output_dir
    metrics["history"] = MetricsHistory(output_dir / "history.jsonl").steps
    return ClassifierResult(**{k: v for k, v in metrics.items() if k in ClassifierResult.__dataclass_fields__})


def _remove_empty_dir(path: Path) -> None:
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"not JSON serialisable: {value!r}")
