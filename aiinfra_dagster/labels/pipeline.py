"""Combining labeling functions, the zero-shot labeler, the label model and human labels.

Human labels win; otherwise the label model (which weighs every source by the
accuracy it learns from their agreements) decides; where every source
abstains the chunk stays unlabeled rather than guessed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from aiinfra_dagster.labels import metrics
from aiinfra_dagster.labels.functions import ChunkView, LabelingFunction, apply_functions
from aiinfra_dagster.labels.label_model import LabelModel, majority_vote
from aiinfra_dagster.labels.tables import CHUNK_LABELS
from aiinfra_dagster.labels.zero_shot import zero_shot_votes

ZERO_SHOT = "zero_shot"


@dataclass(frozen=True)
class ZeroShotInputs:
    chunk_embeddings: np.ndarray
    label_embeddings: np.ndarray
    model_id: str
    min_similarity: float
    min_margin: float


@dataclass(frozen=True)
class LabelingOutcome:
    table: pl.DataFrame
    source_names: list[str]
    version: str
    coverage: float
    conflict_rate: float
    per_source: list[dict[str, str | float | None]]
    comparison: list[dict[str, object]]
    class_balance: dict[str, int]
    evaluated_on: int
    extra: dict[str, object] = field(default_factory=dict)


def labeling_version(lfs: Sequence[LabelingFunction], zero_shot: ZeroShotInputs | None, max_iter: int) -> str:
    parts = [f"{lf.name}:{lf.version}" for lf in lfs] + [f"label_model:ds:{max_iter}"]
    if zero_shot is not None:
        parts.append(f"{ZERO_SHOT}:{zero_shot.model_id}:{zero_shot.min_similarity}:{zero_shot.min_margin}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def label_chunks(
    chunks: pl.DataFrame,
    classes: Sequence[str],
    lfs: Sequence[LabelingFunction],
    *,
    zero_shot: ZeroShotInputs | None,
    human: Mapping[str, str],
    reference: Mapping[str, str],
    max_iter: int = 100,
) -> LabelingOutcome:
    """Label every chunk (columns chunk_id, path, section, text), in the chunks' order."""
    index = {c: i for i, c in enumerate(classes)}
    views = [ChunkView(r["chunk_id"], r["path"], r["section"], r["text"]) for r in chunks.iter_rows(named=True)]
    votes = apply_functions(lfs, views, classes) if lfs else np.zeros((len(views), 0), dtype=np.int64)
    names = [lf.name for lf in lfs]
    if zero_shot is not None and len(views):
        zs, _ = zero_shot_votes(
            zero_shot.chunk_embeddings,
            zero_shot.label_embeddings,
            min_margin=zero_shot.min_margin,
            min_similarity=zero_shot.min_similarity,
        )
        votes = np.column_stack([votes, zs.astype(votes.dtype)])
        names.append(ZERO_SHOT)
    votes = votes.reshape(len(views), len(names)).astype(np.int64)

    k = len(classes)
    if len(views) and names:
        model = LabelModel(k, max_iter=max_iter).fit(votes)
        predicted, confidence = model.predict(votes)
        estimated = list(model.accuracies)
    else:
        predicted, confidence = np.full(len(views), -1), np.zeros(len(views))
        estimated = [None] * len(names)
    voted, _ = majority_vote(votes, k) if names else (np.full(len(views), -1), None)
    gold = np.array([index.get(reference.get(v.path, ""), -1) for v in views], dtype=np.int64)
    human_idx = np.array([index.get(human.get(v.chunk_id, ""), -1) for v in views], dtype=np.int64)

    final = np.where(human_idx >= 0, human_idx, predicted)
    final_conf = np.where(human_idx >= 0, 1.0, confidence)
    decided_by = np.where(human_idx >= 0, "human", np.where(predicted >= 0, "label_model", "none"))

    rows = []
    for i, view in enumerate(views):
        fired = [f"{names[j]}={classes[votes[i, j]]}" for j in range(len(names)) if votes[i, j] >= 0]
        rows.append(
            {
                "chunk_id": view.chunk_id,
                "label": classes[final[i]] if final[i] >= 0 else None,
                "confidence": float(final_conf[i]) if final[i] >= 0 else 0.0,
                "decided_by": str(decided_by[i]),
                "votes": fired,
                "reference_label": reference.get(view.path),
            }
        )
    version = labeling_version(lfs, zero_shot, max_iter)
    table = CHUNK_LABELS.conform([{**r, "labeling_version": version} for r in rows])

    agreement = metrics.source_agreement(votes, final) if names else []
    per_source = [
        {
            "source": name,
            "coverage": float(np.mean(votes[:, j] >= 0)) if len(views) else 0.0,
            "accuracy_vs_reference": acc,
            "estimated_accuracy": None if est is None else float(est),
            **agreement[j],
        }
        for j, (name, acc, est) in enumerate(
            zip(names, metrics.per_function_accuracy(votes, gold) if names else [], estimated, strict=False)
        )
    ]
    evaluated = int(np.sum(gold >= 0))
    comparison = [
        {"method": method, "accuracy": metrics.accuracy(pred, gold), "macro_f1": metrics.macro_f1(pred, gold, k)}
        for method, pred in (("majority vote", voted), ("label model", predicted), ("final (with human labels)", final))
    ]
    balance = metrics.class_balance(final, k)
    return LabelingOutcome(
        table=table,
        source_names=names,
        version=version,
        coverage=metrics.coverage(votes) if names else 0.0,
        conflict_rate=metrics.conflict_rate(votes) if names else 0.0,
        per_source=per_source,
        comparison=comparison,
        class_balance={classes[i]: int(n) for i, n in enumerate(balance)},
        evaluated_on=evaluated,
    )
