"""drift_report's metadata from a drift outcome, and the window end a run is configured with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import dagster as dg
import numpy as np
import polars as pl
import pytest

from aiinfra_dagster.lakehouse import WriteResult
from aiinfra_dagster.monitoring.drift_verdict import DriftThresholds
from aiinfra_dagster.monitoring.render import drift_report_metadata, verdict_metadata
from aiinfra_dagster.monitoring.run import DriftOutcome, parse_window_end
from tests.unit.test_monitoring_report import T0, run_compare, sample


def outcome(*, shifted: bool) -> DriftOutcome:
    rng = np.random.default_rng(4)
    reference = sample(rng, 80, centre=0.0, topics=["io", "net"], words=6, score=0.7)
    if shifted:
        current = sample(rng, 60, centre=0.8, topics=["gui"], words=20, score=0.3)
    else:
        current = sample(rng, 60, centre=0.0, topics=["io", "net"], words=6, score=0.7)
    comparison = run_compare(reference, current)
    history = pl.DataFrame(
        {
            "window_end": [T0 - timedelta(hours=1), T0],
            "drifted": [False, comparison.verdict.drifted],
            "mmd_p_value": [0.5, 0.01],
            "topic_psi": [0.01, 0.4],
            "retrieval_score_drop": [0.0, 0.3],
        }
    )
    inputs = {
        "training_set_version": 3,
        "inference_logs_version": None,  # no inference log yet: left out
        "classifier_version": "c0ffee",
        "index_version": "aiinfra-1",
        "endpoints": ["ask"],
        "thresholds": DriftThresholds().model_dump(),
    }
    return DriftOutcome(
        report_id="r1",
        start=T0 - timedelta(hours=24),
        end=T0,
        comparison=comparison,
        reference=reference,
        current=current,
        focus=["c2", "c1"] if shifted else [],
        row={"served_model_versions": {"llm": "m1"}},
        inputs=inputs,
        history=history,
        write=WriteResult("drift_reports", "/lake/drift_reports", 5, 2, inserted=1),
    )


@pytest.mark.parametrize("shifted", [False, True])
def test_the_report_metadata_carries_the_verdict_window_and_input_versions(shifted):
    drift = outcome(shifted=shifted)
    meta = drift_report_metadata(drift, DriftThresholds())
    assert list(meta) == [
        "verdict",
        "drifted",
        "reasons",
        "drift_report_id",
        "n_requests",
        "n_reference",
        "window_start",
        "window_end",
        "report",
        "topic_shift",
        "focus_chunk_ids",
        "served_model_versions",
        "input_training_set_version",
        "input_classifier_version",
        "input_index_version",
    ]
    assert meta["verdict"] == ("drift" if shifted else "no drift") and meta["drifted"] is shifted
    assert meta["window_start"] == "2026-11-30T00:00:00+00:00" and meta["window_end"] == "2026-12-01T00:00:00+00:00"
    assert meta["n_requests"] == 60 and meta["n_reference"] == 80
    assert meta["input_training_set_version"] == 3 and meta["input_index_version"] == "aiinfra-1"
    assert meta["focus_chunk_ids"] == dg.MetadataValue.json(drift.focus)
    assert meta["report"].value.startswith(f"**{meta['verdict']}** over 60 requests")
    assert "data:image/png;base64," in meta["report"].value
    assert "| topic | reference share | window share | PSI term |" in meta["topic_shift"].value
    check = verdict_metadata(drift.comparison)  # what the drift check's result carries too
    assert {k: meta[k] for k in check} == check


def test_the_window_end_is_utc_unless_it_says_otherwise():
    assert parse_window_end("2026-12-01T10:30:00") == datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    plus_two = parse_window_end("2026-12-01T10:30:00+02:00")
    assert plus_two.utcoffset() == timedelta(hours=2) and plus_two == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert plus_two.tzinfo == timezone(timedelta(hours=2))
    before = datetime.now(UTC)
    assert before <= parse_window_end(None) <= datetime.now(UTC)
    assert before <= parse_window_end("") <= datetime.now(UTC)
