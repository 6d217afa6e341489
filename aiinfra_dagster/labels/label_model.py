"""Combine labeling-function votes by their estimated reliability (Dawid–Skene EM).

Majority vote lets ten sloppy heuristics outvote one careful one.  Without any gold labels,
the agreements between LFs still reveal who is reliable; Dawid–Skene EM turns that into
per-LF error models and a posterior per item.

Each LF j gets a class-conditional distribution over its K+1 outputs (K classes plus
abstain), ``P(vote_j = s | y)``.  Modelling abstain as an output matters for the common
one-class LFs ("mentions sockets -> networking"): once they fire they always say the same
class, so their evidence is in *when* they fire, which only the abstain column captures.
(Snorkel's LabelModel would do; it installs, but drags tensorboard into the project and
fits by SGD - see the labels README notes in the stage docs.)
"""

from __future__ import annotations

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


class LabelModel:
    """Dawid–Skene with full class-conditional vote distributions (abstain included), fitted by EM.

    ``smoothing`` is a Laplace pseudo-count per cell of every LF's (K x K+1) table and per
    class of the prior, which keeps rare cells away from zero and LFs that never fire
    uninformative.  EM starts from the majority-vote posterior, which anchors the class
    identities (EM alone cannot tell a permutation of the classes apart).
    """

    def __init__(
        self,
        n_classes: int,
        *,
        max_iter: int = 100,
        tol: float = 1e-6,
        smoothing: float = 1.0,
        seed: int = 0,
    ) -> None:
        if n_classes < 2:
            raise ValueError("a label model needs at least two classes")
        if smoothing <= 0:
            raise ValueError("smoothing must be positive (it keeps log-probabilities finite)")
        self.n_classes = n_classes
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.seed = seed  # EM here is deterministic; kept so callers can record the full configuration
        self.prior_: np.ndarray | None = None
        self.log_prior_: np.ndarray | None = None
        self.log_theta_: np.ndarray | None = None  # (m, K, K+1): log P(vote = s | y)
        self.fire_counts_: np.ndarray | None = None
        self.n_iter_ = 0
        self.log_likelihood_: float = float("nan")

    # -- EM pieces

    def _symbols(self, votes: np.ndarray) -> np.ndarray:
        """Votes with abstain mapped to symbol K."""
        return np.where(votes < 0, self.n_classes, votes)

    def _log_joint(self, symbols: np.ndarray) -> np.ndarray:
        assert self.log_theta_ is not None and self.log_prior_ is not None
        out = np.tile(self.log_prior_, (symbols.shape[0], 1))
        for j in range(symbols.shape[1]):
            out += self.log_theta_[j][:, symbols[:, j]].T
        return out

    def _m_step(self, symbols: np.ndarray, post: np.ndarray) -> None:
        k, a = self.n_classes, self.smoothing
        self.prior_ = (post.sum(axis=0) + a) / (post.shape[0] + k * a)
        self.log_prior_ = np.log(self.prior_)
        m = symbols.shape[1]
        log_theta = np.empty((m, k, k + 1))
        for j in range(m):
            counts = np.zeros((k + 1, k))
            np.add.at(counts, symbols[:, j], post)  # counts[s, y] = sum_i post[i, y] [s_ij = s]
            table = counts.T + a
            log_theta[j] = np.log(table / table.sum(axis=1, keepdims=True))
        self.log_theta_ = log_theta

    def fit(self, votes: np.ndarray) -> LabelModel:
        votes = _check_votes(votes, self.n_classes)
        symbols = self._symbols(votes)
        self.fire_counts_ = (votes >= 0).sum(axis=0)
        counts = np.zeros((votes.shape[0], self.n_classes))
        rows, cols = np.nonzero(votes >= 0)
        np.add.at(counts, (rows, votes[rows, cols]), 1.0)
        counts += 1e-3  # rows without votes start uniform
        post = counts / counts.sum(axis=1, keepdims=True)
        previous = -np.inf
        self.n_iter_ = 0
        for it in range(1, self.max_iter + 1):
            self._m_step(symbols, post)
            log_joint = self._log_joint(symbols)
            norm = np.logaddexp.reduce(log_joint, axis=1)
            post = np.exp(log_joint - norm[:, None])
            ll = float(norm.sum())
            self.n_iter_ = it
            self.log_likelihood_ = ll
            if abs(ll - previous) <= self.tol * max(1.0, abs(ll)):
                break
            previous = ll
        self._m_step(symbols, post)
        return self

    # -- results

    def _require_fit(self) -> None:
        if self.log_theta_ is None:
            raise RuntimeError("LabelModel.fit must be called first")

    def predict_proba(self, votes: np.ndarray) -> np.ndarray:
        """Posterior P(y | votes) per row; rows without votes get the model's posterior for 'all abstained'."""
        self._require_fit()
        votes = _check_votes(votes, self.n_classes)
        assert self.log_theta_ is not None
        if votes.shape[1] != self.log_theta_.shape[0]:
            raise ValueError(f"fitted on {self.log_theta_.shape[0]} labeling functions, got {votes.shape[1]}")
        log_joint = self._log_joint(self._symbols(votes))
        return np.exp(log_joint - np.logaddexp.reduce(log_joint, axis=1)[:, None])

    def predict(self, votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Most probable class and its probability; -1 (confidence 0) where every LF abstained."""
        proba = self.predict_proba(votes)
        pred = proba.argmax(axis=1)
        conf = proba.max(axis=1)
        silent = (np.asarray(votes) < 0).all(axis=1)
        pred[silent] = -1
        conf[silent] = 0.0
        return pred, conf

    @property
    def class_balance(self) -> np.ndarray:
        """Estimated P(y)."""
        self._require_fit()
        assert self.prior_ is not None
        return self.prior_.copy()

    @property
    def accuracies(self) -> np.ndarray:
        """Estimated P(vote = y | LF voted) per LF; NaN for an LF that never fired in training."""
        self._require_fit()
        assert self.log_theta_ is not None and self.prior_ is not None
        theta = np.exp(self.log_theta_)
        k = self.n_classes
        correct = np.einsum("y,jyy->j", self.prior_, theta[:, :, :k])
        fired = np.einsum("y,jy->j", self.prior_, theta[:, :, :k].sum(axis=2))
        acc = correct / fired
        acc[self.fire_counts_ == 0] = np.nan
        return acc
