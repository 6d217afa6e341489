"""Combine labeling-function votes by their estimated reliability (Dawid–Skene EM).

Majority vote lets ten sloppy heuristics outvote one careful one.  Without any gold labels,
the agreements between LFs still reveal who is reliable; Dawid–Skene EM turns that into an
accuracy per LF and a posterior per item.

This is the "one-coin" variant: LF j is right with probability ``a_j`` when it votes and
otherwise picks a wrong class uniformly; abstaining carries no information.  The full
per-LF confusion matrices were tried and rejected: with 30 classes and mostly one-class
LFs, EM used their freedom to cluster items by firing pattern and lost the meaning of the
classes (22% accuracy on the Python-docs corpus against 87% for this model, measured with
an earlier LF suite).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check_votes(votes: np.ndarray, n_classes: int) -> np.ndarray:
    votes = np.asarray(votes)
    if votes.ndim != 2:
        raise ValueError(f"votes must be a 2-d (items x labeling functions) array, got shape {votes.shape}")
    if votes.size and (votes.min() < -1 or votes.max() >= n_classes):
        raise ValueError(f"votes must be -1 (abstain) or class indices in [0, {n_classes})")
    return votes.astype(np.int64, copy=False)


def majority_vote(votes: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Most-voted class per row (ties -> lowest class index), -1 when nobody voted; confidence = vote share."""
    votes = _check_votes(votes, n_classes)
    counts = np.zeros((votes.shape[0], n_classes), dtype=np.int64)
    rows, cols = np.nonzero(votes >= 0)
    np.add.at(counts, (rows, votes[rows, cols]), 1)
    total = counts.sum(axis=1)
    pred = counts.argmax(axis=1)
    conf = np.divide(counts.max(axis=1), total, out=np.zeros(len(total)), where=total > 0)
    pred[total == 0] = -1
    return pred, conf


def merge_groups(groups: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    """Connected components of the given LF groups/pairs, as sorted tuples of two or more LFs."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for group in groups:
        members = [int(j) for j in group]
        if any(j < 0 for j in members):
            raise ValueError(f"LF indices must be non-negative: {list(group)}")
        for j in members:
            parent[root(j)] = root(members[0])
    components: dict[int, list[int]] = {}
    for j in parent:
        components.setdefault(root(j), []).append(j)
    return sorted(tuple(sorted(c)) for c in components.values() if len(c) > 1)


class LabelModel:
    """One-coin Dawid–Skene fitted by EM, started from the majority-vote posterior.

    ``smoothing`` is a pseudo-count for every accuracy (two votes at halfway between chance and
    certainty) and every class of the prior, so an LF that fired twice is not declared perfect;
    accuracies never fall below chance (an LF is assumed better than guessing).  EM is
    deterministic; ``seed`` is kept so a run records its full configuration.

    EM assumes LFs err independently given the class, so two LFs that copy each other are
    trusted as two witnesses and can take over the model.  ``dependencies`` lists groups of
    LF indices (declared, or found by :func:`find_dependencies`; overlapping groups merge)
    whose evidence is shared: each member's log-likelihood counts ``1/len(group)``.

    ``class_balance`` fixes P(y) instead of learning it.  A learned prior is right when the
    LFs are independent; with correlated LFs it tends to swallow small classes, and a
    uniform prior (what Snorkel assumes by default) can give the better macro-F1.
    """

    def __init__(
        self,
        n_classes: int,
        *,
        max_iter: int = 100,
        tol: float = 1e-6,
        smoothing: float = 1.0,
        seed: int = 0,
        dependencies: Sequence[Sequence[int]] = (),
        class_balance: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        if n_classes < 2:
            raise ValueError("a label model needs at least two classes")
        if smoothing <= 0:
            raise ValueError("smoothing must be positive (it keeps log-probabilities finite)")
        self._fixed_prior: np.ndarray | None = None
        if class_balance is not None:
            prior = np.asarray(class_balance, dtype=np.float64)
            if prior.shape != (n_classes,) or (prior <= 0).any():
                raise ValueError(f"class_balance needs {n_classes} positive values")
            self._fixed_prior = prior / prior.sum()
        self.n_classes = n_classes
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.seed = seed
        self.dependencies = merge_groups(dependencies)
        self.n_lfs_: int | None = None
        self.prior_: np.ndarray | None = None
        self.accuracy_: np.ndarray | None = None
        self.fire_counts_: np.ndarray | None = None
        self.n_iter_ = 0
        self.log_likelihood_ = float("nan")

    def _weights(self, m: int) -> np.ndarray:
        weights = np.ones(m)
        for group in self.dependencies:
            if max(group) >= m:
                raise ValueError(f"dependency group {group} refers to a missing LF (there are {m})")
            weights[list(group)] = 1.0 / len(group)
        return weights

    def _log_joint(self, votes: np.ndarray) -> np.ndarray:
        """log P(y) + sum_j w_j log P(vote_j | y) for every row and class."""
        assert self.prior_ is not None and self.accuracy_ is not None
        k = self.n_classes
        w = self._weights(votes.shape[1])
        right = np.log(self.accuracy_)
        wrong = np.log((1.0 - self.accuracy_) / (k - 1))
        fired = votes >= 0
        out = np.log(self.prior_)[None, :] + (fired @ (w * wrong))[:, None]
        rows, cols = np.nonzero(fired)
        np.add.at(out, (rows, votes[rows, cols]), (w * (right - wrong))[cols])
        return out

    def _m_step(self, votes: np.ndarray, post: np.ndarray) -> None:
        n, m = votes.shape
        k, a = self.n_classes, self.smoothing
        if self._fixed_prior is not None:
            self.prior_ = self._fixed_prior
        else:
            self.prior_ = (post.sum(axis=0) + a) / (n + k * a)
        rows, cols = np.nonzero(votes >= 0)
        agree = np.bincount(cols, weights=post[rows, votes[rows, cols]], minlength=m)
        assert self.fire_counts_ is not None
        # The pseudo-counts pull each accuracy towards halfway between chance (1/k) and certainty, and no LF is
        # let below chance: with two classes a 50 % prior (one right, one wrong) made every vote carry no
        # evidence, and on a handful of chunks the class prior then outvoted unanimous LFs.
        prior_accuracy = (1.0 + 1.0 / k) / 2.0
        accuracy = (agree + 2 * a * prior_accuracy) / (self.fire_counts_ + 2 * a)
        self.accuracy_ = np.clip(accuracy, 1.0 / k + 1e-3, 1 - 1e-4)

    def fit(self, votes: np.ndarray) -> LabelModel:
        votes = _check_votes(votes, self.n_classes)
        n, m = votes.shape
        self._weights(m)  # validate the groups against this vote matrix
        self.n_lfs_ = m
        self.fire_counts_ = (votes >= 0).sum(axis=0)
        counts = np.zeros((n, self.n_classes))
        rows, cols = np.nonzero(votes >= 0)
        np.add.at(counts, (rows, votes[rows, cols]), self._weights(m)[cols])
        counts += 1e-3  # rows without votes start uniform
        post = counts / counts.sum(axis=1, keepdims=True)
        previous = -np.inf
        self.n_iter_ = 0
        for it in range(1, self.max_iter + 1):
            self._m_step(votes, post)
            log_joint = self._log_joint(votes)
            norm = np.logaddexp.reduce(log_joint, axis=1)
            post = np.exp(log_joint - norm[:, None])
            ll = float(norm.sum())
            self.n_iter_, self.log_likelihood_ = it, ll
            if abs(ll - previous) <= self.tol * max(1.0, abs(ll)):
                break
            previous = ll
        self._m_step(votes, post)
        return self

    def _require_fit(self) -> None:
        if self.n_lfs_ is None:
            raise RuntimeError("LabelModel.fit must be called first")

    def predict_proba(self, votes: np.ndarray) -> np.ndarray:
        """Posterior P(y | votes) per row (the class balance where every LF abstained)."""
        self._require_fit()
        votes = _check_votes(votes, self.n_classes)
        if votes.shape[1] != self.n_lfs_:
            raise ValueError(f"fitted on {self.n_lfs_} labeling functions, got {votes.shape[1]}")
        log_joint = self._log_joint(votes)
        return np.exp(log_joint - np.logaddexp.reduce(log_joint, axis=1)[:, None])

    def predict(self, votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Most probable class (ties -> lowest index) and its probability; -1 (confidence 0) where all abstained."""
        proba = self.predict_proba(votes)
        pred = proba.argmax(axis=1)
        conf = proba.max(axis=1)
        silent = (np.asarray(votes) < 0).all(axis=1)
        pred[silent] = -1
        conf[silent] = 0.0
        return pred, conf

    @property
    def class_balance(self) -> np.ndarray:
        """P(y): estimated by EM, or the fixed one given."""
        self._require_fit()
        assert self.prior_ is not None
        return self.prior_.copy()

    @property
    def accuracies(self) -> np.ndarray:
        """Estimated P(vote is right | LF voted) per LF; NaN for an LF that never fired in training."""
        self._require_fit()
        assert self.accuracy_ is not None and self.fire_counts_ is not None
        return np.where(self.fire_counts_ > 0, self.accuracy_, np.nan)


def find_dependencies(
    votes: np.ndarray,
    n_classes: int,
    *,
    min_overlap: int = 50,
    threshold: float = 0.25,
) -> list[tuple[int, int]]:
    """LF pairs that agree far more than their individual reliability explains.

    Under conditional independence, Cohen's kappa between two LFs on rows where both fire is
    roughly the product of their "skills" (accuracy above chance), and each skill can be
    read off triplets: ``skill_j^2 = kappa_jk * kappa_jl / kappa_kl``.  A pair whose kappa
    exceeds the product of the (median over triplets) skills by ``threshold`` is reported.
    Pairs whose kappa is undefined (LFs that always vote one class) are not judged.
    """
    votes = _check_votes(votes, n_classes)
    m = votes.shape[1]
    kappa = np.full((m, m), np.nan)
    fired = votes >= 0
    for j in range(m):
        for other in range(j + 1, m):
            both = fired[:, j] & fired[:, other]
            if both.sum() < min_overlap:
                continue
            a, b = votes[both, j], votes[both, other]
            observed = float((a == b).mean())
            qa = np.bincount(a, minlength=n_classes) / len(a)
            qb = np.bincount(b, minlength=n_classes) / len(b)
            chance = float(qa @ qb)
            if chance < 1 - 1e-9:
                kappa[j, other] = kappa[other, j] = (observed - chance) / (1 - chance)
    skill = np.full(m, np.nan)
    for j in range(m):
        estimates = []
        for k in range(m):
            for other in range(k + 1, m):
                if j in (k, other):
                    continue
                kjk, kjl, kkl = kappa[j, k], kappa[j, other], kappa[k, other]
                if np.isfinite([kjk, kjl, kkl]).all() and kkl > 0.05 and kjk * kjl > 0:
                    estimates.append(np.sqrt(kjk * kjl / kkl))
        if estimates:
            skill[j] = float(np.median(estimates))
    pairs = []
    for j in range(m):
        for other in range(j + 1, m):
            expected = skill[j] * skill[other]
            if np.isfinite(kappa[j, other]) and np.isfinite(expected) and kappa[j, other] - expected > threshold:
                pairs.append((j, other))
    return pairs
