"""Verdicts behind the blocking checks that stop a run on an empty stage, with the settings to change."""

from __future__ import annotations

import polars as pl

from aiinfra_dagster.readiness import class_readiness, golden_readiness, training_set_readiness
from aiinfra_dagster.synthetic.tables import SYNTHETIC_QA, TRAINING_SET


def synthetic(kept: int, dropped: dict[str, int]) -> pl.DataFrame:
    rows = [{"kept": True, "drop_reason": None}] * kept + [
        {"kept": False, "drop_reason": reason} for reason, n in dropped.items() for _ in range(n)
    ]
    return SYNTHETIC_QA.conform(
        [
            {
                "candidate_id": f"c{i}",
                "chunk_id": "x",
                "question": "q?",
                "answer": "a",
                "generator": "t",
                "generation_version": "v",
                **r,
            }
            for i, r in enumerate(rows)
        ]
    )


def test_an_empty_training_set_names_what_the_filters_dropped_and_the_settings():
    verdict = training_set_readiness(
        TRAINING_SET.empty(), synthetic(0, {"format.unparseable": 280, "round_trip.not_retrieved": 20})
    )
    assert not verdict.usable
    message = verdict.message()
    assert "kept 0 of 300" in message and "format.unparseable 280" in message
    assert "synthetic.round_trip_k" in message and "training_set.human_pairs_paths" in message
    assert "synthetic.decontamination_threshold" not in message  # nothing was dropped for contamination


def test_golden_readiness():
    assert not golden_readiness(0, 0, "none configured").usable
    assert "golden.paths" in golden_readiness(0, 0).message()
    missing = golden_readiness(20, 0)
    assert not missing.usable and "None of the 20 golden answers" in missing.message()
    assert golden_readiness(20, 3).usable


def test_class_readiness_names_classes_without_examples():
    verdict = class_readiness(["A", "A", None, "B"], ["A", "B", "C"])
    assert not verdict.usable and "C" in verdict.reason and verdict.details["per_class"] == {"A": 2, "B": 1, "C": 0}
    assert "labels.keyword_functions" in verdict.message()
    assert class_readiness(["A", "B"], ["A", "B"]).usable
    sampled = class_readiness(["A"], ["A", "B", "C"], configured=False)  # reference classes of a whole collection
    assert sampled.usable and "1 of 3 reference classes" in sampled.reason
    assert not class_readiness([], []).usable and "labels.classes" in class_readiness([], []).message()
