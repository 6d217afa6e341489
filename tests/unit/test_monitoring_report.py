"""The drift report's plain parts: the traffic window, the reference sample, focus chunks, the verdict."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import polars as pl

from aiinfra_dagster.monitoring.charts import comparison_png, history_png
from aiinfra_dagster.monitoring.drift_verdict import DriftThresholds
from aiinfra_dagster.monitoring.report import (
    TrafficSample,
    compare,
    focus_chunks,
    reference_questions,
    report_id,
    top_scores,
    window_days,
    window_requests,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def logs() -> pl.DataFrame:
    rows = [
        ("a", T0 - timedelta(hours=30), "ask", 200, "old question", ["c1"]),
        ("b", T0 - timedelta(hours=2), "ask", 200, "recent question", ["c2", "c1"]),
        ("c", T0 - timedelta(hours=1), "ask", 400, None, None),
        ("d", T0 - timedelta(minutes=5), "search", 200, "a search", ["c3"]),
        ("e", T0 - timedelta(minutes=1), "ask", 200, "latest question", ["c2"]),
        ("f", T0 - timedelta(minutes=3), "search", 200, "a filtered search", ["c4"]),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "request_id": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "endpoint": pl.String,
            "status_code": pl.Int64,
            "query": pl.String,
            "retrieved_ids": pl.List(pl.String),
        },
        orient="row",
    ).with_columns(label_filter=pl.when(pl.col("request_id") == "f").then(pl.lit("Networking")).otherwise(None))


def test_window_keeps_successful_requests_of_the_endpoint_inside_the_window():
    window = window_requests(logs(), endpoints=["ask"], start=T0 - timedelta(hours=24), end=T0)
    assert window["request_id"].to_list() == ["b", "e"]
    assert focus_chunks(window, 5) == ["c2", "c1"]  # c2 retrieved twice
    assert focus_chunks(window, 1) == ["c2"] and focus_chunks(window, 0) == []
    both = window_requests(logs(), endpoints=["ask", "search"], start=T0 - timedelta(hours=24), end=T0)
    assert both["request_id"].to_list() == ["b", "d", "e"]  # the label-filtered search is left out


def test_window_days_are_the_utc_days_the_window_touches():
    assert window_days(T0 - timedelta(hours=24), T0) == [(T0 - timedelta(days=1)).date()]  # end is exclusive
    assert window_days(T0 - timedelta(hours=25), T0 + timedelta(minutes=1)) == [
        date(2026, 11, 29),
        date(2026, 11, 30),
        date(2026, 12, 1),
    ]
    local = timezone(timedelta(hours=-5))
    assert window_days(datetime(2026, 11, 30, 22, tzinfo=local), datetime(2026, 11, 30, 23, tzinfo=local)) == [
        T0.date()
    ]


def test_reference_is_a_stable_sample_of_unique_train_questions():
    ts = pl.DataFrame({"question": ["q1", "q2", "q2", "q3", "v1"], "split": ["train"] * 4 + ["validation"]})
    sample = reference_questions(ts, 2, seed=0)
    assert len(sample) == 2 and set(sample) <= {"q1", "q2", "q3"}
    assert sample == reference_questions(ts.reverse(), 2, seed=0)
    assert sorted(reference_questions(ts, 10, seed=0)) == ["q1", "q2", "q3"]


def sample(
    rng: np.random.Generator, n: int, *, centre: float, topics: list[str], words: int, score: float
) -> TrafficSample:
    vectors = rng.normal(centre, 1.0, size=(n, 16))
    return TrafficSample(
        [" ".join(["w"] * int(rng.integers(words, words + 4))) for _ in range(n)],
        vectors,
        [topics[i % len(topics)] for i in range(n)],
        list(np.clip(rng.normal(score, 0.05, n), -1, 1)),
    )


def run_compare(reference: TrafficSample, current: TrafficSample, **limits):
    return compare(
        reference,
        current,
        thresholds=DriftThresholds(**limits),
        low_confidence_score=0.35,
        permutations=100,
        max_samples=200,
        seed=0,
    )


def test_same_distribution_is_no_drift_and_a_planted_shift_is_drift():
    rng = np.random.default_rng(1)
    reference = sample(rng, 120, centre=0.0, topics=["io", "net", "text"], words=6, score=0.7)
    same = run_compare(reference, sample(rng, 60, centre=0.0, topics=["io", "net", "text"], words=6, score=0.7))
    assert same.label == "no drift" and same.verdict.reasons == []
    shifted = run_compare(reference, sample(rng, 60, centre=0.8, topics=["gui"], words=20, score=0.3))
    assert shifted.label == "drift"
    crossed = {name for name, s in shifted.verdict.signals.items() if s.crossed}
    assert crossed == {"mmd", "psi", "ks", "score_drop", "low_confidence_share"}


def test_too_few_requests_is_no_verdict_and_one_request_computes_nothing():
    rng = np.random.default_rng(2)
    reference = sample(rng, 50, centre=0.0, topics=["io"], words=6, score=0.7)
    few = run_compare(reference, sample(rng, 10, centre=2.0, topics=["gui"], words=20, score=0.2), min_requests=30)
    assert few.label == "no verdict" and "only 10 requests" in few.verdict.reasons[0] and few.mmd is not None
    one = run_compare(reference, sample(rng, 1, centre=2.0, topics=["gui"], words=20, score=0.2))
    assert one.mmd is None and one.topic_psi is None and one.label == "no verdict"


def test_report_id_depends_on_window_and_inputs():
    a = report_id(T0, T0 + timedelta(hours=1), {"training_set_version": 3})
    assert a == report_id(T0, T0 + timedelta(hours=1), {"training_set_version": 3})
    assert a != report_id(T0, T0 + timedelta(hours=1), {"training_set_version": 4})
    assert a != report_id(T0, T0 + timedelta(hours=2), {"training_set_version": 3})


def test_top_scores_and_charts():
    assert top_scores([[0.2, 0.9], None, []]) == [0.9, 0.0, 0.0]
    rng = np.random.default_rng(3)
    reference = sample(rng, 40, centre=0.0, topics=["io", "net"], words=6, score=0.7)
    current = sample(rng, 40, centre=1.0, topics=["gui"], words=12, score=0.4)
    png = comparison_png(reference, current, run_compare(reference, current))
    assert png.startswith(b"\x89PNG")
    history = pl.DataFrame(
        {
            "window_end": [T0, T0 + timedelta(hours=1)],
            "drifted": [False, True],
            "mmd_p_value": [0.5, 0.001],
            "topic_psi": [0.01, None],
            "retrieval_score_drop": [0.0, 0.2],
        }
    )
    assert history_png(history, DriftThresholds()).startswith(b"\x89PNG")
