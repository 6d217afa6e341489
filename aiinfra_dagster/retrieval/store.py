"""What the builder and readers need from a vector store, whichever engine is behind it.

The engines (`edge`, `client`) implement these protocols; `index.open_store` picks one from the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from aiinfra_dagster.retrieval.hits import SearchHit
from aiinfra_dagster.retrieval.rows import IndexRows


class VersionReader(Protocol):
    version: str
    dimension: int

    def search(self, vectors: np.ndarray, k: int, label: str | None = None) -> list[list[SearchHit]]: ...

    def count(self, label: str | None = None) -> int: ...

    def chunk_ids(self) -> set[str]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class VersionInfo:
    name: str
    points: int
    created_at: str  # ISO UTC; orders versions for garbage collection


class IndexStore(Protocol):
    engine: str
    location: str

    def versions(self) -> list[VersionInfo]: ...

    def alias_target(self, alias: str) -> str | None: ...

    def build(self, version: str, rows: IndexRows) -> None: ...

    def open_version(self, version: str) -> VersionReader: ...

    def switch_alias(self, alias: str, version: str) -> None: ...

    def delete_version(self, version: str) -> None: ...

    def close(self) -> None: ...
