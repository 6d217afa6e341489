"""The champion pointer's entry (update_champion) on a real Delta table, and champion_model's metadata."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from aiinfra_dagster.evaluation.champion import PromotionRefused
from aiinfra_dagster.evaluation.render import champion_history_markdown, champion_metadata
from aiinfra_dagster.evaluation.run import update_champion
from aiinfra_dagster.evaluation.tables import CHAMPION_HISTORY
from aiinfra_dagster.lakehouse import DeltaStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def promoted(sequence: int, version: str, path: Path, previous: str | None, training_set: int | None) -> dict:
    return {
        "event_id": f"e{sequence}",
        "sequence": sequence,
        "changed_at": T0 + timedelta(hours=sequence),
        "action": "promote",
        "model_version": version,
        "model_path": str(path),
        "previous_version": previous,
        "eval_report_id": f"report-{sequence}",
        "training_set_version": training_set,
        "base_model_sha256": None,
        "dagster_run_id": f"run-{sequence}",
        "reason": "candidate beats the incumbent",
    }


@pytest.fixture
def store(tmp_path: Path) -> DeltaStore:
    store = DeltaStore(str(tmp_path / "lake"))
    (tmp_path / "m1").mkdir()
    (tmp_path / "m2").mkdir()
    rows = [promoted(1, "m1", tmp_path / "m1", None, None), promoted(2, "m2", tmp_path / "m2", "m1", 7)]
    store.write(CHAMPION_HISTORY, CHAMPION_HISTORY.conform(rows), mode="append")
    return store


def test_a_rollback_is_a_new_row_and_the_metadata_shows_it(store, tmp_path):
    update = update_champion(store, rollback_to="previous", eval_report_id=None, dagster_run_id="run-3")
    assert update.changed and update.current["model_version"] == "m1" and update.current["action"] == "rollback"
    assert update.write.version == store.version(CHAMPION_HISTORY.name)
    assert update.recent["sequence"].to_list() == [3, 2, 1]  # newest first

    meta = champion_metadata(update)
    assert list(meta) == [
        "model_version",
        "model_path",
        "action",
        "changed",
        "previous_version",
        "eval_report_id",
        "reason",
        "input_training_set_version",
        "input_base_model_sha256",
        "champion_history_version",
        "history",
    ]
    assert meta["model_version"] == "m1" and meta["previous_version"] == "m2" and meta["eval_report_id"] == "report-1"
    assert meta["model_path"] == dg.MetadataValue.path(str(tmp_path / "m1"))
    assert meta["reason"] == "rollback from m2 to m1"
    assert meta["input_training_set_version"] == -1 and meta["input_base_model_sha256"] == ""  # none recorded
    assert meta["champion_history_version"] == update.write.version
    rows = meta["history"].value.splitlines()[2:]
    assert rows[0].startswith("| 3 | ") and "| rollback | m1 | m2 | report-1 |" in rows[0]
    assert rows[2] == "| 1 | 2026-03-01 13:00:00 | promote | m1 |  | report-1 |"


def test_nothing_changes_without_a_passing_report(store):
    with pytest.raises(PromotionRefused, match="no eval_report has been materialized"):
        update_champion(store, rollback_to="", eval_report_id=None, dagster_run_id="run-3")
    with pytest.raises(PromotionRefused, match="already the champion"):
        update_champion(store, rollback_to="m2", eval_report_id=None, dagster_run_id="run-3")
    assert store.read(CHAMPION_HISTORY).height == 2


def test_the_history_table_of_an_empty_pointer_has_only_its_header():
    assert champion_history_markdown(CHAMPION_HISTORY.conform([])).splitlines() == [
        "| # | when (UTC) | action | model | previous | eval report |",
        "|---|---|---|---|---|---|",
    ]
