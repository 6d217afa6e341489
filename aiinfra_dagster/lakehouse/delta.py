"""Delta Lake reads and writes that validate schemas and never rewrite unchanged rows.

`sync` is the idempotent write every asset uses: it diffs the desired rows
against the table and commits inserts, updates and deletes in one atomic MERGE,
or nothing at all when nothing changed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import polars as pl
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from aiinfra_dagster.lakehouse.schema import TableSchema
from aiinfra_dagster.settings.locations import is_local_uri

if TYPE_CHECKING:
    from aiinfra_dagster.settings import StorageSettings

_OP = "_aiinfra_op"
COMMIT_ATTEMPTS = 6
WriteMode = Literal["append", "overwrite"]
T = TypeVar("T")


@dataclass(frozen=True)
class WriteResult:
    table: str
    uri: str
    version: int
    row_count: int
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    committed: bool = True

    @property
    def changed(self) -> bool:
        return self.committed and (self.inserted + self.updated + self.deleted) > 0


def table_uri(root: str, name: str) -> str:
    if is_local_uri(root):
        return str(Path(root.removeprefix("file://")).expanduser().resolve() / name)
    return f"{root.rstrip('/')}/{name}"


class DeltaStore:
    """Typed access to the Delta tables under one root URI."""

    def __init__(self, root: str, storage_options: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.storage_options = dict(storage_options or {})

    @classmethod
    def for_storage(cls, storage: StorageSettings) -> DeltaStore:
        """The lake the `storage` settings name (for code outside a Dagster run: the CLI, the service)."""
        return cls(storage.lake_root, storage.delta_options())

    def uri(self, name: str) -> str:
        return table_uri(self.root, name)

    def exists(self, name: str) -> bool:
        return DeltaTable.is_deltatable(self.uri(name), storage_options=self.storage_options or None)

    def table(self, name: str, version: int | None = None) -> DeltaTable:
        return DeltaTable(self.uri(name), version=version, storage_options=self.storage_options or None)

    def version(self, name: str) -> int | None:
        return self.table(name).version() if self.exists(name) else None

    def read(
        self,
        schema: TableSchema,
        version: int | None = None,
        columns: Sequence[str] | None = None,
        partitions: Mapping[str, Sequence[object]] | None = None,
    ) -> pl.DataFrame:
        """The table as of `version` (latest when None; Delta time travel), optionally only `columns` and only
        the rows whose partition columns take one of the given values (files of other partitions are not
        read); an empty frame if it was never written."""
        filters = _partition_filters(schema, partitions or {})
        if columns is not None:
            schema = schema.project(columns)
        if not self.exists(schema.name):
            if version is not None:
                raise FileNotFoundError(f"table '{schema.name}' has no version {version}: it does not exist")
            return schema.empty()
        if any(not values for _, _, values in filters):
            return schema.empty()
        arrow = self.table(schema.name, version).to_pyarrow_table(
            partitions=filters or None, columns=list(schema.columns)
        )
        frame = cast(pl.DataFrame, pl.from_arrow(arrow))  # a pyarrow Table always converts to a DataFrame
        return schema.validate(_normalise(frame, schema))

    def write(self, schema: TableSchema, df: pl.DataFrame, mode: WriteMode = "append") -> WriteResult:
        """Append or overwrite after validating `df` against `schema`."""
        df = schema.validate(df)
        self._ensure_table(schema)
        write_deltalake(self.uri(schema.name), df.to_arrow(), mode=mode, storage_options=self.storage_options or None)
        dt = self.table(schema.name)
        rows = df.height if mode == "overwrite" else _count(dt)
        return WriteResult(schema.name, self.uri(schema.name), dt.version(), rows, inserted=df.height)

    def insert_new(self, schema: TableSchema, df: pl.DataFrame, on: Sequence[str]) -> WriteResult:
        """Insert the rows of `df` whose `on` columns no row of the table has yet (one MERGE commit).

        An optimistic check for append-only logs: a writer that computed its row from an older version finds
        `inserted == 0` (or Delta refuses the commit) instead of appending a duplicate.
        """
        df = schema.validate(df)
        self._ensure_table(schema)
        predicate = " AND ".join(f"t.{c} = s.{c}" for c in on)
        metrics = (
            self.table(schema.name)
            .merge(df.to_arrow(), predicate=predicate, source_alias="s", target_alias="t")
            .when_not_matched_insert_all()
            .execute()
        )
        dt = self.table(schema.name)
        inserted = int(metrics.get("num_target_rows_inserted", 0))
        return WriteResult(schema.name, self.uri(schema.name), dt.version(), _count(dt), inserted=inserted)

    def no_change(self, schema: TableSchema) -> WriteResult:
        """The result of a write that had nothing to commit (the table is created if missing)."""
        self._ensure_table(schema)
        dt = self.table(schema.name)
        return WriteResult(schema.name, self.uri(schema.name), dt.version(), _count(dt), committed=False)

    def delete_matching(self, schema: TableSchema, keys: pl.DataFrame) -> int:
        """Delete every row whose `keys` columns equal a row of `keys` (one MERGE commit, retried when a
        concurrent append wins); rows appended meanwhile with other keys stay. Returns rows deleted."""
        keys = keys.unique()
        if keys.is_empty() or not self.exists(schema.name):
            return 0
        predicate = " AND ".join(f"t.{k} = s.{k}" for k in keys.columns)

        def delete() -> int:
            metrics = (
                self.table(schema.name)
                .merge(keys.to_arrow(), predicate=predicate, source_alias="s", target_alias="t")
                .when_matched_delete()
                .execute()
            )
            return int(metrics.get("num_target_rows_deleted", 0))

        return retry_commit(delete)

    def merge(self, schema: TableSchema, df: pl.DataFrame) -> WriteResult:
        """Upsert `df` by the schema key (no deletes); unchanged rows are not rewritten."""
        return self.sync(schema, df, delete_missing=False)

    def sync(
        self,
        schema: TableSchema,
        desired: pl.DataFrame,
        *,
        compare: Sequence[str] | None = None,
        delete_missing: bool = True,
        scope: pl.Expr | None = None,
        partition_local: bool = False,
    ) -> WriteResult:
        """Make the table hold `desired` (by key): one MERGE commit, or none when nothing changed.

        `compare` lists the columns whose change counts as an update (default: all
        non-key columns), so volatile columns such as timestamps don't cause rewrites.
        `scope` limits deletes to existing rows matching it (e.g. one source).
        `partition_local`: a row never changes partition, so the diff reads and the MERGE
        touches only the partitions `desired` has rows in (cost follows the new rows, not the
        table); only with `delete_missing=False`.

        Steps of one run (or pods of the k8s executor) may write the same table at once; Delta
        then refuses the later MERGE ("a concurrent transaction added new data"), so the diff is
        made again against the new version and retried.
        """
        if partition_local and (delete_missing or not schema.partition_by):
            raise ValueError(f"table '{schema.name}': partition_local needs partition columns and delete_missing=False")
        return retry_commit(lambda: self._sync_once(schema, desired, compare, delete_missing, scope, partition_local))

    def _sync_once(
        self,
        schema: TableSchema,
        desired: pl.DataFrame,
        compare: Sequence[str] | None,
        delete_missing: bool,
        scope: pl.Expr | None,
        partition_local: bool = False,
    ) -> WriteResult:
        if not schema.key:
            raise ValueError(f"table '{schema.name}' has no key; sync needs one")
        desired = schema.validate(desired)
        key = list(schema.key)
        compare = list(compare) if compare is not None else [c for c in schema.columns if c not in key]
        self._ensure_table(schema)
        # Only what the diff looks at: with compare=[] (append-only tables) that is the key alone.
        scope_columns = scope.meta.root_names() if scope is not None else []
        local = list(schema.partition_by) if partition_local else []
        touched = {p: desired.get_column(p).unique().to_list() for p in local} or None
        current = self.read(schema, columns=list(dict.fromkeys([*key, *compare, *scope_columns])), partitions=touched)

        present = current.select(key).with_columns(pl.lit(True).alias("__present"))
        joined = desired.join(present, on=key, how="left", nulls_equal=True)
        existed = pl.col("__present").is_not_null()
        inserts = joined.filter(~existed).select(desired.columns)
        if compare:
            joined = joined.join(current.select(key + compare), on=key, how="left", suffix="__cur", nulls_equal=True)
            differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}__cur")) for c in compare])
            updates = joined.filter(existed & differs).select(desired.columns)
        else:
            updates = desired.clear()

        deletes = current.clear().select(key)
        if delete_missing:
            candidates = current if scope is None else current.filter(scope)
            deletes = candidates.join(desired.select(key), on=key, how="anti", nulls_equal=True).select(key)

        if inserts.height + updates.height + deletes.height == 0:
            return self.no_change(schema)

        source = pl.concat(
            [
                pl.concat([inserts, updates]).with_columns(pl.lit("upsert").alias(_OP)),
                deletes.with_columns(pl.lit("delete").alias(_OP)),  # the key is all a delete needs
            ],
            how="diagonal",
        )
        # Literal partition values let Delta skip every other partition's files before the join.
        prune = [f"t.{p} IN ({', '.join(_literal(v) for v in values)})" for p, values in (touched or {}).items()]
        predicate = " AND ".join([*(f"t.{k} = s.{k}" for k in key), *prune])
        columns = {c: f"s.{c}" for c in schema.columns}
        (
            self.table(schema.name)
            .merge(source.to_arrow(), predicate=predicate, source_alias="s", target_alias="t")
            .when_matched_delete(predicate=f"s.{_OP} = 'delete'")
            .when_matched_update(updates=columns, predicate=f"s.{_OP} = 'upsert'")
            .when_not_matched_insert(updates=columns, predicate=f"s.{_OP} = 'upsert'")
            .execute()
        )
        dt = self.table(schema.name)
        return WriteResult(
            schema.name,
            self.uri(schema.name),
            dt.version(),
            _count(dt) if partition_local else current.height + inserts.height - deletes.height,
            inserted=inserts.height,
            updated=updates.height,
            deleted=deletes.height,
        )

    def history(self, name: str, limit: int | None = None) -> list[dict[str, object]]:
        return self.table(name).history(limit) if self.exists(name) else []

    def _ensure_table(self, schema: TableSchema) -> None:
        """Create the table (version 0, empty) with the declared schema and partitions so merges have a target."""
        if self.exists(schema.name):
            return
        if is_local_uri(self.root):
            Path(self.uri(schema.name)).mkdir(parents=True, exist_ok=True)
        write_deltalake(
            self.uri(schema.name),
            schema.empty().to_arrow(),
            mode="append",
            partition_by=list(schema.partition_by) or None,
            storage_options=self.storage_options or None,
        )


def retry_commit(commit: Callable[[], T]) -> T:
    """Run a read-then-commit again when a concurrent transaction won (Delta refuses the later commit)."""
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            return commit()
        except CommitFailedError:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")


def _literal(value: object) -> str:
    """A SQL string literal (Delta compares it as the partition's own type: dates, strings)."""
    return "'" + str(value).replace("'", "''") + "'"


def _normalise(df: pl.DataFrame, schema: TableSchema) -> pl.DataFrame:
    """Undo representation-only differences Delta introduces (string views, tz spelling)."""
    casts: dict[Any, Any] = {}
    for col, dtype in schema.columns.items():
        if col in df.columns and df.schema[col] != dtype:
            casts[col] = dtype
    return df.cast(casts) if casts else df


def _count(dt: DeltaTable) -> int:
    actions = pl.DataFrame(dt.get_add_actions(flatten=True))
    return int(actions["num_records"].sum()) if actions.height else 0


def _partition_filters(
    schema: TableSchema, partitions: Mapping[str, Sequence[object]]
) -> list[tuple[str, str, list[str]]]:
    """Delta partition filters; values compare as the strings Delta stores (a date as YYYY-MM-DD)."""
    unknown = set(partitions) - set(schema.partition_by)
    if unknown:
        raise ValueError(
            f"table '{schema.name}' is not partitioned by {sorted(unknown)} (partitions: {list(schema.partition_by)})"
        )
    return [(column, "in", sorted({str(v) for v in values})) for column, values in partitions.items()]
