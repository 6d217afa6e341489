"""Explicit table schemas, checked before every write.

deltalake casts mistyped appends silently (1.5 -> 1, "5" -> 5); a frame must
match its declared schema exactly, or the write is refused with every mismatch
listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl
from polars.datatypes import DataType, DataTypeClass

PolarsDataType = DataType | DataTypeClass
"""A column type as the schemas spell it: `pl.String` (a class) or `pl.List(pl.String)` (an instance)."""

UTC_TS = pl.Datetime("us", "UTC")
"""The timestamp type of every table: microseconds, UTC."""


class SchemaMismatchError(ValueError):
    """A frame does not match the schema declared for its table."""


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: Mapping[str, PolarsDataType]
    key: tuple[str, ...] = ()
    nullable: frozenset[str] = field(default_factory=frozenset)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    partition_by: tuple[str, ...] = ()
    """Delta partition columns, set when the table is created"""

    def __post_init__(self) -> None:
        unknown = (set(self.key) | set(self.nullable) | set(self.descriptions) | set(self.partition_by)) - set(
            self.columns
        )
        if unknown:
            raise ValueError(f"schema {self.name}: unknown columns {sorted(unknown)}")
        if set(self.key) & set(self.nullable):
            raise ValueError(f"schema {self.name}: key columns cannot be nullable")

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema(dict(self.columns))

    def project(self, columns: Sequence[str]) -> TableSchema:
        """The schema of a column subset (what a projected read returns); the key only if wholly kept."""
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise ValueError(f"schema {self.name}: unknown columns {unknown}")
        return TableSchema(
            self.name,
            {c: self.columns[c] for c in columns},
            key=self.key if set(self.key) <= set(columns) else (),
            nullable=self.nullable & set(columns),
        )

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars_schema)

    def validate(self, df: pl.DataFrame) -> pl.DataFrame:
        """Return `df` with columns in schema order, or raise listing every mismatch."""
        problems: list[str] = []
        missing = [c for c in self.columns if c not in df.columns]
        extra = [c for c in df.columns if c not in self.columns]
        if missing:
            problems.append(f"missing columns {missing}")
        if extra:
            problems.append(f"unexpected columns {extra}")
        for col, dtype in self.columns.items():
            if col in df.columns and df.schema[col] != dtype:
                problems.append(f"column '{col}' has type {df.schema[col]}, expected {dtype}")
        if not problems:
            for col in self.columns:
                if col not in self.nullable and df[col].null_count():
                    problems.append(f"column '{col}' has {df[col].null_count()} nulls but is not nullable")
            if self.key and df.height:
                dupes = df.height - df.select(self.key).unique().height
                if dupes:
                    problems.append(f"key {list(self.key)} has {dupes} duplicate rows")
        if problems:
            raise SchemaMismatchError(f"refusing to write table '{self.name}': " + "; ".join(problems))
        return df.select(list(self.columns))

    def conform(self, rows: Sequence[Mapping[str, object]]) -> pl.DataFrame:
        """Build a frame from python rows with the declared types; a mistyped value raises."""
        series = []
        for col, dtype in self.columns.items():
            values = [row.get(col) for row in rows]
            if dtype.is_numeric() and any(isinstance(v, bool) for v in values):
                raise SchemaMismatchError(f"table '{self.name}': column '{col}' got a bool, expected {dtype}")
            try:
                series.append(pl.Series(col, values, dtype=dtype, strict=True))
            except (TypeError, pl.exceptions.PolarsError) as exc:
                raise SchemaMismatchError(
                    f"table '{self.name}': column '{col}' ({dtype}): {str(exc).splitlines()[0]}"
                ) from exc
        extra = sorted({k for row in rows for k in row} - set(self.columns))
        if extra:
            raise SchemaMismatchError(f"table '{self.name}': unexpected columns {extra}")
        return self.validate(pl.DataFrame(series))
