"""Answer metrics, intervals, the gate and the classifier scores against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from aiinfra_dagster.evaluation.classifier import score_predictions
from aiinfra_dagster.evaluation.compare import improvement, paired, slice_deltas
from aiinfra_dagster.evaluation.gate import headline_decision, slice_decision
from aiinfra_dagster.evaluation.metrics import (
    Interval,
    bootstrap_ci,
    cosine_rows,
    lcs_length,
    normalize_tokens,
    paired_delta_ci,
    perplexity,
    rouge_l,
    token_f1,
)
from aiinfra_dagster.evaluation.pipeline import sample_questions
from aiinfra_dagster.evaluation.report import top_confusions
from aiinfra_dagster.settings import PromotionSettings


def test_normalization_drops_case_punctuation_and_articles():
    assert normalize_tokens("The Cat, sat on A mat!") == ["cat", "sat", "on", "mat"]


def test_token_f1_by_hand():
    # pred {cat, sat, on, mat} vs ref {cat, sat}: P = 2/4, R = 2/2, F1 = 2/3
    assert token_f1("The cat sat on the mat", "a cat sat") == pytest.approx(2 / 3)
    assert token_f1("x", "y") == 0.0
    assert token_f1("", "") == 1.0 and token_f1("", "x") == 0.0


def test_rouge_l_by_hand():
    assert lcs_length(list("xyzw"), list("xzv")) == 2
    # LCS(x y z w, x z v) = 2: P = 2/4, R = 2/3, F = 2PR/(P+R) = 4/7
    assert rouge_l("x y z w", "x z v") == pytest.approx(4 / 7)
    # order matters for ROUGE-L but not for token F1
    assert rouge_l("police killed gunman", "gunman killed police") == pytest.approx(1 / 3)
    assert token_f1("police killed gunman", "gunman killed police") == 1.0


def test_cosine_and_perplexity():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    b = np.array([[0.0, 1.0], [2.0, 2.0], [1.0, 0.0]])
    assert cosine_rows(a, b).tolist() == pytest.approx([0.0, 1.0, 0.0])
    assert perplexity(2 * math.log(4), 2) == pytest.approx(4.0)
    assert perplexity(1.0, 0) == math.inf


def test_bootstrap_interval_brackets_the_mean_and_shrinks_with_n():
    constant = bootstrap_ci([0.4] * 10)
    assert (constant.mean, constant.low, constant.high) == pytest.approx((0.4, 0.4, 0.4))
    coin = bootstrap_ci([0.0, 1.0] * 50, resamples=2000)
    assert coin.mean == pytest.approx(0.5) and coin.low < 0.5 < coin.high
    # normal approximation: half-width 1.96 * sqrt(0.25 / 100) = 0.098
    assert 0.15 < coin.high - coin.low < 0.25
    bigger = bootstrap_ci([0.0, 1.0] * 500, resamples=2000)
    assert bigger.high - bigger.low < (coin.high - coin.low) / 2
    assert bootstrap_ci([0.1, 0.9], seed=3) == bootstrap_ci([0.1, 0.9], seed=3)
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([0.1, float("nan")])


def test_paired_delta_is_exact_for_a_constant_shift():
    base = [0.1, 0.5, 0.2, 0.9]
    delta = paired_delta_ci([b + 0.1 for b in base], base)
    assert (delta.mean, delta.low, delta.high) == pytest.approx((0.1, 0.1, 0.1))
    with pytest.raises(ValueError, match="differ in length"):
        paired_delta_ci([1.0], [1.0, 2.0])


def _rows(values: dict[str, float], nll: dict[str, float], slices: dict[str, str]) -> pl.DataFrame:
    ids = sorted(values)
    return pl.DataFrame(
        {
            "qa_id": ids,
            "slice": [slices[i] for i in ids],
            "token_f1": [values[i] for i in ids],
            "rouge_l": [values[i] for i in ids],
            "embedding_similarity": [values[i] for i in ids],
            "reference_nll": [nll[i] for i in ids],
        }
    )


def test_improvement_sign_and_slices():
    slices = {"q1": "faq/a", "q2": "faq/a", "q3": "faq/b", "q4": "faq/b"}
    cand = _rows({"q1": 0.9, "q2": 0.8, "q3": 0.1, "q4": 0.2}, {"q1": 1.0, "q2": 1.0, "q3": 1.0, "q4": 1.0}, slices)
    inc = _rows({"q1": 0.5, "q2": 0.4, "q3": 0.3, "q4": 0.4}, {"q1": 2.0, "q2": 2.0, "q3": 2.0, "q4": 2.0}, slices)
    pairs = paired(cand, inc)
    f1 = improvement("token_f1", pairs)
    assert f1.mean == pytest.approx((0.4 + 0.4 - 0.2 - 0.2) / 4)
    # lower NLL is better: an improvement of +1.0 per question
    assert improvement("reference_perplexity", pairs).mean == pytest.approx(1.0)
    by_slice = {s.slice: s for s in slice_deltas("token_f1", pairs, min_questions=2)}
    assert by_slice["faq/a"].delta == pytest.approx(0.4) and by_slice["faq/b"].delta == pytest.approx(-0.2)
    assert slice_deltas("token_f1", pairs, min_questions=2)[0].slice == "faq/b"  # worst first

    strict = PromotionSettings(slice_tolerance=0.1, min_slice_questions=2)
    blocked = slice_decision("token_f1", slice_deltas("token_f1", pairs, 2), strict)
    assert not blocked.passed and "faq/b (-0.200 on 2)" in blocked.reason
    assert slice_decision("token_f1", slice_deltas("token_f1", pairs, 3), strict).passed  # slices too small to gate


def test_headline_gate_criteria():
    ci = PromotionSettings(min_improvement=0.0, criterion="ci_lower_bound")
    assert headline_decision("token_f1", "grounded", "champion", Interval(0.05, 0.01, 0.09, 30), ci).passed
    blocked = headline_decision("token_f1", "grounded", "champion", Interval(0.05, -0.01, 0.11, 30), ci)
    assert not blocked.passed and blocked.reason.startswith("blocked") and "-0.010" in blocked.reason
    margin = PromotionSettings(min_improvement=0.02, criterion="mean")
    assert headline_decision("token_f1", "grounded", "base", Interval(0.03, -0.01, 0.07, 30), margin).passed
    assert not headline_decision("token_f1", "grounded", "base", Interval(0.01, -0.01, 0.03, 30), margin).passed
    assert not headline_decision("token_f1", "grounded", "base", Interval(math.nan, math.nan, math.nan, 0), ci).passed


def test_classifier_scores_by_hand():
    reference = ["a", "a", "b", "b", "c"]
    predicted = ["a", "b", "b", "b", None]
    label_model = ["a", "a", "b", None, "c"]
    scored = score_predictions(predicted, reference, label_model, resamples=200)
    assert scored.classes == ["a", "b", "c"]
    assert scored.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    assert scored.accuracy.mean == pytest.approx(3 / 5)
    # F1: a = 2*1/(1+2) = 2/3, b = 2*2/(3+2) = 4/5, c = 0
    assert scored.macro_f1 == pytest.approx((2 / 3 + 4 / 5 + 0) / 3)
    assert scored.label_model_accuracy == pytest.approx(4 / 5)
    assert top_confusions(scored.classes, scored.confusion.tolist(), 5) == [["a", "b", 1]]


def test_question_sample_is_stable_and_recorded():
    golden = pl.DataFrame(
        {
            "qa_id": [f"q{i:02d}" for i in range(20)],
            "question": ["?"] * 20,
            "answer": ["!"] * 20,
            "source": ["s"] * 20,
            "section": [""] * 20,
        }
    )
    first = sample_questions(golden, 5, seed=0)["qa_id"].to_list()
    assert first == sample_questions(golden.reverse(), 5, seed=0)["qa_id"].to_list() and len(first) == 5
    assert first != sample_questions(golden, 5, seed=1)["qa_id"].to_list()
    assert sample_questions(golden, None, 0).height == 20
