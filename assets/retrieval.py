"""The vector index: chunks with their embeddings in Qdrant, verified before the serving alias moves."""

import dagster as dg
import polars as pl

from aiinfra_dagster.assets.common import OWNERS, QDRANT, markdown_table
from aiinfra_dagster.assets.keys import (
    CHUNK_EMBEDDINGS_KEY,
    CHUNK_LABELS_KEY,
    DOCUMENT_CHUNKS_KEY,
    GOLDEN_QA_KEY,
    VECTOR_INDEX_KEY,
)
from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS, GOLDEN_QA
from aiinfra_dagster.features.tables import CHUNK_EMBEDDINGS
from aiinfra_dagster.labels.tables import CHUNK_LABELS
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.retrieval.build import build_and_switch, index_rows
from aiinfra_dagster.retrieval.index import open_store
from aiinfra_dagster.retrieval.relevance import golden_queries

GROUP = "retrieval"


@dg.asset(
    key=VECTOR_INDEX_KEY,
    group_name=GROUP,
    deps=[DOCUMENT_CHUNKS_KEY, CHUNK_EMBEDDINGS_KEY, CHUNK_LABELS_KEY, GOLDEN_QA_KEY],
    kinds={QDRANT},
    owners=OWNERS,
    description=(
        "Chunks (text, document path, topic label) with their all-MiniLM-L6-v2 embeddings in Qdrant: one version per "
        "(embedding model, chunk set), verified (point count, sample queries, golden recall@k and MRR) before the "
        "serving alias is switched atomically. Embedded qdrant-edge shards by default, a Qdrant server by URL."
    ),
)
def vector_index(
    context: dg.AssetExecutionContext,
    lakehouse: LakehouseResource,
    aiinfra: SettingsResource,
    embedding_model: EmbeddingModelResource,
) -> dg.MaterializeResult:
    q = aiinfra.value.qdrant
    tables = lakehouse.store
    inputs = {t.name: tables.version(t.name) for t in (DOCUMENT_CHUNKS, CHUNK_EMBEDDINGS, CHUNK_LABELS, GOLDEN_QA)}
    chunks = tables.read(DOCUMENT_CHUNKS)
    model_id = embedding_model.encoder_id()
    rows = index_rows(chunks, tables.read(CHUNK_LABELS), tables.read(CHUNK_EMBEDDINGS), model_id)
    golden = golden_queries(tables.read(GOLDEN_QA), chunks, set(rows.chunk_ids), embedding_model.encoder())
    store = open_store(q)
    try:
        result = build_and_switch(store, rows, model_id, golden, q)
        engine, location = store.engine, store.location
    finally:
        store.close()
    context.log.info(
        f"{'built' if result.built else 'reused'} {result.version} ({result.points} points); alias {result.alias} "
        f"{'switched from ' + str(result.previous_version) if result.switched else 'unchanged'}"
    )
    m = result.metrics
    labels = pl.Series("label", rows.labels, dtype=pl.String).fill_null("(none)").value_counts(sort=True)
    worst = sorted(
        zip(golden.qa_ids, golden.questions, result.ranks, strict=True), key=lambda r: (r[2] is not None, -(r[2] or 0))
    )
    return dg.MaterializeResult(
        metadata={
            **{f"input_{name}_version": v for name, v in inputs.items()},
            "dagster/row_count": result.points,
            "alias": result.alias,
            "index_version": result.version,
            "previous_version": str(result.previous_version),
            "points": result.points,
            "embedding_model_id": model_id,
            "engine": engine,
            "location": dg.MetadataValue.path(location) if q.url is None else location,
            "built": result.built,
            "switched": result.switched,
            "build_seconds": round(result.build_seconds, 3),
            "points_per_second": round(result.points / result.build_seconds, 1)
            if result.built and result.build_seconds
            else 0.0,
            **m.as_metadata(),  # recall_at_1/5/10, mrr, questions_evaluated
            "questions_left_out": golden.left_out,
            **({f"chunks_{k}_vs_previous": v for k, v in result.changes.items()} if result.changes is not None else {}),
            "kept_versions": ", ".join(result.kept_versions),
            "deleted_versions": ", ".join(result.deleted_versions) or "none",
            "retrieval_metrics": dg.MetadataValue.md(
                markdown_table(
                    ["metric", "value"],
                    [[f"recall@{k}", f"{v:.3f}"] for k, v in m.recall.items()]
                    + [["MRR", f"{m.mrr:.3f}"], ["questions", m.questions]],
                )
                + "\n\nA question counts at k when a chunk relevant to it (in its FAQ answer's section, or holding "
                "the opening of its answer) is in the top k; "
                f"{golden.left_out} golden pairs with no relevant chunk in the index are left out."
            ),
            "verification": dg.MetadataValue.md(
                markdown_table(
                    ["check", "passed", "detail"], [[n, "yes" if ok else "NO", d] for n, ok, d in result.checks]
                )
            ),
            "hardest_questions": dg.MetadataValue.md(
                markdown_table(
                    ["qa_id", "question", "first relevant rank"],
                    [[i, question[:100], "not in top 10" if r is None else r] for i, question, r in worst[:15]],
                )
            ),
            "labels": dg.MetadataValue.md(markdown_table(["label", "points"], labels.rows())),
        }
    )
