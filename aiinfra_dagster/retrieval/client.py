"""Index on qdrant-client: a Qdrant server or cluster (`qdrant.url`), or qdrant-client's local mode.

Native collections and aliases: one collection per version, a keyword payload index on `label`, and the alias
switched with one `update_collection_aliases` call (delete + create in one request is atomic on the server).
A collection counts as a version only once it is sealed (collection metadata `sealed: true` after every point
is written), so a half-built collection left by a crash is rebuilt, never served.
"""

from __future__ import annotations

import threading
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

from aiinfra_dagster.retrieval.hits import IndexNotFoundError, SearchHit, hit_from_payload
from aiinfra_dagster.retrieval.rows import IndexRows, point_id
from aiinfra_dagster.retrieval.store import VersionInfo
from aiinfra_dagster.settings import QdrantSettings

# Local mode locks its directory per client: one shared client per path in a process.
_LOCAL: dict[str, tuple[QdrantClient, int]] = {}
_LOCAL_LOCK = threading.Lock()


def _label_filter(label: str | None) -> models.Filter | None:
    if label is None:
        return None
    return models.Filter(must=[models.FieldCondition(key="label", match=models.MatchValue(value=label))])


class ClientReader:
    def __init__(self, client: QdrantClient, version: str) -> None:
        self.client = client
        self.version = version
        vectors = client.get_collection(version).config.params.vectors
        if not isinstance(vectors, models.VectorParams):  # we create every collection with one unnamed vector
            raise TypeError(f"collection {version} does not have one unnamed vector: {vectors!r}")
        self.dimension = int(vectors.size)

    def search(self, vectors: np.ndarray, k: int, label: str | None = None) -> list[list[SearchHit]]:
        if len(vectors) == 0:
            return []
        flt = _label_filter(label)
        requests = [
            models.QueryRequest(query=v, limit=k, filter=flt, with_payload=True)
            for v in np.asarray(vectors, dtype=np.float32).tolist()
        ]
        responses = self.client.query_batch_points(self.version, requests=requests)
        return [[hit_from_payload(p.payload, p.score) for p in r.points] for r in responses]

    def count(self, label: str | None = None) -> int:
        return int(self.client.count(self.version, count_filter=_label_filter(label), exact=True).count)

    def chunk_ids(self, page: int = 4096) -> set[str]:
        out: set[str] = set()
        offset = None
        while True:
            records, offset = self.client.scroll(
                self.version, limit=page, offset=offset, with_payload=["chunk_id"], with_vectors=False
            )
            out.update(str((r.payload or {}).get("chunk_id")) for r in records)
            if offset is None or not records:
                return out

    def close(self) -> None:
        return None  # the client belongs to the store


class ClientStore:
    def __init__(
        self, client: QdrantClient, settings: QdrantSettings, engine: str, location: str, local_key: str | None = None
    ) -> None:
        self.client = client
        self.settings = settings
        self.engine = engine
        self.location = location
        self._local_key = local_key

    @classmethod
    def for_server(cls, settings: QdrantSettings) -> ClientStore:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        client = QdrantClient(url=settings.url, api_key=key)
        return cls(client, settings, "qdrant-server", str(settings.url))

    @classmethod
    def for_local_path(cls, settings: QdrantSettings) -> ClientStore:
        """qdrant-client local mode under <path>/client_local (one process at a time; see QdrantSettings)."""
        assert settings.path is not None
        key = str((Path(settings.path) / "client_local").resolve())
        with _LOCAL_LOCK:
            client, users = _LOCAL.get(key, (None, 0))
            if client is None:
                Path(key).mkdir(parents=True, exist_ok=True)
                client = QdrantClient(path=key)
            _LOCAL[key] = (client, users + 1)
        return cls(client, settings, "qdrant-client-local", key, local_key=key)

    def _ours(self, name: str) -> bool:
        return name.startswith(f"{self.settings.collection_prefix}-")

    def _metadata(self, name: str) -> dict:
        return dict(self.client.get_collection(name).config.metadata or {})

    def versions(self) -> list[VersionInfo]:
        out = []
        for c in self.client.get_collections().collections:
            if not self._ours(c.name):
                continue
            meta = self._metadata(c.name)
            if meta.get("sealed"):
                out.append(VersionInfo(name=c.name, points=int(meta["points"]), created_at=str(meta["created_at"])))
        return sorted(out, key=lambda v: (v.created_at, v.name))

    def alias_target(self, alias: str) -> str | None:
        for a in self.client.get_aliases().aliases:
            if a.alias_name == alias:
                return a.collection_name
        return None

    def open_version(self, version: str) -> ClientReader:
        if not self.client.collection_exists(version):
            raise IndexNotFoundError(f"collection {version!r} not found at {self.location}")
        return ClientReader(self.client, version)

    def build(self, version: str, rows: IndexRows) -> None:
        if self.client.collection_exists(version):
            if self._metadata(version).get("sealed"):
                return
            self.client.delete_collection(version)  # a crashed build: start over
        meta = {"sealed": False, "points": len(rows), "created_at": datetime.now(UTC).isoformat()}
        self.client.create_collection(
            version,
            vectors_config=models.VectorParams(size=rows.dimension, distance=models.Distance.COSINE),
            metadata=meta,
        )
        with warnings.catch_warnings():  # local mode says the index has no effect there; a server uses it
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            self.client.create_payload_index(version, "label", models.PayloadSchemaType.KEYWORD)
        vectors = np.asarray(rows.vectors, dtype=np.float32).tolist()
        batch = self.settings.upsert_batch_size
        for start in range(0, len(rows), batch):
            stop = min(len(rows), start + batch)
            points = [
                models.PointStruct(id=point_id(rows.chunk_ids[i]), vector=vectors[i], payload=rows.payload(i))
                for i in range(start, stop)
            ]
            self.client.upsert(version, points=points, wait=True)
        self.client.update_collection(version, metadata={**meta, "sealed": True})

    def switch_alias(self, alias: str, version: str) -> None:
        if not self.client.collection_exists(version):
            raise IndexNotFoundError(f"cannot point alias {alias!r} at missing collection {version!r}")
        ops: list = []
        if self.alias_target(alias) is not None:
            ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
        ops.append(
            models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=version, alias_name=alias))
        )
        self.client.update_collection_aliases(change_aliases_operations=ops)

    def delete_version(self, version: str) -> None:
        named = [a.alias_name for a in self.client.get_aliases().aliases if a.collection_name == version]
        if named:
            raise ValueError(f"collection {version!r} is named by alias {named[0]!r}; not deleting it")
        self.client.delete_collection(version)

    def close(self) -> None:
        if self._local_key is None:
            self.client.close()
            return
        with _LOCAL_LOCK:
            client, users = _LOCAL[self._local_key]
            if users <= 1:
                del _LOCAL[self._local_key]
                client.close()
            else:
                _LOCAL[self._local_key] = (client, users - 1)
