"""Labeling metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aiinfra_dagster.labels.metrics import (
    accuracy,
    class_balance,
    conflict_rate,
    coverage,
    function_coverage,
    macro_f1,
    per_function_accuracy,
)

VOTES = np.array(
    [
        [0, 0, -1],  # covered, agree
        [1, 2, -1],  # covered, conflict
        [-1, -1, -1],  # not covered
        [2, -1, 2],  # covered, agree
        [-1, 1, 0],  # covered, conflict
    ]
)
GOLD = np.array([0, 2, 1, -1, 1])


def test_coverage_and_conflicts() -> None:
    assert coverage(VOTES) == pytest.approx(4 / 5)
    np.testing.assert_allclose(function_coverage(VOTES), [3 / 5, 3 / 5, 2 / 5])
    assert conflict_rate(VOTES) == pytest.approx(2 / 4)
    assert math.isnan(conflict_rate(np.full((2, 2), -1)))


def test_per_function_accuracy_uses_rows_with_a_vote_and_known_gold() -> None:
    # LF0 voted on rows 0,1,3 -> gold known on 0,1: right, wrong -> 0.5
    # LF1 voted on rows 0,1,4 -> right, right, right -> 1.0
    # LF2 voted on rows 3,4 -> gold known on 4 only: 0 vs 1 -> 0.0
    assert per_function_accuracy(VOTES, GOLD) == [0.5, 1.0, 0.0]
    assert per_function_accuracy(VOTES, np.array([-1, -1, -1, -1, 0])) == [None, 0.0, 1.0]


def test_accuracy_counts_abstentions_as_wrong_and_ignores_unknown_gold() -> None:
    pred = np.array([0, 2, -1, 1, 0])
    # gold known on rows 0,1,2,4: right, right, abstained, wrong -> 2/4
    assert accuracy(pred, GOLD) == pytest.approx(0.5)
    assert math.isnan(accuracy(pred, np.full(5, -1)))
    with pytest.raises(ValueError, match="differ in length"):
        accuracy(pred, GOLD[:3])


def test_macro_f1_by_hand() -> None:
    pred = np.array([0, 0, 1, -1, 2, 0])
    gold = np.array([0, 1, 1, 1, -1, 3])
    # Row 4 (gold unknown) is dropped.  Over the remaining rows:
    # class 0: pred {0,1,5}, gold {0}   -> tp 1, F1 = 2*1/(3+1) = 0.5
    # class 1: pred {2},     gold {1,2,3} -> tp 1, F1 = 2*1/(1+3) = 0.5
    # class 2: absent from gold and (remaining) predictions -> excluded
    # class 3: pred {},      gold {5}   -> F1 = 0
    assert macro_f1(pred, gold, n_classes=4) == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    assert macro_f1(np.array([1, 0]), np.array([1, 0]), 2) == pytest.approx(1.0)
    assert math.isnan(macro_f1(np.array([0]), np.array([-1]), 2))


def test_class_balance() -> None:
    np.testing.assert_allclose(class_balance(np.array([0, 2, 2, -1, 2]), 4), [0.25, 0, 0.75, 0])
    np.testing.assert_allclose(class_balance(np.array([-1, -1]), 3), [0, 0, 0])
    with pytest.raises(ValueError, match="not a class index"):
        class_balance(np.array([5]), 3)
