"""Labels and features end to end through dg.materialize on a miniature Python-docs tree."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS
from aiinfra_dagster.features.point_in_time import features_as_of
from aiinfra_dagster.features.tables import CHUNK_EMBEDDINGS, CHUNK_FEATURES
from aiinfra_dagster.labels.tables import (
    CHUNK_LABELS,
    HUMAN_LABEL_QUARANTINE,
    HUMAN_LABELS,
    REFERENCE_LABELS,
)
from aiinfra_dagster.lakehouse import DeltaStore
from tests.helpers import materialization_metadata, materialize_assets

MINI_DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "mini_docs"
STAGE = [
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
    "chunk_features",
]


@pytest.fixture
def settings(tmp_path, make_settings):
    return make_settings(
        python_docs_dir=str(MINI_DOCS),
        chunking={"max_tokens": 96, "min_tokens": 4},
        labels={"human_labels_paths": [str(tmp_path / "human.jsonl")]},
    )


def materialize(settings, instance) -> dg.ExecuteInProcessResult:
    return materialize_assets(settings, instance, STAGE)


def test_labels_and_features_on_a_mini_corpus(settings, instance, tmp_path):
    store = DeltaStore(settings.storage.lake_root)
    # Human labels need chunk ids: build the data stage first, then write the annotators' file.
    (tmp_path / "human.jsonl").write_text("")
    materialize(settings, instance)
    chunks = store.read(DOCUMENT_CHUNKS)
    socket_chunk = chunks.filter(pl.col("path") == "library/socket.rst.txt").sort("position")["chunk_id"][0]
    records = [
        {"chunk_id": socket_chunk, "label": "Text Processing Services", "annotator": "ann"},
        {"chunk_id": "does-not-exist", "label": "Text Processing Services"},
        {"chunk_id": socket_chunk, "label": "Poetry"},
    ]
    (tmp_path / "human.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    before_second = datetime.now(UTC)
    result = materialize(settings, instance)

    reference = store.read(REFERENCE_LABELS)
    assert reference.height == 4 and reference["label"].n_unique() == 2

    labels = store.read(CHUNK_LABELS)
    assert labels.height == chunks.height and set(labels["chunk_id"]) == set(chunks["chunk_id"])
    human_row = labels.filter(pl.col("chunk_id") == socket_chunk).row(0, named=True)
    assert (human_row["label"], human_row["decided_by"], human_row["confidence"]) == (
        "Text Processing Services",
        "human",
        1.0,
    )
    assert human_row["reference_label"] == "Networking and Interprocess Communication"
    machine = labels.filter(pl.col("decided_by") == "label_model")
    assert machine.height > 0 and machine["label"].null_count() == 0
    assert store.read(HUMAN_LABELS)["chunk_id"].to_list() == [socket_chunk]
    reasons = sorted(store.read(HUMAN_LABEL_QUARANTINE)["reason"].to_list())
    assert reasons[0].startswith("unknown chunk_id") and reasons[1].startswith("unknown label 'Poetry'")

    meta = materialization_metadata(result, "chunk_labels")
    table = meta["label_model_vs_majority_vote"].value
    assert "majority vote" in table and "label model" in table
    assert meta["evaluated_on_reference_chunks"].value > 0
    assert meta["input_human_labels_version"].value == store.version("human_labels")

    embeddings = store.read(CHUNK_EMBEDDINGS)
    assert embeddings.height == chunks.height and len(embeddings["embedding"][0]) == 384
    assert (
        materialization_metadata(result, "chunk_embeddings")["embedded"].value == 0
    )  # second run reuses every embedding

    features = store.read(CHUNK_FEATURES)
    first_rows = features.filter(pl.col("event_timestamp") < before_second)
    assert first_rows.height == chunks.height and first_rows["label"].null_count() < chunks.height
    relabeled = features.filter(pl.col("event_timestamp") >= before_second)
    assert relabeled["chunk_id"].to_list() == [socket_chunk]  # only the human-relabeled chunk got a new row
    as_of = features_as_of(
        features,
        pl.DataFrame(
            {"chunk_id": [socket_chunk, socket_chunk], "as_of": [before_second, datetime.now(UTC)]}
        ).with_columns(pl.col("as_of").dt.cast_time_unit("us")),
    )
    assert as_of["label"][0] == first_rows.filter(pl.col("chunk_id") == socket_chunk)["label"][0]
    assert as_of["label"][0] != "Text Processing Services"  # the later human label does not leak backwards
    assert as_of["label"][1] == "Text Processing Services"
    assert materialization_metadata(result, "chunk_features")["rows_appended"].value == 1

    versions = {name: store.version(name) for name in ("chunk_labels", "chunk_embeddings", "chunk_features")}
    third = materialize(settings, instance)
    assert materialization_metadata(third, "chunk_features")["rows_appended"].value == 0
    assert {name: store.version(name) for name in versions} == versions
