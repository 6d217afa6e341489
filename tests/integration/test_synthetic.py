"""Synthetic pairs and the training set end to end through dg.materialize on the mini docs tree."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS, GOLDEN_QA
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.synthetic.tables import SYNTHETIC_QA, TRAINING_SET
from tests.helpers import materialization_metadata, materialize_assets

MINI_DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "mini_docs"
UPSTREAM = [
    "raw_documents",
    "validated_documents",
    "quarantine",
    "document_chunks",
    "chunk_duplicates",
    "chunk_embeddings",
    "golden_qa",
]


def test_template_synthetic_set_and_training_set(tmp_path, make_settings, instance):
    human = tmp_path / "human_pairs.jsonl"
    human.write_text(
        json.dumps({"question": "How do I read a file line by line?", "answer": "Iterate over the file object."}) + "\n"
    )
    settings = make_settings(
        python_docs_dir=str(MINI_DOCS),
        chunking={"max_tokens": 96, "min_tokens": 4},
        synthetic={"generator": "template", "max_chunks": 50},
        training_set={"human_pairs_paths": [str(human)], "validation_fraction": 0.3},
    )
    store = DeltaStore(settings.storage.lake_root)
    materialize_assets(settings, instance, UPSTREAM)
    result = materialize_assets(settings, instance, ["synthetic_qa", "training_set"])

    synthetic = store.read(SYNTHETIC_QA)
    meta = materialization_metadata(result, "synthetic_qa")
    assert synthetic.height == meta["generated"].value > 0
    assert synthetic.filter(pl.col("kept")).height == meta["kept"].value > 0
    dropped = synthetic.filter(~pl.col("kept"))
    assert dropped["drop_reason"].null_count() == 0
    assert set(synthetic["chunk_id"]) <= set(store.read(DOCUMENT_CHUNKS)["chunk_id"])
    golden_questions = set(store.read(GOLDEN_QA)["question"])
    assert not golden_questions & set(synthetic.filter(pl.col("kept"))["question"])

    training = store.read(TRAINING_SET)
    assert training.filter(pl.col("source") == "human").height == 1
    assert training.filter(pl.col("source") == "synthetic").height == meta["kept"].value
    assert set(training["split"]) <= {"train", "validation"}
    messages = json.loads(training.filter(pl.col("source") == "synthetic")["messages"][0])
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert "Context:" in messages[1]["content"]
    training_meta = materialization_metadata(result, "training_set")
    assert training_meta["input_synthetic_qa_version"].value == store.version("synthetic_qa")
    assert (training["synthetic_qa_version"] == store.version("synthetic_qa")).all()

    versions = {t: store.version(t) for t in ("synthetic_qa", "training_set")}
    again = materialize_assets(settings, instance, ["synthetic_qa", "training_set"])
    assert materialization_metadata(again, "synthetic_qa")["newly_generated"].value == 0
    assert {t: store.version(t) for t in versions} == versions
