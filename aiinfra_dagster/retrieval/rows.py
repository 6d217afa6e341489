"""What goes into an index version, and the version name derived from it."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import numpy as np

_POINT_NAMESPACE = uuid.UUID("5f0c3f1e-7a4e-4d8e-9a59-3d6c2b8f1a10")


@dataclass(frozen=True)
class IndexRows:
    """Chunks with their embedding, in a fixed order (sorted by chunk id)."""

    chunk_ids: list[str]
    texts: list[str]
    document_paths: list[str]
    labels: list[str | None]
    vectors: np.ndarray  # (n, dim) float32, unit length

    def __post_init__(self) -> None:
        n = len(self.chunk_ids)
        if not (len(self.texts) == len(self.document_paths) == len(self.labels) == n):
            raise ValueError("index rows: chunk_ids, texts, document_paths and labels must have the same length")
        if self.vectors.ndim != 2 or self.vectors.shape[0] != n:
            raise ValueError(f"index rows: vectors must be ({n}, dim), got {self.vectors.shape}")
        if len(set(self.chunk_ids)) != n:
            raise ValueError("index rows: chunk ids must be unique")

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def payload(self, i: int) -> dict[str, str | None]:
        return {
            "chunk_id": self.chunk_ids[i],
            "text": self.texts[i],
            "document_path": self.document_paths[i],
            "label": self.labels[i],
        }

    @classmethod
    def from_records(cls, records: list[dict]) -> IndexRows:
        """Rows from dicts with chunk_id, text, document_path, label, embedding (sorted by chunk id)."""
        records = sorted(records, key=lambda r: r["chunk_id"])
        vectors = np.asarray([r["embedding"] for r in records], dtype=np.float32)
        if not records:
            vectors = np.zeros((0, 0), dtype=np.float32)
        return cls(
            chunk_ids=[str(r["chunk_id"]) for r in records],
            texts=[str(r["text"]) for r in records],
            document_paths=[str(r["document_path"]) for r in records],
            labels=[None if r.get("label") is None else str(r["label"]) for r in records],
            vectors=vectors,
        )


def point_id(chunk_id: str) -> str:
    """A UUID per chunk id (Qdrant point ids are integers or UUIDs; chunk ids are any string)."""
    return str(uuid.uuid5(_POINT_NAMESPACE, chunk_id))


def chunk_set_hash(rows: IndexRows) -> str:
    """Content of the chunk set: ids, text hashes, paths, labels and the vectors' bytes."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(rows.vectors, dtype=np.float32).tobytes())
    for cid, text, path, label in zip(rows.chunk_ids, rows.texts, rows.document_paths, rows.labels, strict=True):
        text_hash = hashlib.sha256(text.encode()).hexdigest()
        h.update(f"{cid}\x1f{text_hash}\x1f{path}\x1f{label}\x1e".encode())
    return h.hexdigest()


def index_version(prefix: str, model_id: str, rows: IndexRows) -> str:
    """Collection / shard name: `<prefix>-<model id>-<chunk set hash>`; equal inputs give the same name."""
    return f"{prefix}-{model_id[:12]}-{chunk_set_hash(rows)[:16]}"
