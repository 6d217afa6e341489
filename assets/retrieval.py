"""The vector index: chunks with their embeddings in Qdrant, verified before the serving alias moves."""

import dagster as dg

from aiinfra_dagster.assets.common import OWNERS, QDRANT
from aiinfra_dagster.assets.keys import (
    CHUNK_EMBEDDINGS_KEY,
    CHUNK_LABELS_KEY,
    DOCUMENT_CHUNKS_KEY,
    GOLDEN_QA_KEY,
    VECTOR_INDEX_KEY,
)
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.retrieval.render import vector_index_metadata
from aiinfra_dagster.retrieval.run import build_vector_index

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
    outcome = build_vector_index(
        aiinfra.value.qdrant,
        lakehouse.store,
        model_id=embedding_model.encoder_id(),
        encoder=embedding_model.encoder,
        log=context.log.info,
    )
    return dg.MaterializeResult(metadata=vector_index_metadata(outcome))
