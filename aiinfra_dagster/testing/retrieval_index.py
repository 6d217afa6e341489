"""Build a small real index without the asset graph (for the service's and other tests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiinfra_dagster.retrieval.index import open_store
from aiinfra_dagster.retrieval.rows import IndexRows, index_version
from aiinfra_dagster.settings import QdrantSettings


def build_test_index(
    qdrant: QdrantSettings, rows: Iterable[Mapping], model_id: str = "test-model", alias: str | None = None
) -> str:
    """Write `rows` (chunk_id, text, document_path, label, embedding) as a version and point the alias at it.

    Returns the version name. The same rows give the same version (reused, not rebuilt).
    """
    index_rows = IndexRows.from_records([dict(r) for r in rows])
    if len(index_rows) == 0:
        raise ValueError("build_test_index needs at least one row")
    version = index_version(qdrant.collection_prefix, model_id, index_rows)
    store = open_store(qdrant)
    try:
        store.build(version, index_rows)
        store.switch_alias(alias or qdrant.alias, version)
    finally:
        store.close()
    return version
