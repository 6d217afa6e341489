"""What the audit reads, each once: materializations per asset from the instance, Delta tables at recorded versions.

Also the small value helpers every hop uses (timestamps as ISO UTC, recorded identifiers without placeholders).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import polars as pl

from aiinfra_dagster.lakehouse import DeltaStore, TableSchema
from aiinfra_dagster.materializations import Materialization, materializations


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds") if timestamp is not None else None


def recorded(value: Any) -> str | None:
    """A recorded identifier as text; None for the placeholders assets write when there is none."""
    if value is None or value == "" or value == -1 or (isinstance(value, str) and value.startswith("unknown")):
        return None
    return str(value)


def meta(m: Materialization | None, key: str) -> Any:
    return m.metadata.get(key) if m is not None else None


class Catalog:
    """Materializations per asset, read once from the instance."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self._instance = instance
        self._cache: dict[str, list[Materialization]] = {}

    def of(self, asset: str) -> list[Materialization]:
        if asset not in self._cache:
            self._cache[asset] = materializations(self._instance, asset)
        return self._cache[asset]

    def latest(self, asset: str) -> Materialization | None:
        found = self.of(asset)
        return found[-1] if found else None

    def versions(self, asset: str) -> list[int]:
        """Delta versions recorded by the asset's materializations, ascending."""
        return sorted(
            {int(m.metadata["delta_version"]) for m in self.of(asset) if m.metadata.get("delta_version") is not None}
        )


class Tables:
    """Delta tables read at recorded versions (time travel), each (table, version, columns) once."""

    def __init__(self, store: DeltaStore) -> None:
        self.store = store
        self._frames: dict[tuple[str, int, tuple[str, ...]], pl.DataFrame] = {}

    def at(self, schema: TableSchema, version: int, *columns: str) -> pl.DataFrame:
        key = (schema.name, int(version), columns)
        if key not in self._frames:
            self._frames[key] = self.store.read(schema, version=int(version), columns=list(columns))
        return self._frames[key]
