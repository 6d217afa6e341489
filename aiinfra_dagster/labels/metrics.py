"""Quality figures for labelers and label models.

``-1`` means "abstained" in votes and predictions and "unknown" in gold labels; unknown gold
rows are left out of every gold-based figure, while abstained predictions count as wrong
so a labeler cannot look accurate by refusing to answer.
"""

from __future__ import annotations

import numpy as np


def _votes(votes: np.ndarray) -> np.ndarray:
    votes = np.asarray(votes)
    if votes.ndim != 2:
        raise ValueError(f"votes must be 2-d (items x labeling functions), got shape {votes.shape}")
    return votes


def _pair(pred: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gold = np.asarray(pred).ravel(), np.asarray(gold).ravel()
    if pred.shape != gold.shape:
        raise ValueError(f"pred and gold differ in length: {pred.shape[0]} vs {gold.shape[0]}")
    known = gold >= 0
    return pred[known], gold[known]


def coverage(votes: np.ndarray) -> float:
    """Share of rows where at least one LF voted."""
    votes = _votes(votes)
    return float((votes >= 0).any(axis=1).mean()) if len(votes) else float("nan")


def function_coverage(votes: np.ndarray) -> np.ndarray:
    """Share of rows each LF voted on."""
    votes = _votes(votes)
    return (votes >= 0).mean(axis=0) if len(votes) else np.full(votes.shape[1], np.nan)


def conflict_rate(votes: np.ndarray) -> float:
    """Share of covered rows whose non-abstaining votes are not all the same class."""
    votes = _votes(votes)
    fired = votes >= 0
    covered = fired.any(axis=1)
    if not covered.any():
        return float("nan")
    big = np.iinfo(np.int64).max
    lo = np.where(fired, votes, big).min(axis=1)
    hi = np.where(fired, votes, -1).max(axis=1)
    return float((lo[covered] != hi[covered]).mean())


def per_function_accuracy(votes: np.ndarray, gold: np.ndarray) -> list[float | None]:
    """Each LF's accuracy where it voted and gold is known; None if there is no such row."""
    votes = _votes(votes)
    gold = np.asarray(gold).ravel()
    if len(gold) != len(votes):
        raise ValueError(f"votes have {len(votes)} rows, gold {len(gold)}")
    out: list[float | None] = []
    for j in range(votes.shape[1]):
        rows = (votes[:, j] >= 0) & (gold >= 0)
        out.append(float((votes[rows, j] == gold[rows]).mean()) if rows.any() else None)
    return out


def accuracy(pred: np.ndarray, gold: np.ndarray) -> float:
    """Share of gold-known rows predicted correctly (abstentions are wrong); NaN without gold rows."""
    p, g = _pair(pred, gold)
    return float((p == g).mean()) if len(g) else float("nan")


def macro_f1(pred: np.ndarray, gold: np.ndarray, n_classes: int) -> float:
    """Unweighted mean F1 over classes that occur in gold or predictions (on gold-known rows)."""
    p, g = _pair(pred, gold)
    scores = []
    for c in range(n_classes):
        n_pred, n_gold = int((p == c).sum()), int((g == c).sum())
        if n_pred == 0 and n_gold == 0:
            continue
        tp = int(((p == c) & (g == c)).sum())
        scores.append(2 * tp / (n_pred + n_gold))
    return float(np.mean(scores)) if scores else float("nan")


def class_balance(pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Share of each class among the non-abstained predictions (zeros if there are none)."""
    p = np.asarray(pred).ravel()
    p = p[p >= 0]
    if len(p) and p.max() >= n_classes:
        raise ValueError(f"prediction {int(p.max())} is not a class index below {n_classes}")
    counts = np.bincount(p, minlength=n_classes)[:n_classes].astype(np.float64)
    return counts / counts.sum() if counts.sum() else counts


def source_agreement(votes: np.ndarray, final: np.ndarray) -> list[dict[str, float | None]]:
    """Without reference labels, how each source relates to the others and to the final label.

    Per source: ``overlap`` (share of its votes on rows where another source also voted),
    ``agreement`` (share of those overlapping votes equal to every other vote on the row,
    i.e. no conflict), ``agrees_with_final`` (share of its votes equal to the final label).
    A source that never votes gets None: nothing to measure.
    """
    votes = _votes(votes)
    final = np.asarray(final).ravel()
    out: list[dict[str, float | None]] = []
    for j in range(votes.shape[1]):
        mine = votes[:, j]
        voted = mine >= 0
        others = np.delete(votes, j, axis=1)
        other_voted = (others >= 0).any(axis=1) if others.shape[1] else np.zeros(len(mine), dtype=bool)
        both = voted & other_voted
        consistent = np.all((others < 0) | (others == mine[:, None]), axis=1) if others.shape[1] else voted
        n = int(voted.sum())
        out.append(
            {
                "overlap": float(both.sum() / n) if n else None,
                "agreement": float((consistent & both).sum() / both.sum()) if both.any() else None,
                "agrees_with_final": float((mine[voted] == final[voted]).mean()) if n else None,
            }
        )
    return out
