"""Champion changes are serialised: a rollback that lands while a promotion decides never duplicates a sequence."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from aiinfra_dagster.evaluation.champion import as_frame, promote
from aiinfra_dagster.evaluation.run import update_champion
from aiinfra_dagster.evaluation.tables import CHAMPION_HISTORY
from aiinfra_dagster.lakehouse import DeltaStore, TableSchema


def passing_report(version: str, path: Path) -> dict:
    return {
        "report_id": f"report-{version}",
        "candidate_version": version,
        "candidate_path": str(path),
        "gate_passed": True,
        "slices_passed": True,
        "gate_reason": "candidate beats the incumbent",
        "slices_reason": "",
        "inputs": "{}",
    }


def history_of(store: DeltaStore, tmp_path: Path, versions: list[str]) -> None:
    for version in versions:
        (tmp_path / version).mkdir()
        change = promote(store.read(CHAMPION_HISTORY), passing_report(version, tmp_path / version), dagster_run_id="r")
        assert change.row is not None
        store.write(CHAMPION_HISTORY, as_frame(change.row), mode="append")


class RacedStore(DeltaStore):
    """A real Delta store; right after its first read of champion_history another writer changes the champion."""

    def __init__(self, root: str, rival: DeltaStore) -> None:
        super().__init__(root)
        self.rival, self.raced = rival, False

    def read(self, schema: TableSchema, version: int | None = None) -> pl.DataFrame:
        frame = super().read(schema, version)
        if schema.name == CHAMPION_HISTORY.name and not self.raced:
            self.raced = True
            update_champion(self.rival, rollback_to="v1", eval_report_id=None, dagster_run_id="rival")
        return frame


def test_a_change_decided_on_a_stale_history_is_decided_again(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    history_of(DeltaStore(root), tmp_path, ["v1", "v2", "v3"])
    raced = RacedStore(root, rival=DeltaStore(root))

    update = update_champion(raced, rollback_to="previous", eval_report_id=None, dagster_run_id="ours")

    history = DeltaStore(root).read(CHAMPION_HISTORY).sort("sequence")
    assert history["sequence"].to_list() == [1, 2, 3, 4, 5]
    # The rival rolled v3 back to v1 (sequence 4); "previous" was then decided against that: back to v3.
    assert history.select("action", "model_version", "dagster_run_id").rows()[3:] == [
        ("rollback", "v1", "rival"),
        ("rollback", "v3", "ours"),
    ]
    assert update.changed and update.current["model_version"] == "v3" and update.current["sequence"] == 5


def test_insert_new_skips_a_row_whose_key_exists(tmp_path: Path) -> None:
    store = DeltaStore(str(tmp_path / "lake"))
    history_of(store, tmp_path, ["v1"])
    row = store.read(CHAMPION_HISTORY).row(0, named=True)
    again = store.insert_new(
        CHAMPION_HISTORY, as_frame({**row, "event_id": "other", "model_version": "x"}), ["sequence"]
    )
    assert again.inserted == 0 and store.read(CHAMPION_HISTORY).height == 1
