"""Checks of the label and feature stages; they read the persisted tables."""

from typing import Any, cast

import dagster as dg
import numpy as np
import polars as pl

from aiinfra_dagster.assets.keys import (
    CHUNK_EMBEDDINGS_KEY,
    CHUNK_FEATURES_KEY,
    CHUNK_LABELS_KEY,
    DOCUMENT_CHUNKS_KEY,
    HUMAN_LABELS_KEY,
    REFERENCE_LABELS_KEY,
)
from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS
from aiinfra_dagster.features.embeddings import embedding_matrix
from aiinfra_dagster.features.history import latest_rows
from aiinfra_dagster.features.tables import CHUNK_EMBEDDINGS, CHUNK_FEATURES
from aiinfra_dagster.labels.setup import label_classes
from aiinfra_dagster.labels.tables import CHUNK_LABELS, HUMAN_LABELS, REFERENCE_LABELS
from aiinfra_dagster.readiness import class_readiness
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.settings import SettingsResource


@dg.asset_check(asset=REFERENCE_LABELS_KEY, description="Reference labels exist, so labelers can be measured.")
def reference_labels_present(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    reference = lakehouse.store.read(REFERENCE_LABELS)
    return dg.AssetCheckResult(
        passed=reference.height > 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"pages": reference.height, "classes": reference["label"].n_unique()},
    )


@dg.asset_check(
    asset=CHUNK_EMBEDDINGS_KEY,
    blocking=True,
    additional_deps=[DOCUMENT_CHUNKS_KEY],
    description="One unit-length embedding per chunk, all from the same model.",
)
def embeddings_complete(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    store = lakehouse.store
    chunks = set(store.read(DOCUMENT_CHUNKS)["chunk_id"].to_list())
    table = store.read(CHUNK_EMBEDDINGS)
    norms = np.linalg.norm(embedding_matrix(table), axis=1) if table.height else np.ones(0)
    bad_norms = int(np.sum(np.abs(norms - 1.0) > 1e-3))
    missing = len(chunks - set(table["chunk_id"].to_list()))
    models = table["model_id"].n_unique()
    return dg.AssetCheckResult(
        passed=missing == 0 and bad_norms == 0 and models <= 1,
        metadata={"chunks": len(chunks), "missing": missing, "not_unit_length": bad_norms, "model_ids": models},
    )


@dg.asset_check(
    asset=CHUNK_LABELS_KEY,
    blocking=True,
    additional_deps=[DOCUMENT_CHUNKS_KEY, HUMAN_LABELS_KEY],
    description="Every chunk has a label row, confidences are in [0, 1], and every human label is honoured.",
)
def chunk_labels_consistent(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    store = lakehouse.store
    labels = store.read(CHUNK_LABELS)
    chunks = set(store.read(DOCUMENT_CHUNKS)["chunk_id"].to_list())
    human = store.read(HUMAN_LABELS).join(labels, on="chunk_id", how="left", suffix="_final")
    overridden = human.filter(pl.col("label") != pl.col("label_final")).height
    out_of_range = labels.filter((pl.col("confidence") < 0) | (pl.col("confidence") > 1)).height
    missing = len(chunks ^ set(labels["chunk_id"].to_list()))
    return dg.AssetCheckResult(
        passed=missing == 0 and out_of_range == 0 and overridden == 0,
        metadata={
            "rows": labels.height,
            "chunks_without_row_or_row_without_chunk": missing,
            "confidence_out_of_range": out_of_range,
            "human_labels_not_honoured": overridden,
            "unlabeled": labels["label"].null_count(),
        },
    )


@dg.asset_check(
    asset=CHUNK_FEATURES_KEY,
    blocking=True,
    additional_deps=[DOCUMENT_CHUNKS_KEY],
    description="The latest feature row of every current chunk is active, and no other chunk is active.",
)
def features_current(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    store = lakehouse.store
    chunks = set(store.read(DOCUMENT_CHUNKS)["chunk_id"].to_list())
    latest = latest_rows(store.read(CHUNK_FEATURES))
    active = set(latest.filter(pl.col("active"))["chunk_id"].to_list())
    versions = latest.filter(pl.col("active"))["feature_set_version"].n_unique()
    return dg.AssetCheckResult(
        passed=active == chunks and versions <= 1,
        metadata={
            "chunks": len(chunks),
            "active": len(active),
            "missing": len(chunks - active),
            "stale_active": len(active - chunks),
            "feature_set_versions_in_use": versions,
        },
    )


@dg.asset_check(
    asset=CHUNK_LABELS_KEY,
    blocking=True,
    additional_deps=[REFERENCE_LABELS_KEY],
    description=(
        "Every class in labels.classes has at least one labeled chunk (the topic classifier cannot learn a class it "
        "never sees), and there are classes at all; if not, the run stops here naming the classes and the settings."
    ),
)
def every_class_labeled(lakehouse: LakehouseResource, aiinfra: SettingsResource) -> dg.AssetCheckResult:
    store = lakehouse.store
    settings = aiinfra.value
    verdict = class_readiness(
        store.read(CHUNK_LABELS)["label"].to_list(),
        label_classes(settings.labels, store.read(REFERENCE_LABELS)),
        configured=bool(settings.labels.classes),
    )
    return dg.AssetCheckResult(
        passed=verdict.usable,
        description=verdict.message(),
        metadata={
            "reason": verdict.message(),
            **{k: dg.MetadataValue.json(cast(Any, v)) for k, v in verdict.details.items()},
        },
    )
