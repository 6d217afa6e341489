"""Drift statistics against hand-computed values, constructed shifts and the verdict rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aiinfra_dagster.monitoring.drift import (
    UNLABELED,
    KSResult,
    MMDResult,
    PSIResult,
    ks_test,
    low_confidence_share,
    mmd_permutation_test,
    psi,
    psi_noise_floor,
    score_drop,
)
from aiinfra_dagster.monitoring.drift_verdict import DriftThresholds, DriftVerdict, assess

DIM = 384


def unit_rows(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    """Gaussian rows (mean shift along the first axis), renormalised to the unit sphere like query embeddings."""
    rows = rng.normal(size=(n, DIM))
    rows[:, 0] += shift
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


# --------------------------------------------------------------------------- MMD


def test_mmd_same_distribution_is_not_flagged_and_a_shifted_mean_is() -> None:
    rng = np.random.default_rng(7)
    reference = unit_rows(rng, 200)
    same = mmd_permutation_test(reference, unit_rows(rng, 200))
    shifted = mmd_permutation_test(reference, unit_rows(rng, 200, shift=3.0))

    assert same.p_value > 0.05
    assert shifted.p_value == pytest.approx(1 / 201)  # no permutation reaches the observed split
    assert shifted.statistic > 10 * abs(same.statistic)
    # Independent unit vectors in 384 dims are almost orthogonal: distance ~ sqrt(2).
    assert same.bandwidth == pytest.approx(math.sqrt(2), rel=0.02)


def test_mmd_by_hand_on_four_points() -> None:
    # Pooled distances: 1, 3, 4, 2, 3, 1 -> median 2.5, k(d) = exp(-d^2 / (2 * 2.5^2)).
    result = mmd_permutation_test(np.array([[0.0], [1.0]]), np.array([[3.0], [4.0]]), permutations=50)

    def k(d: float) -> float:
        return math.exp(-(d**2) / 12.5)

    expected = k(1) + k(1) - 2 * (k(3) + k(4) + k(2) + k(3)) / 4
    assert result.bandwidth == pytest.approx(2.5)
    assert result.statistic == pytest.approx(expected)
    assert (result.n_reference, result.n_current) == (2, 2)


def test_mmd_of_identical_samples_sits_at_its_null() -> None:
    rng = np.random.default_rng(3)
    sample = unit_rows(rng, 150)
    result = mmd_permutation_test(sample, sample.copy())

    # X = Y: the within terms are the off-diagonal kernel mean s, the cross term also has the
    # diagonal ones: 2 s - 2 (n (n-1) s + n) / n^2 = -2 (1 - s) / n, just below the null mean 0.
    d2 = ((sample[:, None, :] - sample[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2 * result.bandwidth**2))
    n = len(sample)
    off_diagonal_mean = (kernel.sum() - n) / (n * (n - 1))
    assert result.statistic == pytest.approx(-2 * (1 - off_diagonal_mean) / n)
    assert result.statistic < 0
    assert result.p_value > 0.5


def test_mmd_is_deterministic_for_a_seed_and_subsamples_stably() -> None:
    rng = np.random.default_rng(11)
    reference, current = unit_rows(rng, 300), unit_rows(rng, 250, shift=0.5)

    first = mmd_permutation_test(reference, current, permutations=100, seed=5, max_samples=120)
    again = mmd_permutation_test(reference, current, permutations=100, seed=5, max_samples=120)
    other = mmd_permutation_test(reference, current, permutations=100, seed=6, max_samples=120)

    assert first == again
    assert (first.n_reference, first.n_current) == (120, 120)
    assert other.statistic != first.statistic  # another seed picks other rows
    # Samples under the cap are used whole, so the seed only changes the permutations.
    whole = [mmd_permutation_test(reference[:100], current[:90], permutations=100, seed=s) for s in (1, 2)]
    assert whole[0].statistic == whole[1].statistic
    assert (whole[0].n_reference, whole[0].n_current) == (100, 90)


def test_mmd_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="dimension"):
        mmd_permutation_test(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        mmd_permutation_test(np.zeros((1, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="2-D"):
        mmd_permutation_test(np.zeros(3), np.zeros((3, 1)))


# --------------------------------------------------------------------------- PSI


def test_psi_by_hand_on_two_classes() -> None:
    # reference 80% a / 20% b, current 50% / 50%
    result = psi(["a"] * 8 + ["b"] * 2, ["a"] * 5 + ["b"] * 5)
    expected = (0.5 - 0.8) * math.log(0.5 / 0.8) + (0.5 - 0.2) * math.log(0.5 / 0.2)  # 0.41589...
    assert result.value == pytest.approx(expected)
    assert result.value == pytest.approx(0.4158883, abs=1e-6)
    by_label = {row.label: row for row in result.rows}
    assert by_label["b"].contribution == pytest.approx(0.3 * math.log(2.5))
    assert (by_label["a"].reference_count, by_label["a"].current_count) == (8, 5)
    assert [row.label for row in result.rows] == ["b", "a"]  # largest contribution first


def test_psi_smooths_an_empty_bin_and_counts_none_as_its_own_class() -> None:
    result = psi(["a", "a", "a", "a"], ["a", "a", None, None], epsilon=1e-4)
    by_label = {row.label: row for row in result.rows}
    assert set(by_label) == {"a", UNLABELED}
    assert by_label[UNLABELED].reference_share == 0.0
    assert by_label[UNLABELED].contribution == pytest.approx((0.5 - 1e-4) * math.log(0.5 / 1e-4))
    assert by_label["a"].contribution == pytest.approx((0.5 - 1.0) * math.log(0.5))
    assert math.isfinite(result.value)


def test_psi_stable_mix_is_small_and_a_moved_mix_is_large() -> None:
    rng = np.random.default_rng(2)
    classes = ["io", "net", "text", None]
    reference = list(rng.choice(4, size=2000, p=[0.4, 0.3, 0.2, 0.1]))
    same = list(rng.choice(4, size=2000, p=[0.4, 0.3, 0.2, 0.1]))
    moved = list(rng.choice(4, size=2000, p=[0.1, 0.2, 0.3, 0.4]))

    def labels(indices: list[int]) -> list[str | None]:
        return [classes[i] for i in indices]

    assert psi(labels(reference), labels(same)).value < 0.1
    assert psi(labels(reference), labels(moved)).value > 0.25


def test_psi_refuses_empty_windows() -> None:
    with pytest.raises(ValueError, match="current_labels is empty"):
        psi(["a"], [])


# --------------------------------------------------------------------------- KS, scores, confidence


def test_ks_same_lengths_pass_and_doubled_lengths_fail() -> None:
    rng = np.random.default_rng(4)
    reference = rng.poisson(12, size=400).astype(float) + 1
    same = ks_test(reference, rng.poisson(12, size=400).astype(float) + 1)
    doubled = ks_test(reference, 2 * (rng.poisson(12, size=400).astype(float) + 1))
    assert same.p_value > 0.05
    assert doubled.p_value < 1e-6
    assert doubled.statistic > 0.5


def test_ks_statistic_by_hand() -> None:
    # ECDF gap is largest at 3: reference has 3/3 at or below, current 0/2.
    result = ks_test([1.0, 2.0, 3.0], [4.0, 5.0])
    assert result.statistic == pytest.approx(1.0)
    assert result.p_value == pytest.approx(0.2)  # exact: 2 of C(5,2)=10 orderings are this extreme


def test_score_drop_and_low_confidence_share() -> None:
    assert score_drop([0.8, 0.6], [0.5, 0.5]) == pytest.approx(0.2)
    assert score_drop([0.5], [0.7, 0.9]) == pytest.approx(-0.3)  # better than the reference
    assert low_confidence_share([0.2, 0.5, 0.9, 0.1], 0.5) == pytest.approx(0.5)  # 0.5 itself is not low
    with pytest.raises(ValueError):
        low_confidence_share([], 0.5)


# --------------------------------------------------------------------------- verdict


def test_assess_lists_a_reason_per_crossed_signal() -> None:
    verdict = assess(
        n_requests=120,
        mmd=MMDResult(statistic=0.01, p_value=0.001, bandwidth=1.4, n_reference=500, n_current=120),
        label_psi=PSIResult(value=0.31, rows=[]),
        length_ks=KSResult(statistic=0.1, p_value=0.2),
        retrieval_score_drop=0.12,
        low_confidence=0.2,
    )
    assert verdict.drifted
    assert verdict.reasons == [
        "query-embedding MMD p=0.001 < 0.01",
        "label PSI 0.31 >= 0.25",
        "retrieval score drop 0.12 >= 0.1",
    ]
    assert {name: signal.crossed for name, signal in verdict.signals.items()} == {
        "mmd": True,
        "psi": True,
        "ks": False,
        "score_drop": True,
        "low_confidence_share": False,
    }
    assert verdict.signals["ks"].description == "query-length KS p=0.2 >= 0.01"


def test_assess_no_crossing_and_missing_signals() -> None:
    verdict = assess(n_requests=40, label_psi=PSIResult(value=0.05, rows=[]), low_confidence=0.49)
    assert not verdict.drifted
    assert verdict.reasons == []
    assert set(verdict.signals) == {"psi", "low_confidence_share"}


def test_assess_too_few_requests_is_never_drift() -> None:
    def verdict(n_requests: int, thresholds: DriftThresholds | None = None) -> DriftVerdict:
        return assess(
            n_requests=n_requests,
            label_psi=PSIResult(value=2.0, rows=[]),
            retrieval_score_drop=0.5,
            thresholds=thresholds,
        )

    few = verdict(12)
    assert not few.drifted
    assert few.reasons == ["only 12 requests (< min_requests 30)"]
    assert few.signals["psi"].crossed  # still reported for the person reading the report
    assert verdict(30).drifted
    assert not verdict(30, DriftThresholds(min_requests=31)).drifted


def test_psi_noise_floor_absorbs_small_sample_bias_but_not_a_real_shift() -> None:
    rng = np.random.default_rng(5)
    classes = [f"topic-{i}" for i in range(20)]
    reference = list(rng.choice(classes, 500))
    same = list(rng.choice(classes, 30))  # 30 requests of the same traffic over 20 topics
    raw = psi(reference, same)
    floor = psi_noise_floor(reference, same, permutations=200, seed=0)
    assert raw.value > 0.25  # plain PSI would call this drift
    corrected = assess(n_requests=30, label_psi=PSIResult(raw.value, raw.rows, floor))
    assert not corrected.signals["psi"].crossed and "noise floor" in corrected.signals["psi"].description
    moved = list(rng.choice(classes[:3], 30))
    shifted = psi(reference, moved)
    shifted_floor = psi_noise_floor(reference, moved, permutations=200, seed=0)
    assert assess(n_requests=30, label_psi=PSIResult(shifted.value, shifted.rows, shifted_floor)).signals["psi"].crossed
