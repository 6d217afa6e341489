"""The retrieval stage's entry for vector_index: read the chunks, labels, embeddings and golden pairs, build (or reuse)
the version, verify it, switch the alias, and return a typed outcome the asset turns into metadata."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS, GOLDEN_QA
from aiinfra_dagster.features.tables import CHUNK_EMBEDDINGS
from aiinfra_dagster.labels.tables import CHUNK_LABELS
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.models.embedding import TextEncoder
from aiinfra_dagster.retrieval.build import GoldenQueries, IndexBuild, build_and_switch, index_rows
from aiinfra_dagster.retrieval.index import open_store
from aiinfra_dagster.retrieval.relevance import golden_queries
from aiinfra_dagster.retrieval.rows import IndexRows
from aiinfra_dagster.settings import QdrantSettings


@dataclass(frozen=True)
class VectorIndexOutcome:
    """One vector_index run: the input versions, what was indexed and scored, the build, and where the index lives."""

    inputs: dict[str, int | None]
    model_id: str
    rows: IndexRows
    golden: GoldenQueries
    build: IndexBuild
    engine: str
    location: str
    on_server: bool
    """the index is on a Qdrant server (`qdrant.url`), so `location` is a URL rather than a local path"""


def build_vector_index(
    qdrant: QdrantSettings,
    store: DeltaStore,
    *,
    model_id: str,
    encoder: Callable[[], TextEncoder],
    log: Callable[[str], Any] = print,
) -> VectorIndexOutcome:
    """Index the chunks with model `model_id`'s embeddings, verify the version and switch `qdrant.alias` to it.

    `encoder` (the same model) is called once, after the rows are checked, to embed the golden questions.
    """
    inputs = {t.name: store.version(t.name) for t in (DOCUMENT_CHUNKS, CHUNK_EMBEDDINGS, CHUNK_LABELS, GOLDEN_QA)}
    chunks = store.read(DOCUMENT_CHUNKS)
    rows = index_rows(chunks, store.read(CHUNK_LABELS), store.read(CHUNK_EMBEDDINGS), model_id)
    golden = golden_queries(store.read(GOLDEN_QA), chunks, set(rows.chunk_ids), encoder())
    index = open_store(qdrant)
    try:
        build = build_and_switch(index, rows, model_id, golden, qdrant)
        engine, location = index.engine, index.location
    finally:
        index.close()
    log(
        f"{'built' if build.built else 'reused'} {build.version} ({build.points} points); alias {build.alias} "
        f"{'switched from ' + str(build.previous_version) if build.switched else 'unchanged'}"
    )
    return VectorIndexOutcome(inputs, model_id, rows, golden, build, engine, location, qdrant.url is not None)
