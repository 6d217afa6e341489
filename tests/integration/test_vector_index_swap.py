"""Blue/green across processes: a reader process (as the Bento service is) searches in a loop while this process
builds, verifies and switches new versions and deletes old ones. Zero errors, zero empty results."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aiinfra_dagster.retrieval.build import GoldenQueries, build_and_switch
from aiinfra_dagster.retrieval.index import open_store
from aiinfra_dagster.retrieval.rows import IndexRows
from aiinfra_dagster.testing.retrieval_index import build_test_index
from tests.unit.test_retrieval_index import make_rows

READER = """
import json, sys, time
from pathlib import Path
import numpy as np
from aiinfra_dagster.retrieval.index import open_index, open_store
from aiinfra_dagster.settings import QdrantSettings

settings = QdrantSettings.model_validate_json(sys.argv[1])
work = Path(sys.argv[2])
queries = np.asarray(json.loads(sys.argv[3]), dtype=np.float32)
stats = {"searches": 0, "errors": [], "empty": 0, "versions": []}
deadline = time.monotonic() + 120
with open_index(settings) as index:
    last = False
    while not last and time.monotonic() < deadline:
        last = (work / "stop").exists()  # stop comes after the final switch: one more pass sees that version
        try:
            index.refresh()
            if index.version not in stats["versions"]:
                stats["versions"].append(index.version)
            for label in (None, "net"):
                for hits in index.search(queries, k=3, label=label):
                    stats["empty"] += not hits
            stats["searches"] += 1
        except Exception as exc:
            stats["errors"].append(repr(exc))
        if stats["searches"] == 1:
            (work / "ready").touch()
(work / "stats.json").write_text(json.dumps(stats))
"""


def wait_for(path: Path, proc: subprocess.Popen, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while not path.exists():
        assert proc.poll() is None, f"reader exited early: {proc.communicate()}"
        assert time.monotonic() < deadline, f"{path.name} did not appear within {deadline_s}s"
        time.sleep(0.05)


@pytest.mark.parametrize("keep", [1, 2])
def test_reader_process_sees_no_errors_and_no_empty_results_across_switches(make_settings, tmp_path, keep):
    """keep=1 deletes the previous version right after each switch, while the reader may still be on it."""
    q = make_settings(qdrant={"keep_versions": keep}).qdrant
    first = build_test_index(q, make_rows(200, seed=1))
    queries = [r["embedding"] for r in make_rows(3, seed=99)]
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, q.model_dump_json(), str(tmp_path), json.dumps(queries)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(tmp_path / "ready", proc)
        store = open_store(q)
        versions = []
        try:
            for round_ in range(4):
                rows = IndexRows.from_records(make_rows(300 + 50 * round_, seed=10 + round_, prefix=f"v{round_}-"))
                golden = GoldenQueries(["q"], ["?"], rows.vectors[[0]], [{rows.chunk_ids[0]}])
                versions.append(build_and_switch(store, rows, "model", golden, q).version)
            assert first not in {v.name for v in store.versions()}  # old versions really were deleted meanwhile
        finally:
            store.close()
        (tmp_path / "stop").touch()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read()
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["errors"] == [] and stats["empty"] == 0 and stats["searches"] > 0
    assert stats["versions"][0] == first and stats["versions"][-1] == versions[-1]
    order = [first, *versions]
    assert [order.index(v) for v in stats["versions"]] == sorted(
        order.index(v) for v in stats["versions"]
    )  # never back
