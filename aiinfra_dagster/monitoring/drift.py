"""The statistics behind ``drift_report``: is live traffic still like the reference window?

Each signal answers one question a person deciding on retraining would ask:

- query embeddings (MMD permutation test): are users asking about other things?
- predicted labels (PSI): has the mix of topics moved?
- query lengths (two-sample KS): are the questions shaped differently?
- retrieval scores (mean drop): does the index still find close chunks?
- answer confidence (low-confidence share): are most answers grounded in weak evidence?

`drift_verdict.assess` turns them into one verdict with readable reasons. Everything here is plain
numpy/scipy so it is tested without Dagster, models or tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

UNLABELED = "(unlabeled)"
"""The class a request without a label (None) is counted in, so unlabeled traffic can drift too."""


# --------------------------------------------------------------------------- MMD


@dataclass(frozen=True)
class MMDResult:
    """Unbiased squared MMD between the two samples and its permutation p-value."""

    statistic: float
    p_value: float
    bandwidth: float
    """RBF bandwidth h in k(x, y) = exp(-||x - y||^2 / (2 h^2)): the median pairwise distance of the pooled sample."""
    n_reference: int
    """rows used after subsampling"""
    n_current: int


def _subsample(x: np.ndarray, max_samples: int, rng: np.random.Generator) -> np.ndarray:
    """At most max_samples rows, in their original order, chosen by rng (same seed -> same rows)."""
    if x.shape[0] <= max_samples:
        return x
    return x[np.sort(rng.choice(x.shape[0], size=max_samples, replace=False))]


def _as_matrix(name: str, x: np.ndarray) -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows x dimensions), got shape {array.shape}")
    if array.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 rows for the unbiased MMD estimator, got {array.shape[0]}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _squared_distances(z: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances (clipped at 0 against rounding, exact 0 on the diagonal)."""
    sq = np.einsum("ij,ij->i", z, z)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return d2


def _mmd_for_splits(
    kernel: np.ndarray, row_sums: np.ndarray, total: float, masks: np.ndarray, n: int, m: int
) -> np.ndarray:
    """Unbiased MMD^2 for each column of masks (1.0 = row belongs to the first sample).

    One kernel-matrix product serves every split: with a = mask, b = 1 - a and r = K 1,
    a'Kb = a'r - a'Ka and b'Kb = 1'K1 - 2 a'r + a'Ka. The RBF diagonal is exactly 1, so
    removing the i = j terms subtracts n (resp. m).
    """
    a_k_a = np.einsum("ip,ip->p", masks, kernel @ masks)
    a_r = row_sums @ masks
    within_x = a_k_a - n
    within_y = total - 2.0 * a_r + a_k_a - m
    between = a_r - a_k_a
    return within_x / (n * (n - 1)) + within_y / (m * (m - 1)) - 2.0 * between / (n * m)


def mmd_permutation_test(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    permutations: int = 200,
    seed: int = 0,
    max_samples: int = 500,
) -> MMDResult:
    """Kernel two-sample test on query embeddings (rows; e.g. unit vectors of dimension 384).

    Why MMD: it compares whole distributions in high dimension without a per-dimension test
    (384 KS tests would need a multiple-testing correction and miss joint shifts). The RBF
    bandwidth is the median pairwise distance of the pooled sample (median heuristic), so it
    adapts to the embedding scale with no knob. The statistic is the unbiased estimator, whose
    null mean is 0 (it can be slightly negative). The p-value is (1 + #{permuted >= observed}) /
    (1 + permutations), never 0. Each side is subsampled to at most max_samples rows (the kernel
    matrix is quadratic); the reference and current rows are drawn from independent streams of
    the seed, so the same seed always picks the same rows.
    """
    x = _as_matrix("reference", reference)
    y = _as_matrix("current", current)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"reference has dimension {x.shape[1]} but current has {y.shape[1]}")
    if permutations < 1:
        raise ValueError("permutations must be at least 1")
    if max_samples < 2:
        raise ValueError("max_samples must be at least 2")

    reference_stream, current_stream, permutation_stream = np.random.SeedSequence(seed).spawn(3)
    x = _subsample(x, max_samples, np.random.default_rng(reference_stream))
    y = _subsample(y, max_samples, np.random.default_rng(current_stream))
    n, m = x.shape[0], y.shape[0]
    pooled = np.vstack([x, y])
    size = n + m

    d2 = _squared_distances(pooled)
    bandwidth = float(np.median(np.sqrt(d2[np.triu_indices(size, k=1)])))
    if not bandwidth > 0.0:
        bandwidth = 1.0  # more than half the pairs coincide: any bandwidth gives the same verdict
    kernel = np.exp(d2 / (-2.0 * bandwidth * bandwidth))
    row_sums = kernel.sum(axis=1)
    total = float(row_sums.sum())

    observed_mask = np.zeros((size, 1))
    observed_mask[:n, 0] = 1.0
    observed = float(_mmd_for_splits(kernel, row_sums, total, observed_mask, n, m)[0])

    rng = np.random.default_rng(permutation_stream)
    masks = np.zeros((size, permutations))
    for column in range(permutations):
        masks[rng.permutation(size)[:n], column] = 1.0
    permuted = _mmd_for_splits(kernel, row_sums, total, masks, n, m)
    # A tolerance so that a permutation equal to the observed split counts despite summation order.
    at_least = int(np.count_nonzero(permuted >= observed - 1e-12 * max(1.0, abs(observed))))
    return MMDResult(
        statistic=observed,
        p_value=(1 + at_least) / (1 + permutations),
        bandwidth=bandwidth,
        n_reference=n,
        n_current=m,
    )


# --------------------------------------------------------------------------- PSI


@dataclass(frozen=True)
class PSIRow:
    """One class of the PSI table: counts, shares (before smoothing) and its PSI term."""

    label: str
    reference_count: int
    current_count: int
    reference_share: float
    current_share: float
    contribution: float


@dataclass(frozen=True)
class PSIResult:
    """Population stability index and the per-class table it is the sum of (largest contribution first)."""

    value: float
    rows: list[PSIRow]
    noise_floor: float = 0.0
    """mean PSI of random splits of the pooled labels at these sample sizes (0 = not estimated)"""

    @property
    def excess(self) -> float:
        """PSI beyond what sampling noise alone gives: what the drift threshold is compared with."""
        return self.value - self.noise_floor


def _label_counts(labels: Sequence[str | None]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label in labels:
        key = UNLABELED if label is None else label
        counts[key] = counts.get(key, 0) + 1
    return counts


def psi(
    reference_labels: Sequence[str | None],
    current_labels: Sequence[str | None],
    *,
    epsilon: float = 1e-4,
) -> PSIResult:
    """PSI = sum over classes of (current share - reference share) * ln(current share / reference share).

    Why PSI: it is the usual, readable measure of how far a categorical mix (here predicted
    topics) has moved, and each class's term shows which topic moved. The classes are the union of
    both samples; None is its own class, ``UNLABELED``. A class absent from one side has share 0
    there, which would make the log infinite, so an empty bin's share is replaced by epsilon.
    Usual reading: < 0.1 no significant change, 0.1-0.25 moderate change, >= 0.25 significant
    change (the default drift threshold).
    """
    if not reference_labels:
        raise ValueError("reference_labels is empty: PSI needs a reference distribution")
    if not current_labels:
        raise ValueError("current_labels is empty: PSI needs a current distribution")
    if not 0.0 < epsilon < 1.0:
        raise ValueError("epsilon must be in (0, 1)")
    reference_counts = _label_counts(reference_labels)
    current_counts = _label_counts(current_labels)
    n_reference, n_current = len(reference_labels), len(current_labels)
    rows = []
    for label in sorted(reference_counts.keys() | current_counts.keys()):
        reference_share = reference_counts.get(label, 0) / n_reference
        current_share = current_counts.get(label, 0) / n_current
        p = reference_share if reference_share > 0 else epsilon
        q = current_share if current_share > 0 else epsilon
        rows.append(
            PSIRow(
                label=label,
                reference_count=reference_counts.get(label, 0),
                current_count=current_counts.get(label, 0),
                reference_share=reference_share,
                current_share=current_share,
                contribution=(q - p) * math.log(q / p),
            )
        )
    rows.sort(key=lambda row: (-row.contribution, row.label))
    return PSIResult(value=float(sum(row.contribution for row in rows)), rows=rows)


def psi_noise_floor(
    reference_labels: Sequence[str | None],
    current_labels: Sequence[str | None],
    *,
    permutations: int = 200,
    seed: int = 0,
    epsilon: float = 1e-4,
) -> float:
    """Mean PSI between random splits of the pooled labels with the two sample sizes.

    Why: PSI is biased upwards on small samples over many classes. With 20 topics and 30
    requests, two samples of the same traffic already differ by ~0.6 (about (k - 1)(1/n + 1/m)),
    and each class seen on one side only adds an epsilon-smoothed term. Comparing the PSI in
    excess of this floor keeps the usual 0.25 reading meaningful for a quiet hour.
    """
    pooled = [UNLABELED if label is None else label for label in (*reference_labels, *current_labels)]
    classes = {label: i for i, label in enumerate(sorted(set(pooled)))}
    codes = np.array([classes[label] for label in pooled])
    n, size, k = len(reference_labels), len(pooled), len(classes)
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(permutations):
        order = rng.permutation(size)
        p = np.bincount(codes[order[:n]], minlength=k) / n
        q = np.bincount(codes[order[n:]], minlength=k) / (size - n)
        p, q = np.where(p > 0, p, epsilon), np.where(q > 0, q, epsilon)
        total += float(np.sum((q - p) * np.log(q / p)))
    return total / permutations


# --------------------------------------------------------------------------- KS


@dataclass(frozen=True)
class KSResult:
    """Two-sample Kolmogorov-Smirnov statistic (largest CDF gap) and its two-sided p-value."""

    statistic: float
    p_value: float


def _as_values(name: str, values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def ks_test(reference: Sequence[float], current: Sequence[float]) -> KSResult:
    """Two-sample KS test on a scalar per request (query length in tokens or characters).

    Why KS: it needs no binning and reacts to any change of shape (longer, shorter, more spread),
    not only of the mean. scipy's ks_2samp picks the exact p-value for small samples and the
    asymptotic one for large samples.
    """
    result = stats.ks_2samp(_as_values("reference", reference), _as_values("current", current))
    return KSResult(statistic=float(result.statistic), p_value=float(result.pvalue))


# --------------------------------------------------------------------------- scores and confidence


def score_drop(reference_scores: Sequence[float], current_scores: Sequence[float]) -> float:
    """Mean retrieval score of the reference minus that of the current window (positive = worse).

    Why: when queries move away from the indexed corpus, the top-k similarity scores fall before
    answer quality is measured anywhere.
    """
    return float(
        _as_values("reference_scores", reference_scores).mean() - _as_values("current_scores", current_scores).mean()
    )


def low_confidence_share(confidences: Sequence[float], threshold: float) -> float:
    """Share of requests whose confidence is below threshold (strictly).

    drift_report passes each answer's best retrieval score: an answer is only as good as the
    closest chunk it was grounded in, so most answers below the threshold means the index and
    the model see questions they were not built for, even when the mean score moved little.
    """
    values = _as_values("confidences", confidences)
    return float(np.count_nonzero(values < threshold) / values.size)
