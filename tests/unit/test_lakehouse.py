"""The Delta store against real Delta tables on disk."""

from datetime import UTC, datetime

import polars as pl
import pytest

from aiinfra_dagster.lakehouse import DeltaStore, SchemaMismatchError, TableSchema

SCHEMA = TableSchema(
    "items",
    {
        "id": pl.String,
        "value": pl.Int64,
        "score": pl.Float64,
        "at": pl.Datetime("us", "UTC"),
        "tags": pl.List(pl.String),
    },
    key=("id",),
    nullable=frozenset({"tags"}),
)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def rows(*items):
    return SCHEMA.conform([{"id": i, "value": v, "score": float(v), "at": NOW, "tags": None} for i, v in items])


@pytest.fixture
def store(tmp_path):
    return DeltaStore(str(tmp_path / "lake"))


@pytest.mark.parametrize("bad", [1.5, "5", True])
def test_conform_refuses_silent_casts(bad):
    with pytest.raises(SchemaMismatchError, match="value"):
        SCHEMA.conform([{"id": "a", "value": bad, "score": 1.0, "at": NOW}])


def test_write_refuses_mistyped_frames_and_leaves_table_untouched(store):
    store.write(SCHEMA, rows(("a", 1)))
    before = store.version("items")
    with pytest.raises(SchemaMismatchError, match="'value' has type Float64, expected Int64"):
        store.write(SCHEMA, rows(("b", 2)).with_columns(pl.col("value").cast(pl.Float64)))
    with pytest.raises(SchemaMismatchError, match="missing columns"):
        store.write(SCHEMA, rows(("b", 2)).drop("score"))
    with pytest.raises(SchemaMismatchError, match="nulls but is not nullable"):
        store.write(SCHEMA, rows(("b", 2)).with_columns(pl.lit(None, pl.Int64).alias("value")))
    with pytest.raises(SchemaMismatchError, match="duplicate"):
        store.write(SCHEMA, rows(("b", 2), ("b", 3)))
    assert store.version("items") == before
    assert store.read(SCHEMA)["id"].to_list() == ["a"]


def test_append_overwrite_and_time_travel(store):
    v_first = store.write(SCHEMA, rows(("a", 1))).version
    store.write(SCHEMA, rows(("b", 2)), mode="append")
    assert sorted(store.read(SCHEMA)["id"]) == ["a", "b"]
    result = store.write(SCHEMA, rows(("c", 3)), mode="overwrite")
    assert result.row_count == 1 and store.read(SCHEMA)["id"].to_list() == ["c"]
    assert store.read(SCHEMA, version=v_first)["id"].to_list() == ["a"]


def test_projected_read_at_a_version_returns_only_those_columns(store):
    first = store.sync(SCHEMA, rows(("a", 1), ("b", 2))).version
    store.sync(SCHEMA, rows(("a", 1)))
    old = store.read(SCHEMA, version=first, columns=["value", "id"])
    assert old.columns == ["value", "id"] and sorted(old["id"]) == ["a", "b"]
    assert store.read(SCHEMA, columns=["id"])["id"].to_list() == ["a"]
    with pytest.raises(ValueError, match="unknown columns"):
        store.read(SCHEMA, columns=["nope"])


def test_sync_is_idempotent_and_atomic(store):
    first = store.sync(SCHEMA, rows(("a", 1), ("b", 2)))
    assert (first.inserted, first.committed) == (2, True)
    again = store.sync(SCHEMA, rows(("a", 1), ("b", 2)))
    assert not again.committed and again.version == first.version
    change = store.sync(SCHEMA, rows(("a", 10), ("c", 3)))
    assert (change.inserted, change.updated, change.deleted) == (1, 1, 1)
    assert change.version == first.version + 1  # one commit for insert + update + delete
    assert dict(store.read(SCHEMA).select("id", "value").iter_rows()) == {"a": 10, "c": 3}
    assert dict(store.read(SCHEMA, version=first.version).select("id", "value").iter_rows()) == {"a": 1, "b": 2}


def test_sync_ignores_volatile_columns_and_respects_scope(store):
    store.sync(SCHEMA, rows(("a", 1), ("b", 2)))
    later = rows(("a", 1)).with_columns(pl.lit(datetime(2027, 1, 1, tzinfo=UTC)).dt.cast_time_unit("us").alias("at"))
    kept = store.sync(SCHEMA, later, compare=["value"], scope=pl.col("id") == "zzz")
    assert not kept.committed  # 'b' is out of scope, 'a' only changed a volatile column
    assert store.read(SCHEMA)["at"].to_list() == [NOW, NOW]


def test_merge_upserts_without_deleting(store):
    store.sync(SCHEMA, rows(("a", 1), ("b", 2)))
    result = store.merge(SCHEMA, rows(("b", 20)))
    assert (result.updated, result.deleted) == (1, 0)
    assert dict(store.read(SCHEMA).select("id", "value").iter_rows()) == {"a": 1, "b": 20}


def test_missing_table_reads_empty_and_missing_version_errors(store):
    assert store.read(SCHEMA).is_empty()
    with pytest.raises(FileNotFoundError):
        store.read(SCHEMA, version=3)


def test_uris_for_local_paths_file_urls_and_object_stores(tmp_path):
    from aiinfra_dagster.lakehouse import table_uri

    assert table_uri("s3://bucket/lake/", "raw_documents") == "s3://bucket/lake/raw_documents"
    assert table_uri("az://container/lake", "t") == "az://container/lake/t"
    assert table_uri(f"file://{tmp_path}/lake", "t") == str(tmp_path / "lake" / "t")
    store = DeltaStore(f"file://{tmp_path}/lake")
    store.sync(SCHEMA, rows(("a", 1)))
    assert DeltaStore(str(tmp_path / "lake")).read(SCHEMA)["id"].to_list() == ["a"]


def test_lakehouse_resource_metadata_records_version_rows_and_schema(tmp_path):
    from aiinfra_dagster.resources.lakehouse import LakehouseResource

    resource = LakehouseResource(root=str(tmp_path / "lake"))
    result = resource.store.sync(SCHEMA, rows(("a", 1), ("b", 2)))
    meta = resource.table_metadata(SCHEMA, result, input_x_version=3)
    assert meta["delta_version"] == result.version == 1
    assert meta["dagster/row_count"] == 2 and meta["rows_inserted"] == 2
    columns = {c.name: c for c in meta["dagster/column_schema"].columns}
    assert list(columns) == list(SCHEMA.columns)
    assert columns["id"].constraints.unique and columns["tags"].constraints.nullable
    assert meta["input_x_version"] == 3


DAILY = TableSchema(
    "daily",
    {"id": pl.String, "day": pl.Date, "value": pl.Int64},
    key=("id",),
    partition_by=("day",),
)


def test_partition_read_returns_only_rows_of_the_named_partitions(store):
    days = [datetime(2026, 1, d, tzinfo=UTC).date() for d in (1, 2, 3)]
    store.write(
        DAILY,
        pl.DataFrame({"id": ["a", "b", "c", "d"], "day": [days[0], days[1], days[2], days[2]], "value": [1, 2, 3, 4]}),
    )
    two = store.read(DAILY, partitions={"day": days[1:]}).sort("id")
    assert two["id"].to_list() == ["b", "c", "d"] and two.schema == DAILY.empty().schema
    assert store.read(DAILY, columns=["id"], partitions={"day": [days[0]]})["id"].to_list() == ["a"]
    assert store.read(DAILY, partitions={"day": []}).is_empty()
    assert store.read(DAILY, partitions={"day": [datetime(2025, 1, 1).date()]}).is_empty()
    with pytest.raises(ValueError, match=r"not partitioned by \['value'\]"):
        store.read(DAILY, partitions={"value": [1]})


def test_delete_matching_removes_every_row_with_those_keys_and_nothing_else(store):
    plain = TableSchema("log", {"id": pl.String, "value": pl.Int64})  # no key: the same id may appear twice
    store.write(plain, pl.DataFrame({"id": ["a", "a", "b", "c"], "value": [1, 2, 3, 4]}))
    before = store.version("log")
    assert store.delete_matching(plain, pl.DataFrame({"id": ["a", "a", "x"]})) == 2
    assert sorted(store.read(plain)["id"]) == ["b", "c"] and store.version("log") == before + 1
    assert store.delete_matching(plain, pl.DataFrame({"id": ["x"]})) == 0
    assert store.delete_matching(plain, pl.DataFrame({"id": []}, schema={"id": pl.String})) == 0
    assert store.version("log") == before + 1  # neither a miss nor an empty key set commits
    assert store.delete_matching(TableSchema("never", {"id": pl.String}), pl.DataFrame({"id": ["a"]})) == 0


def test_partition_local_sync_touches_only_the_partitions_of_the_new_rows(store):
    day = [datetime(2026, 1, d, tzinfo=UTC).date() for d in (1, 2, 3)]
    store.write(DAILY, pl.DataFrame({"id": ["a", "b", "c"], "day": day, "value": [1, 2, 3]}))
    desired = pl.DataFrame({"id": ["c", "d", "e'x"], "day": [day[2], day[2], day[1]], "value": [3, 4, 5]})
    result = store.sync(DAILY, desired, compare=[], delete_missing=False, partition_local=True)
    assert (result.inserted, result.updated, result.deleted, result.row_count) == (2, 0, 0, 5)
    assert sorted(store.read(DAILY)["id"]) == ["a", "b", "c", "d", "e'x"]  # 'a' (not in desired) kept
    again = store.sync(DAILY, desired, compare=[], delete_missing=False, partition_local=True)
    assert not again.committed and again.row_count == 5
    with pytest.raises(ValueError, match="partition_local needs partition columns and delete_missing=False"):
        store.sync(DAILY, desired, partition_local=True)
    with pytest.raises(ValueError, match="partition_local needs partition columns"):
        store.sync(SCHEMA, rows(("a", 1)), delete_missing=False, partition_local=True)
