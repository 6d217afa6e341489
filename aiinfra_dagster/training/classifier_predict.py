"""A trained topic classifier's predictions, and their scores against the human reference labels.

Inputs are built with `classifier_data.classifier_text`, as in training. A reference label outside
the trained classes can never be predicted, so its rows count as wrong (see `score`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from aiinfra_dagster.labels import metrics
from aiinfra_dagster.training.classifier_data import ClassifierData


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


def score(predicted: Sequence[str | None], data: ClassifierData) -> Scores:
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


def predict_proba(model: Any, tokenizer: Any, texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
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


def predict_labels(model: Any, tokenizer: Any, texts: list[str], classes: list[str], max_length: int) -> list[str]:
    proba = predict_proba(model, tokenizer, texts, max_length)
    return [classes[i] for i in proba.argmax(axis=1)] if len(texts) else []


def predict_topics(model_dir: Path, texts: list[str]) -> list[tuple[str, float]]:
    """(label, probability) per text from a merged classifier directory.

    Texts should be built with `classifier_text` like the training inputs; they are truncated
    to the training ``max_length`` (the saved tokenizer's ``model_max_length``).
    """
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    proba = predict_proba(model, tokenizer, texts, int(tokenizer.model_max_length))
    id2label = model.config.id2label
    return [(id2label[int(i)], float(row[i])) for row, i in zip(proba, proba.argmax(axis=1), strict=True)]
