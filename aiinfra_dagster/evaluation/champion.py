"""The champion pointer: an append-only history, the current champion is its last row.

A promotion needs a passing eval report naming the candidate; a rollback
points back at an earlier champion. Both append a row, so the history says
who was champion when, and why.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import polars as pl

from aiinfra_dagster.evaluation.tables import CHAMPION_HISTORY


class PromotionRefused(RuntimeError):
    """The gate did not pass, or a rollback target does not exist; the pointer is unchanged."""


@dataclass(frozen=True)
class ChampionChange:
    row: dict[str, Any] | None
    """the appended row, or None when the pointer already names the model"""
    current: dict[str, Any]


def current(history: pl.DataFrame) -> dict[str, Any] | None:
    return history.sort("sequence").row(-1, named=True) if history.height else None


def _row(history: pl.DataFrame, action: str, model_version: str, model_path: str, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    sequence = cast(int, history["sequence"].max()) + 1 if history.height else 1
    previous = current(history)
    event_id = hashlib.sha256(f"{sequence}:{action}:{model_version}:{now.isoformat()}".encode()).hexdigest()[:24]
    return {
        "event_id": event_id,
        "sequence": sequence,
        "changed_at": now,
        "action": action,
        "model_version": model_version,
        "model_path": model_path,
        "previous_version": previous["model_version"] if previous else None,
        "eval_report_id": extra.get("eval_report_id"),
        "training_set_version": extra.get("training_set_version"),
        "base_model_sha256": extra.get("base_model_sha256"),
        "dagster_run_id": extra["dagster_run_id"],
        "reason": extra["reason"],
    }


def promote(history: pl.DataFrame, report: dict[str, Any], *, dagster_run_id: str) -> ChampionChange:
    """Make the report's candidate champion; refused unless both gate decisions passed.

    The data versions recorded are the ones the report evaluated (its `inputs`).
    """
    if not (report["gate_passed"] and report["slices_passed"]):
        reasons = "; ".join(
            r
            for r, ok in (
                (report["gate_reason"], report["gate_passed"]),
                (report["slices_reason"], report["slices_passed"]),
            )
            if not ok
        )
        raise PromotionRefused(f"eval report {report['report_id']} did not pass the gate: {reasons}")
    existing = current(history)
    if existing and existing["model_version"] == report["candidate_version"]:
        return ChampionChange(None, existing)
    inputs = json.loads(report["inputs"])
    training_set_version = inputs.get("training_set_version")
    row = _row(
        history,
        "promote",
        report["candidate_version"],
        report["candidate_path"],
        eval_report_id=report["report_id"],
        training_set_version=int(training_set_version) if training_set_version is not None else None,
        base_model_sha256=inputs.get("base_model_sha256"),
        dagster_run_id=dagster_run_id,
        reason=report["gate_reason"],
    )
    return ChampionChange(row, row)


def rollback(history: pl.DataFrame, target: str, *, dagster_run_id: str) -> ChampionChange:
    """Point back at an earlier champion: `previous` (the one before the current) or a model version."""
    now = current(history)
    if now is None:
        raise PromotionRefused("there is no champion to roll back")
    if target == "previous":
        if now["previous_version"] is None:
            raise PromotionRefused(f"champion {now['model_version']} has no previous champion to roll back to")
        target = now["previous_version"]
    if target == now["model_version"]:
        raise PromotionRefused(f"{target} is already the champion")
    earlier = history.filter((pl.col("model_version") == target) & (pl.col("action") == "promote")).sort("sequence")
    if not earlier.height:
        known = sorted(set(history["model_version"].to_list()))
        raise PromotionRefused(f"{target} was never promoted; earlier champions: {known}")
    first = earlier.row(0, named=True)
    if not Path(first["model_path"]).is_dir():
        raise PromotionRefused(f"{target}'s model directory {first['model_path']} no longer exists")
    row = _row(
        history,
        "rollback",
        target,
        first["model_path"],
        eval_report_id=first["eval_report_id"],
        training_set_version=first["training_set_version"],
        base_model_sha256=first["base_model_sha256"],
        dagster_run_id=dagster_run_id,
        reason=f"rollback from {now['model_version']} to {target}",
    )
    return ChampionChange(row, row)


def as_frame(row: dict[str, Any]) -> pl.DataFrame:
    return CHAMPION_HISTORY.conform([row])
