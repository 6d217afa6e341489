"""The reader API and blue/green versions on real embedded engines (qdrant-edge and qdrant-client local mode)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from aiinfra_dagster.retrieval.index import IndexNotFoundError, SearchHit, open_index, open_store
from aiinfra_dagster.retrieval.rows import IndexRows, index_version
from aiinfra_dagster.settings import QdrantSettings
from aiinfra_dagster.testing.retrieval_index import build_test_index

DIM = 16
LABELS = ["net", "text", None]


def make_rows(n: int, seed: int = 0, prefix: str = "c") -> list[dict]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        {
            "chunk_id": f"{prefix}{i:04d}",
            "text": f"chunk {prefix}{i}",
            "document_path": f"library/doc{i % 3}.rst.txt",
            "label": LABELS[i % 3],
            "embedding": vectors[i].tolist(),
        }
        for i in range(n)
    ]


@pytest.fixture(params=["edge", "client_local"])
def qdrant(request, make_settings):
    return make_settings(qdrant={"embedded_engine": request.param, "upsert_batch_size": 7}).qdrant


def test_search_returns_hits_with_payload_and_label_filter(qdrant):
    rows = make_rows(30)
    version = build_test_index(qdrant, rows)
    with open_index(qdrant) as index:
        assert index.version == version
        assert index.count() == 30 and index.count("net") == 10
        queries = np.asarray([rows[4]["embedding"], rows[5]["embedding"]], dtype=np.float32)
        hits = index.search(queries, k=3)
        assert [h[0].chunk_id for h in hits] == ["c0004", "c0005"]  # a chunk's own vector finds it first
        top = hits[0][0]
        assert isinstance(top, SearchHit) and top.text == "chunk c4" and top.document_path == "library/doc1.rst.txt"
        assert top.label == "text" and top.score == pytest.approx(1.0, abs=1e-4)
        assert hits[1][0].label is None
        filtered = index.search(queries, k=5, label="net")
        assert all(len(h) == 5 and {x.label for x in h} == {"net"} for h in filtered)
        assert index.search(queries, k=2, label="no-such-label") == [[], []]


def test_refresh_follows_the_alias_and_old_version_keeps_serving_until_then(qdrant):
    first = build_test_index(qdrant, make_rows(12, seed=1))
    with open_index(qdrant) as index:
        second = build_test_index(qdrant, make_rows(20, seed=2, prefix="d"))
        assert second != first
        assert index.version == first and index.count() == 12  # not switched under the reader's feet
        assert index.refresh() is True
        assert index.version == second and index.count() == 20
        assert index.refresh() is False


def test_same_rows_give_the_same_version_and_no_rebuild(qdrant):
    rows = make_rows(10)
    assert build_test_index(qdrant, rows) == build_test_index(qdrant, list(reversed(rows)))
    store = open_store(qdrant)
    try:
        assert len(store.versions()) == 1
    finally:
        store.close()


def test_bad_query_vectors_are_clear_errors(qdrant):
    build_test_index(qdrant, make_rows(5))
    with open_index(qdrant) as index:
        with pytest.raises(ValueError, match=f"3 dimensions, index .* has {DIM}"):
            index.search(np.zeros((1, 3), dtype=np.float32), k=2)
        with pytest.raises(ValueError, match="NaN"):
            index.search(np.full((1, DIM), np.nan, dtype=np.float32), k=2)
        with pytest.raises(ValueError, match=r"\(n, dim\)"):
            index.search(np.zeros(DIM, dtype=np.float32), k=2)
        assert index.search(np.zeros((0, DIM), dtype=np.float32), k=2) == []


def test_missing_alias_is_a_clear_error(qdrant):
    with pytest.raises(IndexNotFoundError, match="materialize vector_index"):
        open_index(qdrant, alias="nothing-here")


def test_qdrant_section_alone_needs_a_path(make_settings):
    with pytest.raises(ValueError, match="qdrant.path is unset"):
        open_index(QdrantSettings())  # built on its own, outside Settings: nothing resolved its path
    settings = make_settings()
    assert settings.qdrant.path == str(Path(settings.storage.home) / "qdrant")  # resolved at load
    build_test_index(settings.qdrant, make_rows(5))
    with open_index(settings.qdrant) as index:  # the loaded settings' section works on its own
        assert index.count() == 5


def test_version_name_changes_with_text_label_or_model():
    rows = IndexRows.from_records(make_rows(4))
    base = index_version("p", "model-a", rows)
    relabeled = make_rows(4)
    relabeled[0]["label"] = "other"
    edited = make_rows(4)
    edited[1]["text"] = "changed"
    assert base.startswith("p-model-a-")
    assert index_version("p", "model-b", rows) != base
    assert index_version("p", "model-a", IndexRows.from_records(relabeled)) != base
    assert index_version("p", "model-a", IndexRows.from_records(edited)) != base


def test_bad_rows_are_refused():
    with pytest.raises(ValueError, match="unique"):
        IndexRows.from_records(make_rows(2) + make_rows(1))


def test_concurrent_searches_during_refresh_see_no_errors_and_no_empty_results(qdrant):
    build_test_index(qdrant, make_rows(40, seed=3))
    queries = np.asarray([r["embedding"] for r in make_rows(4, seed=9)], dtype=np.float32)
    errors: list[BaseException] = []
    empty = 0
    searches = 0
    stop = threading.Event()
    with open_index(qdrant) as index:

        def reader() -> None:
            nonlocal empty, searches
            while not stop.is_set():
                try:
                    for hits in index.search(queries, k=3):
                        empty += not hits
                    searches += 1
                except BaseException as exc:  # noqa: BLE001 - the test counts every failure
                    errors.append(exc)

        threads = [threading.Thread(target=reader) for _ in range(2)]
        for t in threads:
            t.start()
        versions = []
        for round_ in range(4):
            versions.append(build_test_index(qdrant, make_rows(30 + round_, seed=10 + round_, prefix=f"r{round_}")))
            index.refresh()
        stop.set()
        for t in threads:
            t.join()
        assert index.version == versions[-1]
    assert errors == [] and empty == 0 and searches > 0


def test_edge_shard_is_readable_from_another_process_while_this_one_has_it_open(make_settings):
    q = make_settings().qdrant
    version = build_test_index(q, make_rows(9))
    code = (
        "import json, sys\n"
        "from aiinfra_dagster.retrieval.index import open_index\n"
        "from aiinfra_dagster.settings import QdrantSettings\n"
        "index = open_index(QdrantSettings.model_validate_json(sys.argv[1]))\n"
        "print(json.dumps({'version': index.version, 'count': index.count()}))\n"
        "index.close()\n"
    )
    with open_index(q) as index:
        assert index.count() == 9
        out = subprocess.run(
            [sys.executable, "-c", code, q.model_dump_json()], capture_output=True, text=True, check=True
        )
        assert json.loads(out.stdout) == {"version": version, "count": 9}
        assert index.count() == 9


def test_edge_builds_an_hnsw_graph_from_hnsw_min_points(make_settings):
    qdrant = make_settings(qdrant={"hnsw_min_points": 10}).qdrant
    rows = make_rows(60, seed=4)
    version = build_test_index(qdrant, rows)
    small = make_settings(qdrant={"hnsw_min_points": 100, "path": f"{qdrant.path}-small"}).qdrant
    small_version = build_test_index(small, rows)
    manifest = lambda q, v: json.loads((open_store(q).version_dir(v) / "manifest.json").read_text())  # noqa: E731
    assert manifest(qdrant, version)["hnsw_indexed_vectors"] == 60
    assert manifest(small, small_version)["hnsw_indexed_vectors"] == 0  # exact search below the threshold
    with open_index(qdrant) as index:
        hits = index.search(np.asarray([rows[7]["embedding"]], dtype=np.float32), k=1, label=rows[7]["label"])
        assert hits[0][0].chunk_id == rows[7]["chunk_id"] and index.count() == 60


def test_a_deleted_version_can_be_built_again(make_settings):
    qdrant = make_settings().qdrant
    rows = make_rows(8, seed=5)
    first = build_test_index(qdrant, rows)
    build_test_index(qdrant, make_rows(8, seed=6))
    store = open_store(qdrant)
    try:
        store.delete_version(first)
        assert first not in {v.name for v in store.versions()}
        (store.version_dir(first)).mkdir(parents=True)  # what a delete racing a reader's lock file can leave behind
        (store.version_dir(first) / "open.lock").touch()
    finally:
        store.close()
    assert build_test_index(qdrant, rows) == first
    with open_index(qdrant) as index:
        assert index.version == first and index.count() == 8
