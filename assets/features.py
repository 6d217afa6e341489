"""Feature assets: chunk embeddings (computed once, shared) and the versioned feature table."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from aiinfra_dagster.assets.common import DELTA, OWNERS, POLARS, PYTORCH, markdown_table
from aiinfra_dagster.assets.keys import CHUNK_EMBEDDINGS_KEY, CHUNK_FEATURES_KEY, CHUNK_LABELS_KEY, DOCUMENT_CHUNKS_KEY
from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS
from aiinfra_dagster.features.definitions import FEATURES, compute_text_features, feature_set_version
from aiinfra_dagster.features.embeddings import plan_embeddings
from aiinfra_dagster.features.history import feature_updates, latest_rows
from aiinfra_dagster.features.tables import CHUNK_EMBEDDINGS, CHUNK_FEATURES
from aiinfra_dagster.labels.tables import CHUNK_LABELS
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource

GROUP = "features"


@dg.asset(
    key=CHUNK_EMBEDDINGS_KEY,
    group_name=GROUP,
    deps=[DOCUMENT_CHUNKS_KEY],
    kinds={DELTA, PYTORCH},
    owners=OWNERS,
    description=(
        "One L2-normalised embedding per chunk from the configured encoder (all-MiniLM-L6-v2 by default). "
        "Computed once per (chunk, model): unchanged chunks are never re-embedded."
    ),
)
def chunk_embeddings(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource, embedding_model: EmbeddingModelResource
) -> dg.MaterializeResult:
    store = lakehouse.store
    chunks_version = store.version(DOCUMENT_CHUNKS.name)
    chunks = store.read(DOCUMENT_CHUNKS).select("chunk_id", "text")
    encoder = embedding_model.encoder()
    started = datetime.now(UTC)
    plan = plan_embeddings(chunks, store.read(CHUNK_EMBEDDINGS), encoder)
    seconds = (datetime.now(UTC) - started).total_seconds()
    result = store.sync(CHUNK_EMBEDDINGS, plan.table, compare=["model_id"])
    context.log.info(f"embedded {plan.embedded} chunks, reused {plan.reused}")
    return dg.MaterializeResult(
        metadata=lakehouse.table_metadata(
            CHUNK_EMBEDDINGS,
            result,
            input_document_chunks_version=chunks_version,
            model_id=encoder.model_id,
            model_path=dg.MetadataValue.path(str(encoder.model_dir)),
            dimension=encoder.dimension,
            embedded=plan.embedded,
            reused=plan.reused,
            embeddings_per_second=round(plan.embedded / seconds, 1) if plan.embedded and seconds else 0.0,
        )
    )


@dg.asset(
    key=CHUNK_FEATURES_KEY,
    group_name=GROUP,
    deps=[DOCUMENT_CHUNKS_KEY, chunk_embeddings, CHUNK_LABELS_KEY],
    kinds={DELTA, POLARS},
    owners=OWNERS,
    description=(
        "Feature table keyed by chunk id and event timestamp: text statistics, code-block ratio, heading depth, "
        "the embedding and the label. Append-only history, so features can be read as they were at any time."
    ),
)
def chunk_features(lakehouse: LakehouseResource) -> dg.MaterializeResult:
    store = lakehouse.store
    inputs = {t.name: store.version(t.name) for t in (DOCUMENT_CHUNKS, CHUNK_EMBEDDINGS, CHUNK_LABELS)}
    chunks = store.read(DOCUMENT_CHUNKS)
    embeddings = store.read(CHUNK_EMBEDDINGS)
    model_ids = sorted(set(embeddings["model_id"].to_list()))
    version = feature_set_version(FEATURES, *model_ids)
    labels = store.read(CHUNK_LABELS).select("chunk_id", "label", pl.col("confidence").alias("label_confidence"))
    current = (
        compute_text_features(chunks)
        .join(embeddings.select("chunk_id", "embedding"), on="chunk_id", how="left")
        .join(labels, on="chunk_id", how="left")
        .with_columns(pl.lit(version).alias("feature_set_version"))
    )
    history = store.read(CHUNK_FEATURES)
    updates = feature_updates(current, history, datetime.now(UTC))
    if updates.is_empty():
        result = store.no_change(CHUNK_FEATURES)
    else:
        result = store.write(CHUNK_FEATURES, updates, mode="append")
    return dg.MaterializeResult(
        metadata=lakehouse.table_metadata(
            CHUNK_FEATURES,
            result,
            **{f"input_{name}_version": v for name, v in inputs.items()},
            feature_set_version=version,
            active_entities=latest_rows(pl.concat([history, updates])).filter(pl.col("active")).height,
            rows_appended=updates.height,
            definitions=dg.MetadataValue.md(
                markdown_table(
                    ["feature", "type", "version", "description"],
                    [[f.name, f.dtype, f.version, f.description] for f in FEATURES],
                )
            ),
        )
    )
