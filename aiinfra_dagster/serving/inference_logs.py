"""Compacting the service's raw inference log into the day-partitioned table monitoring reads.

The service appends a small Delta commit every few seconds; this copies new
rows (by request id, so a row spilled and re-written twice lands once) into
`inference_logs`, partitioned by the UTC `date` of the request, then drains the
copied rows from the raw log (a landing table: each run reads only what arrived
since the last one; Delta time travel keeps what was drained until it is
vacuumed) and compacts small files of both tables.  With a retention
(`monitoring.retention_days`) rows older than it are deleted from both tables,
and files unreferenced for `monitoring.vacuum_retention_hours` are vacuumed
(`serving.retention`).  Delta partitioning rather than Dagster daily
partitions: requests arrive continuously and the main job materializes every
asset unpartitioned; monitoring reads a date range with partition pruning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from aiinfra_dagster.lakehouse import DeltaStore, WriteResult
from aiinfra_dagster.serving.retention import delete_older_than, protect_text_columns, retention_cutoff, vacuum
from aiinfra_dagster.serving.tables import INFERENCE_LOG, INFERENCE_LOGS

logger = logging.getLogger(__name__)
PARTITION_COLUMN = INFERENCE_LOGS.partition_by[0]
STATS_COLUMNS = ("endpoint", "status_code", "latency_ms")


@dataclass(frozen=True)
class Compaction:
    result: WriteResult
    raw_rows: int
    raw_version: int | None
    duplicates_dropped: int
    per_day: pl.DataFrame
    """Requests, errors and median latency of each day this run added requests to (whole days)."""
    per_endpoint: pl.DataFrame
    """Requests per endpoint and status on those days."""
    files_compacted: dict[str, int] = field(default_factory=dict)
    retention_deleted: dict[str, int] = field(default_factory=dict)
    """Rows older than monitoring.retention_days deleted, per table."""
    files_vacuumed: dict[str, int] = field(default_factory=dict)

    def retention_summary(self, retention_days: float | None) -> dict[str, object]:
        """What the retention did, for the asset's metadata."""
        return {
            "retention_days": retention_days,
            "rows_deleted": self.retention_deleted,
            "files_vacuumed": self.files_vacuumed,
        }


def curated_rows(raw: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """One row per request id (the first logged), with its UTC date; and how many duplicates went."""
    unique = raw.sort("ts").unique("request_id", keep="first", maintain_order=True)
    frame = unique.with_columns(pl.col("ts").dt.date().alias(PARTITION_COLUMN))
    return INFERENCE_LOGS.validate(frame), raw.height - unique.height


def compact_inference_log(
    store: DeltaStore,
    retention_days: float | None = None,
    vacuum_retention_hours: int | None = None,
    *,
    now: datetime | None = None,
) -> Compaction:
    """Copy, then drain: a run cut off between the two copies nothing twice (the sync skips known ids); then the
    retention's deletes, file compaction and the vacuum (None: keep every row, vacuum nothing)."""
    protect_text_columns(store, INFERENCE_LOG, create=False)  # the service creates (and protects) it
    protect_text_columns(store, INFERENCE_LOGS)
    raw_version = store.version(INFERENCE_LOG.name)
    raw = store.read(INFERENCE_LOG, version=raw_version)
    curated, duplicates = curated_rows(raw)
    # A request's date never changes: the diff, the MERGE and the file compaction touch only the new rows' days.
    result = store.sync(INFERENCE_LOGS, curated, compare=[], delete_missing=False, partition_local=True)
    store.delete_matching(INFERENCE_LOG, raw.select("request_id"))
    days = curated.get_column(PARTITION_COLUMN).unique().to_list()
    expired: dict[str, int] = {}
    if retention_days is not None:
        cutoff = retention_cutoff(retention_days, now)
        expired = {s.name: delete_older_than(store, s, cutoff) for s in (INFERENCE_LOG, INFERENCE_LOGS)}
    files = {INFERENCE_LOG.name: _compact(store, INFERENCE_LOG.name)} if store.exists(INFERENCE_LOG.name) else {}
    if days:
        files[INFERENCE_LOGS.name] = _compact(
            store, INFERENCE_LOGS.name, [(PARTITION_COLUMN, "in", sorted(map(str, days)))]
        )
    table = store.read(INFERENCE_LOGS, columns=[PARTITION_COLUMN, *STATS_COLUMNS], partitions={PARTITION_COLUMN: days})
    per_day = (
        table.group_by(PARTITION_COLUMN)
        .agg(
            pl.len().alias("requests"),
            (pl.col("status_code") >= 400).sum().alias("errors"),
            pl.col("latency_ms").median().alias("median_latency_ms"),
        )
        .sort(PARTITION_COLUMN)
    )
    per_endpoint = (
        table.group_by("endpoint", "status_code").agg(pl.len().alias("requests")).sort("endpoint", "status_code")
    )
    vacuumed = (
        {}
        if vacuum_retention_hours is None
        else {name: vacuum(store, name, vacuum_retention_hours) for name in (INFERENCE_LOG.name, INFERENCE_LOGS.name)}
    )
    return Compaction(result, raw.height, raw_version, duplicates, per_day, per_endpoint, files, expired, vacuumed)


def _compact(store: DeltaStore, name: str, partition_filters: list[tuple[str, str, list[str]]] | None = None) -> int:
    """Merge small files (the service's frequent appends); 0 when a concurrent commit won, tried next time."""
    try:
        table = store.table(name)
        metrics = table.optimize.compact(partition_filters=partition_filters)
    except Exception as exc:  # a concurrent append won the commit: harmless, the next run compacts
        logger.warning("compacting %s skipped: %s", name, exc)
        return 0
    return int(metrics.get("numFilesRemoved", 0))


def partition_values(store: DeltaStore) -> list[str]:
    """The `date` partitions present in `inference_logs`."""
    if not store.exists(INFERENCE_LOGS.name):
        return []
    dt = store.table(INFERENCE_LOGS.name)
    actions = pl.DataFrame(dt.get_add_actions(flatten=True))
    column = f"partition.{PARTITION_COLUMN}"
    return sorted({str(v) for v in actions[column].to_list()}) if actions.height and column in actions.columns else []
