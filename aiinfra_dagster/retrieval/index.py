"""The reader API: search whatever version an alias names, and follow blue/green switches with `refresh()`.

    index = open_index(settings.qdrant)     # the loaded settings' section: its embedded path is resolved
    hits = index.search(vectors, k=5, label="Networking and Interprocess Communication")
    index.refresh()                         # cheap: re-reads the alias, opens the new version if it moved

A search in flight while `refresh()` swaps versions finishes on the version it started on; that version is
closed when its last search returns. `open_store` (the builder's and rollback's entry) picks the engine: qdrant-edge
shards by default, qdrant-client collections for `qdrant.url` or `embedded_engine: client_local`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from aiinfra_dagster.retrieval.edge import EdgeStore
from aiinfra_dagster.retrieval.hits import IndexNotFoundError, SearchHit
from aiinfra_dagster.retrieval.store import IndexStore, VersionReader
from aiinfra_dagster.settings import QdrantSettings

__all__ = ["IndexNotFoundError", "SearchHit", "VectorIndex", "open_index", "open_store"]


@dataclass
class _Lease:
    reader: VersionReader
    users: int = 0
    retired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self) -> None:
        with self.lock:
            self.users += 1

    def release(self) -> None:
        with self.lock:
            self.users -= 1
            close = self.retired and self.users == 0
        if close:
            self.reader.close()

    def retire(self) -> None:
        with self.lock:
            self.retired = True
            close = self.users == 0
        if close:
            self.reader.close()


class VectorIndex:
    def __init__(self, store: IndexStore, alias: str) -> None:
        self.store = store
        self.alias = alias
        self._swap = threading.Lock()
        self._lease = self._open_current()

    def _open_current(self) -> _Lease:
        target = self.store.alias_target(self.alias)
        if target is None:
            raise IndexNotFoundError(
                f"alias {self.alias!r} names no index in {self.store.location} ({self.store.engine}): "
                "materialize vector_index first"
            )
        return _Lease(self.store.open_version(target))

    @property
    def version(self) -> str:
        return self._lease.reader.version

    def search(self, vectors: np.ndarray, k: int, label: str | None = None) -> list[list[SearchHit]]:
        """Top-k hits per query row (unit-length float32, shape (n, dim)), optionally only chunks with `label`."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"search needs a (n, dim) array of query vectors, got shape {vectors.shape}")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if not np.isfinite(vectors).all():
            raise ValueError("query vectors contain NaN or infinite values")
        with self._swap:
            lease = self._lease
            lease.acquire()
        try:
            if len(vectors) and vectors.shape[1] != lease.reader.dimension:
                raise ValueError(
                    f"query vectors have {vectors.shape[1]} dimensions, index {lease.reader.version} has "
                    f"{lease.reader.dimension} (embed queries with the model the index was built with)"
                )
            return lease.reader.search(vectors, k, label)
        finally:
            lease.release()

    def count(self, label: str | None = None) -> int:
        with self._swap:
            lease = self._lease
            lease.acquire()
        try:
            return lease.reader.count(label)
        finally:
            lease.release()

    def refresh(self) -> bool:
        """Re-resolve the alias; True when a different version is now served."""
        target = self.store.alias_target(self.alias)
        if target is None or target == self.version:
            return False
        try:
            fresh = _Lease(self.store.open_version(target))
        except IndexNotFoundError:  # switched again and collected meanwhile: follow the alias once more
            target = self.store.alias_target(self.alias)
            if target is None or target == self.version:
                return False
            fresh = _Lease(self.store.open_version(target))
        with self._swap:
            old, self._lease = self._lease, fresh
        old.retire()
        return True

    def close(self) -> None:
        with self._swap:
            lease = self._lease
        lease.retire()
        self.store.close()

    def __enter__(self) -> VectorIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(qdrant: QdrantSettings) -> IndexStore:
    """Server/cluster when `qdrant.url` is set; else the embedded engine the settings choose.

    qdrant-client is imported only on its path: it costs ~1 s, and the Dagster definitions import this module at load.
    """
    if qdrant.url is None and qdrant.path is None:
        raise ValueError(
            "qdrant.path is unset: a QdrantSettings built on its own knows no storage.home; pass the section of "
            "loaded settings (settings.qdrant), whose embedded path is resolved at load"
        )
    if qdrant.url is not None or qdrant.embedded_engine == "client_local":
        from aiinfra_dagster.retrieval.client import ClientStore  # local import: qdrant-client costs ~1 s to import

        return ClientStore.for_server(qdrant) if qdrant.url is not None else ClientStore.for_local_path(qdrant)
    return EdgeStore(qdrant)


def open_index(qdrant: QdrantSettings, alias: str | None = None) -> VectorIndex:
    """Open the version `alias` (default: `qdrant.alias`) names now; IndexNotFoundError when it names none."""
    store = open_store(qdrant)
    try:
        return VectorIndex(store, alias or qdrant.alias)
    except BaseException:
        store.close()
        raise
