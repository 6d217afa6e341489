"""Embedded index on qdrant-edge-py: one sealed shard directory per version, an alias file naming the current one.

qdrant-edge has no collections or aliases, so blue/green is done on the file system:

    <path>/versions/<version>/shard/      the shard (write-ahead log off, so several processes can open it)
    <path>/versions/<version>/manifest.json
    <path>/staging/<version>.<pid>.<rand>/ a version being built; renamed into versions/ when complete
    <path>/aliases/<alias>.json           {"version": ...}, replaced atomically (temp file + os.replace)

A version directory appears only complete (rename), and readers only open what an alias names, so a reader in
another process (the Bento service) never sees a half-built index. Searches never write to a shard, but
`EdgeShard.load` and `close` rewrite a few small files (same bytes), so opening, closing and deleting a version
hold an exclusive `flock` on `<version>/open.lock`: two processes never rewrite them at once, and a version is
either loaded completely before it is deleted or seen as missing.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import qdrant_edge as qe

from aiinfra_dagster.atomic import write_text_atomic
from aiinfra_dagster.retrieval.hits import IndexNotFoundError, SearchHit, hit_from_payload
from aiinfra_dagster.retrieval.rows import IndexRows, point_id
from aiinfra_dagster.retrieval.store import VersionInfo
from aiinfra_dagster.settings import QdrantSettings

MANIFEST = "manifest.json"
LOCK = "open.lock"


@contextmanager
def version_lock(version_dir: Path) -> Iterator[None]:
    """Exclusive across processes (flock); held only while a shard is loaded, closed or deleted."""
    fd = os.open(version_dir / LOCK, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True))


def _label_filter(label: str | None) -> qe.Filter | None:
    if label is None:
        return None
    return qe.Filter(must=[qe.FieldCondition(key="label", match=qe.MatchValue(label))])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EdgeReader:
    """A read-only handle on one sealed shard."""

    def __init__(self, version: str, version_dir: Path) -> None:
        self.version = version
        self._dir = version_dir
        with version_lock(version_dir):
            if not (version_dir / MANIFEST).exists():
                raise IndexNotFoundError(f"index version {version!r} not found (deleted?) under {version_dir.parent}")
            self.dimension = int(json.loads((version_dir / MANIFEST).read_text())["dimension"])
            self._shard = qe.EdgeShard.load(str(version_dir / "shard"))

    def search(self, vectors: np.ndarray, k: int, label: str | None = None) -> list[list[SearchHit]]:
        if len(vectors) == 0:
            return []
        flt = _label_filter(label)
        requests = [
            qe.QueryRequest(limit=k, query=qe.Query.Nearest(v), with_payload=True, filter=flt)
            for v in np.asarray(vectors, dtype=np.float32).tolist()
        ]
        results = self._shard.query_batch(qe.QueryBatchRequest(requests))
        return [[hit_from_payload(p.payload, p.score) for p in points] for points in results]

    def count(self, label: str | None = None) -> int:
        return int(self._shard.count(qe.CountRequest(exact=True, filter=_label_filter(label))))

    def chunk_ids(self, page: int = 4096) -> set[str]:
        """Every chunk id in this version (scrolls payloads, no vectors)."""
        out: set[str] = set()
        offset = None
        while True:
            records, offset = self._shard.scroll(
                qe.ScrollRequest(
                    offset=offset, limit=page, with_payload=qe.PayloadSelector.Include(["chunk_id"]), with_vector=False
                )
            )
            out.update(str((r.payload or {}).get("chunk_id")) for r in records)
            if offset is None or not records:
                return out

    def close(self) -> None:
        if self._dir.exists():
            with version_lock(self._dir):
                self._shard.close()
        else:  # deleted after it was loaded: nothing on disk to keep consistent
            self._shard.close()


class EdgeStore:
    engine = "qdrant-edge"

    def __init__(self, settings: QdrantSettings) -> None:
        if settings.path is None:
            raise ValueError("EdgeStore needs qdrant.path (the settings resolve it at load)")
        self.settings = settings
        self.root = Path(settings.path)
        self.location = str(self.root)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ layout
    def version_dir(self, version: str) -> Path:
        return self.root / "versions" / version

    def alias_file(self, alias: str) -> Path:
        return self.root / "aliases" / f"{alias}.json"

    # ------------------------------------------------------------------ reads
    def versions(self) -> list[VersionInfo]:
        out = []
        for manifest in sorted((self.root / "versions").glob(f"*/{MANIFEST}")):
            data = json.loads(manifest.read_text())
            out.append(VersionInfo(name=data["version"], points=int(data["points"]), created_at=data["created_at"]))
        return sorted(out, key=lambda v: (v.created_at, v.name))

    def alias_target(self, alias: str) -> str | None:
        try:
            return json.loads(self.alias_file(alias).read_text())["version"]
        except FileNotFoundError:
            return None

    def open_version(self, version: str) -> EdgeReader:
        if not self.version_dir(version).is_dir():
            raise IndexNotFoundError(f"index version {version!r} not found under {self.root / 'versions'}")
        return EdgeReader(version, self.version_dir(version))

    # ------------------------------------------------------------------ writes
    def build(self, version: str, rows: IndexRows) -> None:
        """Write all rows into a fresh shard in staging, seal it, then rename it into versions/ (atomic)."""
        target = self.version_dir(version)
        if (target / MANIFEST).exists():
            return
        self._clean_stale_staging()
        staging = self.root / "staging" / f"{version}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        shard_dir = staging / "shard"
        try:
            hnsw = len(rows) >= self.settings.hnsw_min_points
            config = qe.EdgeConfig(
                vectors=qe.EdgeVectorParams(size=rows.dimension, distance=qe.Distance.Cosine),
                wal_enabled=False,
                max_search_threads=self.settings.search_threads,
                # indexing_threshold is in KB: 1 makes optimize() build the graph whatever the shard's size.
                optimizers=qe.EdgeOptimizersConfig(indexing_threshold=1) if hnsw else None,
            )
            shard = qe.EdgeShard.create(str(shard_dir), config)
            try:
                shard.update(qe.UpdateOperation.create_field_index("label", qe.PayloadSchemaType.Keyword))
                _upsert(shard, rows, self.settings.upsert_batch_size)
                shard.flush()
                if hnsw:
                    shard.optimize()
                indexed = int(shard.info().indexed_vectors_count)
            finally:
                shard.close()
            manifest = {
                "version": version,
                "points": len(rows),
                "hnsw_indexed_vectors": indexed,
                "dimension": rows.dimension,
                "engine": self.engine,
                "created_at": datetime.now(UTC).isoformat(),
            }
            _write_json_atomic(staging / MANIFEST, manifest)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir() and not (target / MANIFEST).exists():  # the remains of a deleted version
                shutil.rmtree(target, ignore_errors=True)
            try:
                os.rename(staging, target)
            except OSError:
                if not (target / MANIFEST).exists():  # someone else sealed the same version first: theirs is equal
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def switch_alias(self, alias: str, version: str) -> None:
        if not (self.version_dir(version) / MANIFEST).exists():
            raise IndexNotFoundError(f"cannot point alias {alias!r} at missing version {version!r}")
        _write_json_atomic(self.alias_file(alias), {"version": version, "switched_at": datetime.now(UTC).isoformat()})

    def delete_version(self, version: str) -> None:
        """Remove a version: the manifest first (so it stops being listed), then the shard."""
        with self._lock:
            for alias_file in (self.root / "aliases").glob("*.json"):
                if json.loads(alias_file.read_text()).get("version") == version:
                    raise ValueError(f"version {version!r} is named by alias {alias_file.stem!r}; not deleting it")
            d = self.version_dir(version)
            if not d.is_dir():
                return
            with version_lock(d):
                (d / MANIFEST).unlink(missing_ok=True)
            shutil.rmtree(d, ignore_errors=True)

    def _clean_stale_staging(self) -> None:
        """Staging directories of builders that died (their pid is gone)."""
        for d in (self.root / "staging").glob("*"):
            parts = d.name.rsplit(".", 2)
            if len(parts) == 3 and parts[1].isdigit() and not _pid_alive(int(parts[1])):
                shutil.rmtree(d, ignore_errors=True)

    def close(self) -> None:
        return None


def _upsert(shard: qe.EdgeShard, rows: IndexRows, batch_size: int) -> None:
    vectors = np.asarray(rows.vectors, dtype=np.float32).tolist()
    for start in range(0, len(rows), batch_size):
        stop = min(len(rows), start + batch_size)
        points = [qe.Point(point_id(rows.chunk_ids[i]), vectors[i], rows.payload(i)) for i in range(start, stop)]
        shard.update(qe.UpdateOperation.upsert_points(points))
