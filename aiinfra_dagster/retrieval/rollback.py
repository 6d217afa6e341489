"""Point the serving alias at a kept version by hand (rollback), without rebuilding anything."""

from __future__ import annotations

from aiinfra_dagster.retrieval.hits import IndexNotFoundError
from aiinfra_dagster.retrieval.index import open_store
from aiinfra_dagster.settings import QdrantSettings


def use_version(qdrant: QdrantSettings, version: str | None = None, alias: str | None = None) -> str:
    """Switch `alias` (default qdrant.alias) to `version`, or to the newest kept version before the current one.

    Returns the version now served. Readers pick it up on their next `refresh()`; the next vector_index run
    switches back to the version its inputs give (after verifying it).
    """
    alias = alias or qdrant.alias
    store = open_store(qdrant)
    try:
        current = store.alias_target(alias)
        kept = [v.name for v in store.versions()]
        if version is None:
            older = kept[: kept.index(current)] if current in kept else []
            if not older:
                raise IndexNotFoundError(f"no kept version older than {current!r} to roll back to (kept: {kept})")
            version = older[-1]
        elif version not in kept:
            raise IndexNotFoundError(f"version {version!r} is not kept in {store.location}; kept: {kept}")
        store.switch_alias(alias, version)
        return version
    finally:
        store.close()
