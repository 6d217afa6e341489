"""`topic_classifier`: LoRA sequence classification on the embedding model, trained on `chunk_labels`.

The classifier learns the final labels of `chunk_labels` (human or label-model decisions) and is
judged against the human *reference* labels of documents it never saw: the split is by a stable
hash of the chunk's document, so no page has chunks on both sides, and the reference labels
are read only when scoring. The output directory holds a merged model that plain
``AutoModelForSequenceClassification.from_pretrained`` loads (what later stages and serving use)
next to the LoRA adapter it was merged from.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from aiinfra_dagster.labels import metrics
from aiinfra_dagster.models.files import directory_bytes
from aiinfra_dagster.settings import ClassifierSettings
from aiinfra_dagster.training.history import MetricsHistory

ADAPTER_DIR = "adapter"
SPLIT_SALT = "topic-classifier-split"
"""Salted so the held-out documents are independent of other hash samples of the corpus (e.g. sources)."""

TRAIN_COLUMNS = ("chunk_id", "document_id", "text", "label")
EVAL_COLUMNS = ("chunk_id", "document_id", "text", "label", "reference_label")
HEAD_MODULES = ("classifier", "pooler")
"""Trained in full (not LoRA): the new head, and BERT's pooler over the CLS token, which the
sentence encoder never trained (all-MiniLM-L6-v2 mean-pools); training it lifted held-out
accuracy from 0.25 to 0.32 in an otherwise equal demo run."""


def classifier_text(section: str | None, text: str) -> str:
    """The classifier's input for a chunk: its heading path, then its text.

    The heading path (e.g. ":mod:`socket` --- Low-level networking interface > Example") is part
    of what a reader sees and names the module being documented; callers of `predict_topics`
    must build inputs the same way.
    """
    return f"{section}\n{text}" if section else text


def _unit_hash(key: str) -> float:
    """A stable number in [0, 1) from a string, the same on every machine and run."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_held_out(document_id: str, validation_fraction: float) -> bool:
    """Whether a document belongs to the evaluation side of the split."""
    return _unit_hash(f"{SPLIT_SALT}:{document_id}") < validation_fraction


@dataclass(frozen=True)
class ClassifierData:
    """Train and evaluation rows, split by document.

    ``train``: chunk_id, document_id, text, label (what the model learns).
    ``eval``: chunk_id, document_id, text, label (chunk_labels' label, may be null),
    reference_label (the human label, never null here).
    """

    classes: list[str]
    train: pl.DataFrame
    eval: pl.DataFrame
    train_documents: int
    eval_documents: int
    """held-out documents, whether or not they have reference labels (only those are scored)"""
    skipped_low_confidence: int
    skipped_by_sample: int

    @property
    def unseen_reference_labels(self) -> list[str]:
        """Reference labels of evaluation rows the model cannot predict (no training row has them)."""
        known = set(self.classes)
        return sorted({r for r in self.eval["reference_label"].to_list() if r not in known})


def classifier_examples(chunk_labels: pl.DataFrame, chunks: pl.DataFrame, params: ClassifierSettings) -> ClassifierData:
    """Split labeled chunks into training and held-out evaluation rows.

    Train rows have a label with confidence >= ``min_label_confidence`` and come from training
    documents, stably sampled (by chunk-id hash, spread over documents) down to
    ``max_train_examples``. Evaluation rows are every chunk of a held-out document that has a
    reference label, whatever its chunk_labels label (null labels included, so the figure
    covers the whole held-out page set). Classes are the sorted labels of the training rows.
    """
    joined = chunks.select(
        "chunk_id",
        "document_id",
        pl.when(pl.col("section").fill_null("") != "")
        .then(pl.concat_str("section", pl.lit("\n"), "text"))
        .otherwise(pl.col("text"))
        .alias("text"),  # = classifier_text(section, text), vectorised
    ).join(chunk_labels.select("chunk_id", "label", "confidence", "reference_label"), on="chunk_id", how="inner")
    documents = joined["document_id"].unique().to_list()
    held_out = {d for d in documents if is_held_out(d, params.validation_fraction)}
    joined = joined.with_columns(pl.col("document_id").is_in(list(held_out)).alias("_held_out"))

    candidates = joined.filter(~pl.col("_held_out") & pl.col("label").is_not_null())
    confident = candidates.filter(pl.col("confidence") >= params.min_label_confidence)
    train = _stable_sample(confident, params.max_train_examples, params.seed)
    evaluation = joined.filter(pl.col("_held_out") & pl.col("reference_label").is_not_null()).sort("chunk_id")
    return ClassifierData(
        classes=sorted(set(train["label"].to_list())),
        train=train.select(TRAIN_COLUMNS),
        eval=evaluation.select(EVAL_COLUMNS),
        train_documents=len(set(documents) - held_out),
        eval_documents=len(held_out),
        skipped_low_confidence=candidates.height - confident.height,
        skipped_by_sample=confident.height - train.height,
    )


def _stable_sample(frame: pl.DataFrame, limit: int | None, seed: int) -> pl.DataFrame:
    """At most ``limit`` rows, spread over as many documents as possible, chosen by hash.

    Chunks are ranked by hash inside their document and taken round-robin (every document's
    first pick, then every second pick, ...): the evaluation is on unseen pages, so page variety
    is worth more than many chunks of a long page. The order is a pure function of the ids, so
    a larger limit keeps every row of a smaller one and new chunks barely change the choice.
    """
    ranked = frame.with_columns(
        pl.col("chunk_id").map_elements(lambda c: _unit_hash(f"{seed}:{c}"), return_dtype=pl.Float64).alias("_hash")
    ).with_columns(pl.col("_hash").rank("ordinal").over("document_id").alias("_round"))
    ranked = ranked.sort("_round", "_hash")
    if limit is not None:
        ranked = ranked.head(limit)
    return ranked.drop("_hash", "_round")


@dataclass(frozen=True)
class ClassScore:
    """One class's figures against the reference labels of the held-out rows."""

    name: str
    support: int
    precision: float
    recall: float
    f1: float
    seen_in_training: bool

    def as_row(self) -> dict[str, Any]:
        return {
            "class": self.name,
            "support": self.support,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "seen_in_training": self.seen_in_training,
        }


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    agreement_with_labels: float
    per_class: list[ClassScore]


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


def score(predicted: list[str | None], data: ClassifierData) -> Scores:
    """Accuracy and macro-F1 vs the reference labels, and agreement with chunk_labels' labels.

    Every distinct label gets an index; a reference label outside the trained classes can
    never be predicted by the model, so its rows are wrong and its class scores F1 = 0. A
    None prediction is an abstention (wrong).
    """
    reference = data.eval["reference_label"].to_list()
    given = data.eval["label"].to_list()
    extra = {x for x in [*reference, *predicted] if x is not None} - set(data.classes)
    names = list(data.classes) + sorted(extra)
    index = {name: i for i, name in enumerate(names)}
    pred = np.array([index[p] if p is not None else -1 for p in predicted], dtype=np.int64)
    gold = np.array([index[r] for r in reference], dtype=np.int64)
    # A null or unknown chunk_labels label never equals a prediction: -2 is no class.
    labels = np.array([index.get(g, -2) if g is not None else -2 for g in given], dtype=np.int64)
    agreement = float((pred == labels).mean()) if len(labels) else float("nan")
    return Scores(
        accuracy=metrics.accuracy(pred, gold),
        macro_f1=metrics.macro_f1(pred, gold, len(names)),
        agreement_with_labels=agreement,
        per_class=_per_class(pred, gold, names, len(data.classes)),
    )


def _per_class(pred: np.ndarray, gold: np.ndarray, names: list[str], n_trained: int) -> list[ClassScore]:
    rows = []
    for i, name in enumerate(names):
        tp = int(((pred == i) & (gold == i)).sum())
        n_pred, n_gold = int((pred == i).sum()), int((gold == i).sum())
        if n_pred == 0 and n_gold == 0:
            continue
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        rows.append(ClassScore(name, n_gold, precision, recall, 2 * tp / (n_pred + n_gold), i < n_trained))
    return sorted(rows, key=lambda r: (-r.support, r.name))


def label_model_baseline(data: ClassifierData) -> Scores:
    """chunk_labels' own label scored like the classifier (null = abstained = wrong): what training must beat."""
    return score(data.eval["label"].to_list(), data)


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
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(
        str(model_dir),
        num_labels=len(classes),
        id2label=dict(enumerate(classes)),
        label2id={c: i for i, c in enumerate(classes)},
        dtype=torch.float32,
    )


def _lora_model(model_dir: Path, classes: list[str], params: ClassifierSettings) -> Any:
    from peft import LoraConfig, TaskType, get_peft_model

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
    from peft import PeftModel

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
    from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments, set_seed

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
    args = TrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
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
    _remove_empty_dir(Path(args.output_dir))  # save_strategy="no": nothing is checkpointed
    train_tokens = sum(len(ids) for ids in encodings["input_ids"]) * params.epochs

    model.eval()
    predicted = _predict_labels(model, tokenizer, data.eval["text"].to_list(), data.classes, params.max_length)
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
    (out / "metrics.json").write_text(json.dumps(final.metrics(), indent=2, default=_json_default))
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


def _predict_proba(model: Any, tokenizer: Any, texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """Softmax probabilities per text, in input order (batched by length to waste little padding)."""
    n_labels = int(model.config.num_labels)
    out = np.zeros((len(texts), n_labels), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            batch = tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            )
            out[idx] = torch.softmax(model(**batch).logits.float(), dim=-1).numpy()
    return out


def _predict_labels(model: Any, tokenizer: Any, texts: list[str], classes: list[str], max_length: int) -> list[str]:
    proba = _predict_proba(model, tokenizer, texts, max_length)
    return [classes[i] for i in proba.argmax(axis=1)] if len(texts) else []


def predict_topics(model_dir: Path, texts: list[str]) -> list[tuple[str, float]]:
    """(label, probability) per text from a merged classifier directory.

    Texts should be built with `classifier_text` like the training inputs; they are truncated
    to the training ``max_length`` (the saved tokenizer's ``model_max_length``).
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    proba = _predict_proba(model, tokenizer, texts, int(tokenizer.model_max_length))
    id2label = model.config.id2label
    return [(id2label[int(i)], float(row[i])) for row, i in zip(proba, proba.argmax(axis=1), strict=True)]
