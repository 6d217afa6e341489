"""topic_classifier through dg.materialize on the mini docs tree: trained on chunk_labels, scored on held-out pages."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.training.classifier_predict import predict_topics
from aiinfra_dagster.training.tables import EXPERIMENTS
from tests.helpers import materialization_metadata, materialize_assets
from tests.integration.test_labels_features import STAGE

MINI_DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "mini_docs"
UPSTREAM = [key for key in STAGE if key != "chunk_features"]


def test_topic_classifier_trains_scores_and_is_reused(make_settings, instance):
    settings = make_settings(
        python_docs_dir=str(MINI_DOCS),
        chunking={"max_tokens": 96, "min_tokens": 4},
        classifier={"validation_fraction": 0.5, "epochs": 2, "max_length": 64},
    )
    materialize_assets(settings, instance, UPSTREAM)
    result = materialize_assets(settings, instance, ["topic_classifier"])
    meta = materialization_metadata(result, "topic_classifier")
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "topic_classifier_beats_majority_class"
    assert check.metadata["majority_class_accuracy"].value > 0

    assert meta["train_documents"].value > 0 and meta["held_out_documents"].value > 0
    assert meta["evaluation_examples"].value > 0 and meta["train_examples"].value > 0
    assert 0.0 <= meta["accuracy"].value <= 1.0 and 0.0 <= meta["macro_f1"].value <= 1.0
    assert "| class |" in meta["per_class"].value
    out = Path(meta["model_path"].value)
    assert {"metrics.json", "history.jsonl", "adapter", "training_args.json"} <= {p.name for p in out.iterdir()}
    ((label, probability),) = predict_topics(out, ["The socket module provides access to the BSD socket interface."])
    assert label in json.loads((out / "metrics.json").read_text())["classes"] and 0.0 < probability <= 1.0

    store = DeltaStore(settings.storage.lake_root)
    row = store.read(EXPERIMENTS).filter(pl.col("asset") == "topic_classifier")
    assert row.height == 1 and json.loads(row["metrics"][0])["accuracy"] == meta["accuracy"].value
    assert json.loads(row["inputs"][0])["chunk_labels"] == store.version("chunk_labels")

    again = materialization_metadata(materialize_assets(settings, instance, ["topic_classifier"]), "topic_classifier")
    assert again["reused_finished_model"].value is True
    assert again["model_version"].value == meta["model_version"].value
    assert store.read(EXPERIMENTS).filter(pl.col("asset") == "topic_classifier").height == 1
