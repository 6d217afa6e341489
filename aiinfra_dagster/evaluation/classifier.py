"""The topic classifier against the human reference labels, beside the label model on the same rows.

The rows are the classifier's own held-out documents (the split `topic_classifier`
trained with), so no row it learned from is scored. The label model is the baseline
because the classifier is trained on its labels: the interesting question is whether
the classifier adds anything, not only how accurate it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from aiinfra_dagster.evaluation.metrics import Interval, bootstrap_ci
from aiinfra_dagster.labels import metrics as label_metrics
from aiinfra_dagster.training.classifier_predict import predict_topics


@dataclass(frozen=True)
class ClassifierEvaluation:
    rows: int
    classes: list[str]
    """row/column order of the confusion matrix: reference classes first, then predicted-only ones"""
    confusion: np.ndarray
    """confusion[i, j] = rows with reference classes[i] predicted as classes[j]"""
    accuracy: Interval
    macro_f1: float
    label_model_accuracy: float
    label_model_macro_f1: float


def score_predictions(
    predicted: Sequence[str | None],
    reference: Sequence[str],
    label_model: Sequence[str | None],
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ClassifierEvaluation:
    """Accuracy (with CI), macro-F1 and the confusion matrix; None predictions count as wrong."""
    if not (len(predicted) == len(reference) == len(label_model)):
        raise ValueError("predicted, reference and label_model differ in length")
    names = sorted(set(reference)) + sorted({p for p in [*predicted, *label_model] if p is not None} - set(reference))
    index = {n: i for i, n in enumerate(names)}
    gold = np.array([index[r] for r in reference], dtype=np.int64)
    pred = np.array([index[p] if p is not None else -1 for p in predicted], dtype=np.int64)
    base = np.array([index[p] if p is not None else -1 for p in label_model], dtype=np.int64)
    confusion = np.zeros((len(names), len(names)), dtype=np.int64)
    for g, p in zip(gold, pred, strict=True):
        if p >= 0:
            confusion[g, p] += 1
    return ClassifierEvaluation(
        rows=len(reference),
        classes=names,
        confusion=confusion,
        accuracy=bootstrap_ci(
            (pred == gold).astype(np.float64).tolist(), resamples=resamples, confidence=confidence, seed=seed
        ),
        macro_f1=label_metrics.macro_f1(pred, gold, len(names)),
        label_model_accuracy=label_metrics.accuracy(base, gold),
        label_model_macro_f1=label_metrics.macro_f1(base, gold, len(names)),
    )


def evaluate_classifier(model_dir: Path, held_out: pl.DataFrame, **bootstrap: float | int) -> ClassifierEvaluation:
    """`held_out`: text, reference_label, label (chunk_labels') — ClassifierData.eval."""
    predictions = [label for label, _ in predict_topics(model_dir, held_out["text"].to_list())]
    return score_predictions(
        predictions,
        held_out["reference_label"].to_list(),
        held_out["label"].to_list(),
        **bootstrap,  # type: ignore[arg-type]
    )
