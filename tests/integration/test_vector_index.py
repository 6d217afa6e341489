"""vector_index end to end through dg.materialize on the mini Python-docs corpus (quick profile, real Qdrant engine)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.models.embedding import load_encoder
from aiinfra_dagster.models.locate import resolve_model_path
from aiinfra_dagster.retrieval.index import open_index, open_store
from tests.helpers import materialization_metadata, materialize_assets

MINI_DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "mini_docs"
UPSTREAM = [
    "raw_documents",
    "validated_documents",
    "quarantine",
    "document_chunks",
    "chunk_duplicates",
    "chunk_embeddings",
    "reference_labels",
    "human_labels",
    "human_label_quarantine",
    "chunk_labels",
    "golden_qa",
]
NEW_PAGE = """\
:mod:`!zipapp` --- Manage executable Python zip archives
========================================================

This module provides tools to manage the creation of zip files containing Python code, which can be executed
directly by the Python interpreter. The module provides both a command line interface and a Python API.

Basic example
-------------

The following example shows how the command line interface can be used to create an executable archive from a
directory containing Python code. When run, the archive will execute the main function from the module myapp.
"""


@pytest.fixture
def docs(tmp_path) -> Path:
    return Path(shutil.copytree(MINI_DOCS, tmp_path / "docs"))


@pytest.fixture
def settings(docs, make_settings):
    return make_settings(python_docs_dir=str(docs), chunking={"max_tokens": 96, "min_tokens": 4})


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key == dg.AssetKey("vector_index")}


def test_vector_index_builds_verifies_reuses_and_switches(settings, instance, docs):
    lake = DeltaStore(settings.storage.lake_root)
    first = materialize_assets(settings, instance, [*UPSTREAM, "vector_index"])
    meta = {k: v.value for k, v in materialization_metadata(first, "vector_index").items()}
    chunks = lake.read(DOCUMENT_CHUNKS)
    assert meta["points"] == chunks.height > 0 and meta["alias"] == settings.qdrant.alias
    assert meta["built"] is True and meta["switched"] is True and meta["previous_version"] == "None"
    assert meta["engine"] == "qdrant-edge" and meta["index_version"].startswith(
        f"aiinfra-{meta['embedding_model_id'][:12]}-"
    )
    assert meta["questions_evaluated"] == 3 and meta["questions_left_out"] == 0  # the three FAQ questions
    for key in ("recall_at_1", "recall_at_5", "recall_at_10", "mrr"):
        assert isinstance(meta[key], float) and 0.0 <= meta[key] <= 1.0
    assert meta["recall_at_1"] <= meta["recall_at_5"] <= meta["recall_at_10"] and meta["recall_at_10"] >= 0.5
    assert "recall@10" in meta["retrieval_metrics"] and "| point count | yes |" in meta["verification"]
    checks = check_results(first)
    assert checks["vector_index_alias_current"].passed and checks["vector_index_recall"].passed

    # The served index answers a real question with the FAQ chunk that answers it.
    encoder = load_encoder(str(resolve_model_path(settings.models.embedding, "models.embedding")))
    with open_index(settings.qdrant) as index:
        assert index.version == meta["index_version"] and index.count() == chunks.height
        hits = index.search(encoder.encode(["How do I open a network connection?"]), k=3)[0]
        assert any(h.document_path == "faq/general.rst.txt" and "create_connection" in h.text for h in hits)
        assert all(h.score >= hits[-1].score for h in hits)

    # Unchanged inputs: the same version, nothing built, nothing switched, no new points.
    again = materialize_assets(settings, instance, ["vector_index"])
    meta2 = {k: v.value for k, v in materialization_metadata(again, "vector_index").items()}
    assert (meta2["index_version"], meta2["built"], meta2["switched"]) == (meta["index_version"], False, False)
    store = open_store(settings.qdrant)
    try:
        assert [v.name for v in store.versions()] == [meta["index_version"]]
    finally:
        store.close()

    # A changed chunk set: a new version, verified, then the alias moves; the old one is kept for rollback.
    (docs / "library" / "zipapp.rst.txt").write_text(NEW_PAGE)
    third = materialize_assets(settings, instance, [*UPSTREAM, "vector_index"])
    meta3 = {k: v.value for k, v in materialization_metadata(third, "vector_index").items()}
    grown = lake.read(DOCUMENT_CHUNKS)
    assert grown.height > chunks.height and meta3["points"] == grown.height
    assert meta3["index_version"] != meta["index_version"] and meta3["previous_version"] == meta["index_version"]
    assert meta3["built"] is True and meta3["switched"] is True
    new_chunks = grown.height - chunks.height
    assert (meta3["chunks_new_vs_previous"], meta3["chunks_dropped_vs_previous"]) == (new_chunks, 0)
    assert meta3["chunks_unchanged_vs_previous"] == chunks.height and meta2["chunks_new_vs_previous"] == 0
    assert materialization_metadata(third, "chunk_embeddings")["reused"].value == chunks.height  # not re-embedded
    with open_index(settings.qdrant) as index:
        assert index.version == meta3["index_version"] and index.count() == grown.height
        hit = index.search(encoder.encode(["create an executable zip archive of Python code"]), k=1)[0][0]
        assert hit.document_path == "library/zipapp.rst.txt"
    store = open_store(settings.qdrant)
    try:
        assert {v.name for v in store.versions()} == {meta["index_version"], meta3["index_version"]}
    finally:
        store.close()
    assert check_results(third)["vector_index_alias_current"].passed


def test_vector_index_on_the_qdrant_client_collection_path(make_settings, docs, instance):
    """The server code path (collections + aliases via qdrant-client), exercised on qdrant-client local mode."""
    settings = make_settings(
        python_docs_dir=str(docs),
        chunking={"max_tokens": 96, "min_tokens": 4},
        qdrant={"embedded_engine": "client_local"},
    )
    result = materialize_assets(settings, instance, [*UPSTREAM, "vector_index"])
    meta = {k: v.value for k, v in materialization_metadata(result, "vector_index").items()}
    assert meta["engine"] == "qdrant-client-local" and meta["switched"] is True
    assert check_results(result)["vector_index_alias_current"].passed
    store = open_store(settings.qdrant)
    try:
        assert store.alias_target(settings.qdrant.alias) == meta["index_version"]
        reader = store.open_version(meta["index_version"])
        assert reader.count() == meta["points"]
        probe = np.asarray([[1.0] + [0.0] * 383], dtype=np.float32)
        assert len(reader.search(probe, k=2)[0]) == 2
    finally:
        store.close()
