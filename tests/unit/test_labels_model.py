"""The label model on planted data, where the true labels and LF accuracies are known."""

from __future__ import annotations

import numpy as np
import pytest

from aiinfra_dagster.labels.label_model import LabelModel, find_dependencies, majority_vote, merge_groups

K = 4
TRUE_ACCURACY = [0.9, 0.85, 0.6, 0.55, 0.5, 0.4, 0.4]
COVERAGE = [0.35, 0.5, 0.8, 0.9, 0.9, 0.9, 0.9]


def planted(seed: int = 0, n: int = 2000, copy_rate: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Imbalanced classes; LF j fires with COVERAGE[j] and is right with TRUE_ACCURACY[j], else a random
    wrong class.  With ``copy_rate`` the last LF copies the one before it that often (a correlated bad pair)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(K, size=n, p=[0.4, 0.3, 0.2, 0.1])
    votes = np.full((n, len(TRUE_ACCURACY)), -1)
    for j, (acc, cov) in enumerate(zip(TRUE_ACCURACY, COVERAGE, strict=True)):
        fires = rng.random(n) < cov
        right = rng.random(n) < acc
        wrong = (y + rng.integers(1, K, n)) % K
        votes[fires, j] = np.where(right, y, wrong)[fires]
    copied = rng.random(n) < copy_rate
    votes[copied, -1] = votes[copied, -2]
    return y, votes


def empirical_accuracy(votes: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.array([(votes[votes[:, j] >= 0, j] == y[votes[:, j] >= 0]).mean() for j in range(votes.shape[1])])


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def test_label_model_beats_majority_vote_and_recovers_accuracies() -> None:
    y, votes = planted(seed=0)
    model = LabelModel(K).fit(votes)
    pred, conf = model.predict(votes)
    mv, _ = majority_vote(votes, K)
    lm_acc, mv_acc = (pred == y).mean(), (mv == y).mean()
    assert lm_acc >= mv_acc + 0.03, (lm_acc, mv_acc)
    assert lm_acc > 0.8

    truth = empirical_accuracy(votes, y)
    est = model.accuracies
    assert spearman(est, truth) > 0.95
    assert est[0] > est[1] > est[2] > est[4] > est[5]  # LFs at least 0.05 apart keep their order
    assert np.abs(est - truth).max() < 0.1
    np.testing.assert_allclose(model.class_balance, [0.4, 0.3, 0.2, 0.1], atol=0.03)
    assert ((conf > 0) & (conf <= 1)).all()
    # Confident predictions are more often right than unsure ones.
    assert (pred == y)[conf > 0.9].mean() > (pred == y)[conf < 0.6].mean()


def test_a_correlated_bad_pair_is_found_and_tamed() -> None:
    y, votes = planted(seed=0, copy_rate=0.8)
    mv, _ = majority_vote(votes, K)
    naive = LabelModel(K).fit(votes)
    # Counted as two independent witnesses, the copying pair takes over the model.
    assert (naive.predict(votes)[0] == y).mean() < (mv == y).mean()
    assert naive.accuracies[5] > naive.accuracies[0]

    deps = find_dependencies(votes, K)
    assert deps == [(5, 6)]
    model = LabelModel(K, dependencies=deps).fit(votes)
    pred, _ = model.predict(votes)
    assert (pred == y).mean() >= (mv == y).mean() + 0.08
    truth = empirical_accuracy(votes, y)
    assert spearman(model.accuracies, truth) > 0.9
    assert np.abs(model.accuracies - truth)[:5].max() < 0.1


def test_no_dependencies_are_reported_for_independent_lfs() -> None:
    for seed in range(3):
        assert find_dependencies(planted(seed=seed)[1], K) == []


def test_abstains_silent_rows_and_silent_lfs() -> None:
    y, votes = planted(seed=1, n=600)
    votes = np.column_stack([votes, np.full(len(votes), -1)])  # an LF that never fires
    votes[:50] = -1  # rows where every LF abstains
    model = LabelModel(K).fit(votes)
    pred, conf = model.predict(votes)
    assert (pred[:50] == -1).all() and (conf[:50] == 0).all()
    assert (pred[50:] >= 0).all()
    assert np.isnan(model.accuracies[-1])
    assert np.isfinite(model.accuracies[:-1]).all()
    proba = model.predict_proba(votes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # With no evidence the posterior is the class balance.
    np.testing.assert_allclose(proba[0], model.class_balance)


def test_fixed_class_balance_is_used_as_is() -> None:
    _, votes = planted(seed=2, n=500)
    model = LabelModel(K, class_balance=[1, 1, 1, 1]).fit(votes)
    np.testing.assert_allclose(model.class_balance, 0.25)
    only_silent = np.full((1, votes.shape[1]), -1)
    np.testing.assert_allclose(model.predict_proba(only_silent)[0], 0.25)


def test_majority_vote_ties_and_abstains() -> None:
    votes = np.array([[0, 1, -1], [2, 2, 1], [-1, -1, -1], [1, 0, 1], [3, -1, -1]])
    pred, conf = majority_vote(votes, 4)
    np.testing.assert_array_equal(pred, [0, 2, -1, 1, 3])  # row 0: tie 0 vs 1 -> lower index
    np.testing.assert_allclose(conf, [0.5, 2 / 3, 0.0, 2 / 3, 1.0])


def test_merge_groups() -> None:
    assert merge_groups([(1, 2), (2, 3), (5, 6), (7,)]) == [(1, 2, 3), (5, 6)]
    assert merge_groups([]) == []


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="at least two classes"):
        LabelModel(1)
    with pytest.raises(ValueError, match="class indices"):
        LabelModel(3).fit(np.array([[0, 3]]))
    with pytest.raises(ValueError, match="2-d"):
        LabelModel(3).fit(np.array([0, 1]))
    with pytest.raises(RuntimeError, match="fit"):
        LabelModel(3).predict(np.array([[0, 1]]))
    model = LabelModel(3).fit(np.array([[0, 1], [1, 1], [2, -1]]))
    with pytest.raises(ValueError, match="fitted on 2"):
        model.predict(np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="missing LF"):
        LabelModel(3, dependencies=[(0, 5)]).fit(np.array([[0, 1]]))
    with pytest.raises(ValueError, match="class_balance"):
        LabelModel(3, class_balance=[0.5, 0.5])


def test_two_classes_on_a_handful_of_items_follow_unanimous_votes():
    """With two classes and five items the prior must not outvote agreeing LFs (a 50% accuracy prior did)."""
    votes = np.array([[-1, 1, -1, 1], [-1, 1, -1, 1], [-1, 1, 1, -1], [0, -1, -1, 0], [0, -1, -1, -1]])
    pred, _ = LabelModel(2).fit(votes).predict(votes)
    assert pred.tolist() == [1, 1, 1, 0, 0]
    model = LabelModel(2).fit(votes)
    assert (model.accuracy_ > 0.5).all()  # never below chance
