"""Blue/green across processes: a reader in another process (as the Bento service is) searches in a loop and
refreshes while this process builds, verifies, switches and garbage-collects versions. Zero errors, no empty
results, and the reader follows every switch, although with keep_versions=1 each old version is deleted right
after the switch, possibly while the reader still has it open (POSIX keeps open shard files readable)."""

from __future__ import annotations

import multiprocessing as mp
import queue
import time

import numpy as np

from aiinfra_dagster.retrieval.build import GoldenQueries, build_and_switch
from aiinfra_dagster.retrieval.index import open_index, open_store
from aiinfra_dagster.retrieval.rows import IndexRows
from aiinfra_dagster.settings import Settings

DIM = 16
DEADLINE_S = 120.0  # a bound on waiting for the other process, not a speed assertion


def rows_for(round_: int, n: int = 40) -> IndexRows:
    rng = np.random.default_rng(round_)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return IndexRows.from_records(
        [
            {
                "chunk_id": f"r{round_}-{i:03d}",
                "text": f"round {round_} chunk {i}",
                "document_path": f"library/doc{i % 4}.rst.txt",
                "label": ["net", "text"][i % 2],
                "embedding": vectors[i].tolist(),
            }
            for i in range(n)
        ]
    )


def no_golden() -> GoldenQueries:
    return GoldenQueries(qa_ids=[], questions=[], vectors=np.zeros((0, DIM), dtype=np.float32), relevant=[])


def reader_process(settings_json: str, stop, searches, empties, errors, seen) -> None:
    """Search (unfiltered and label-filtered) and refresh until told to stop; report every version seen."""
    settings = Settings.model_validate_json(settings_json)
    queries = np.random.default_rng(99).standard_normal((3, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    with open_index(settings.qdrant) as index:
        seen.put(index.version)
        while not stop.is_set():
            try:
                if index.refresh():
                    seen.put(index.version)
                results = index.search(queries, k=3) + index.search(queries, k=3, label="net")
                with empties.get_lock():
                    empties.value += sum(1 for hits in results if not hits)
            except Exception as exc:  # noqa: BLE001 - the test counts every failure
                errors.put(repr(exc))
            with searches.get_lock():
                searches.value += 1


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the reader process did not {what} within {DEADLINE_S} s")
        time.sleep(0.01)


def drain(q) -> list:
    out = []
    while True:
        try:
            out.append(q.get(timeout=0.05))
        except queue.Empty:
            return out


def test_reader_in_another_process_sees_no_errors_or_empty_results_across_switches(make_settings):
    # qdrant-edge (the embedded default) is the engine several processes can open; qdrant-client local mode locks
    # its directory to one process, and a server resolves the alias itself.
    settings = make_settings(qdrant={"embedded_engine": "edge", "keep_versions": 1, "sample_queries": 4})
    q = settings.qdrant
    store = open_store(q)
    ctx = mp.get_context("spawn")  # a fresh interpreter, like `bentoml serve`
    stop, searches, empties = ctx.Event(), ctx.Value("i", 0), ctx.Value("i", 0)
    errors, seen = ctx.Queue(), ctx.Queue()
    try:
        versions = [build_and_switch(store, rows_for(0), "test-model", no_golden(), q).version]
        reader = ctx.Process(
            target=reader_process, args=(settings.model_dump_json(), stop, searches, empties, errors, seen)
        )
        reader.start()
        seen_versions: list[str] = []
        try:
            for round_ in range(1, 5):
                before = searches.value
                wait_for(lambda before=before: searches.value >= before + 3, "keep searching")
                build = build_and_switch(store, rows_for(round_), "test-model", no_golden(), q)
                assert build.switched and build.deleted_versions == [versions[-1]]
                versions.append(build.version)

                def followed(version: str = build.version) -> bool:
                    seen_versions.extend(drain(seen))
                    return version in seen_versions

                wait_for(followed, "follow the switch")
                after = searches.value
                wait_for(lambda after=after: searches.value >= after + 3, "search the new version")
        finally:
            stop.set()
            reader.join(timeout=DEADLINE_S)
        assert reader.exitcode == 0
        seen_versions.extend(drain(seen))
        assert drain(errors) == [] and empties.value == 0 and searches.value > 0
        assert seen_versions == versions  # every switch followed, in order, none skipped
        assert [v.name for v in store.versions()] == [versions[-1]]  # keep_versions=1: only the served one is left
    finally:
        store.close()
