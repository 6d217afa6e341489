"""How long the inference log keeps raw user text, and erasing it on request.

Three pieces, on the raw `inference_log` and the compacted `inference_logs`:

- `protect_text_columns`: Delta writes per-file min/max statistics of every column into its transaction log, which
  vacuum never removes; the tables collect statistics only of the columns that hold no user text
  (`delta.dataSkippingStatsColumns`), so a deleted query is not kept in `_delta_log` either.
- `delete_older_than` + `vacuum`: what `inference_logs` runs with `monitoring.retention_days` and
  `monitoring.vacuum_retention_hours` (files unreferenced for longer than that go; Delta's own safety check, 168 h,
  is lifted only when the setting asks for less).
- `forget` (`aiinfra forget`): deletes the rows of given request ids, or whose query, answer or error contains a
  text (case-insensitive), from both tables and vacuums at once with no retention (erasure means it: time travel to
  older versions ends), then checkpoints each table and drops the transaction-log files before the checkpoint (those
  of a table written before `protect_text_columns` hold statistics of the text); the erasure is appended to
  `<monitoring.audit_dir>/erasures.jsonl` (when, who, the criterion, rows per table; never the matched text).
  Rows still in the service's memory queue or spill files at that moment are not reached: they land within
  seconds, and `forget` can be run again.

Vacuum runs in Delta's "lite" mode: only files a commit removed are deleted, never a file an append in flight has
written but not yet committed (the service appends every few seconds).
"""

from __future__ import annotations

import getpass
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from aiinfra_dagster.lakehouse import DeltaStore, TableSchema
from aiinfra_dagster.lakehouse.delta import retry_commit
from aiinfra_dagster.serving.tables import INFERENCE_LOG, INFERENCE_LOGS

logger = logging.getLogger(__name__)
TEXT_COLUMNS = ("query", "answer", "error", "label_filter")
"""Columns that can hold what a user typed: matched by `forget`, and never given file statistics."""
MATCHED_COLUMNS = ("query", "answer", "error")
STATS_PROPERTY = "delta.dataSkippingStatsColumns"
DELTA_SAFE_RETENTION_HOURS = 168
"""Delta's default `delta.deletedFileRetentionDuration`: vacuuming younger files needs the check lifted."""
ERASURE_LOG = "erasures.jsonl"
LOG_RETENTION_PROPERTY = "delta.logRetentionDuration"
DELTA_LOG_RETENTION = "interval 30 days"
"""Delta's default log retention, restored after `purge_log` when the table had none of its own."""


@dataclass(frozen=True)
class Erasure:
    """One `forget`: what was asked, what went. `criterion` never holds the matched text."""

    at: str
    by: str
    criterion: str
    request_ids: list[str]
    rows_deleted: dict[str, int]
    files_vacuumed: dict[str, int] = field(default_factory=dict)
    record: str | None = None


def stats_columns(schema: TableSchema) -> str:
    return ",".join(c for c in schema.columns if c not in TEXT_COLUMNS)


def protect_text_columns(store: DeltaStore, schema: TableSchema, *, create: bool = True) -> None:
    """Make the table keep no statistics of user text (one commit, the first time); a missing table is created
    first, or left alone without `create`."""
    if not create and not store.exists(schema.name):
        return
    store.no_change(schema)
    dt = store.table(schema.name)
    wanted = stats_columns(schema)
    if dt.metadata().configuration.get(STATS_PROPERTY) != wanted:
        retry_commit(lambda: store.table(schema.name).alter.set_table_properties({STATS_PROPERTY: wanted}))


def delete_older_than(store: DeltaStore, schema: TableSchema, cutoff: datetime) -> int:
    """Delete rows whose `ts` is before `cutoff`; rows deleted (no commit when none is)."""
    if not store.exists(schema.name):
        return 0
    stamp = cutoff.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _delete(store, schema, f"ts < '{stamp}'")


def retention_cutoff(retention_days: float, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=retention_days)


def vacuum(store: DeltaStore, name: str, retention_hours: int) -> int:
    """Delete the files commits removed longer than `retention_hours` ago; how many went."""
    if not store.exists(name):
        return 0
    deleted = store.table(name).vacuum(
        retention_hours=retention_hours,
        dry_run=False,
        # Lifted only when asked for less than Delta's default: readers of versions that old lose their files.
        enforce_retention_duration=retention_hours >= DELTA_SAFE_RETENTION_HOURS,
    )
    return len(deleted)


def matching_request_ids(store: DeltaStore, schema: TableSchema, text: str) -> set[str]:
    """Request ids whose query, answer or error contains `text` (case-insensitive, literally)."""
    if not store.exists(schema.name):
        return set()
    frame = store.read(schema, columns=["request_id", *MATCHED_COLUMNS])
    needle = text.lower()
    hit = pl.any_horizontal(pl.col(c).str.to_lowercase().str.contains(needle, literal=True) for c in MATCHED_COLUMNS)
    return set(frame.filter(hit.fill_null(False)).get_column("request_id").to_list())


def forget(
    store: DeltaStore,
    audit_dir: Path,
    *,
    request_ids: Sequence[str] = (),
    matching: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> Erasure:
    """Erase rows by request id and/or by text from the raw and compacted inference logs, vacuum, record it."""
    if not request_ids and not matching:
        raise ValueError("forget needs request ids or a text to match")
    if matching is not None and not matching.strip():
        raise ValueError("the text to match must not be blank")
    ids = set(request_ids)
    criteria = [f"request_id in {len(ids)} given id(s)"] if ids else []
    if matching:
        criteria.append(f"query/answer/error contains a {len(matching)}-character text (case-insensitive)")
        for schema in (INFERENCE_LOG, INFERENCE_LOGS):
            ids |= matching_request_ids(store, schema, matching)
    rows: dict[str, int] = {}
    files: dict[str, int] = {}
    for schema in (INFERENCE_LOG, INFERENCE_LOGS):
        rows[schema.name] = _delete_ids(store, schema, sorted(ids)) if ids else 0
        # No retention: the files holding the erased rows must go now (time travel to older versions ends).
        files[schema.name] = vacuum(store, schema.name, 0)
        purge_log(store, schema.name)
    erasure = Erasure(
        at=(now or datetime.now(UTC)).isoformat(),
        by=by or _user(),
        criterion="; ".join(criteria),
        request_ids=sorted(ids),
        rows_deleted=rows,
        files_vacuumed=files,
    )
    return record_erasure(erasure, Path(audit_dir))


def purge_log(store: DeltaStore, name: str) -> None:
    """Checkpoint the table, then drop every transaction-log file before the checkpoint (its log retention is set to
    zero for one commit, whose clean-up removes them, then restored)."""
    if not store.exists(name):
        return
    dt = store.table(name)
    dt.create_checkpoint()
    previous = dt.metadata().configuration.get(LOG_RETENTION_PROPERTY) or DELTA_LOG_RETENTION
    retry_commit(lambda: store.table(name).alter.set_table_properties({LOG_RETENTION_PROPERTY: "interval 0 seconds"}))
    store.table(name).cleanup_metadata()
    retry_commit(lambda: store.table(name).alter.set_table_properties({LOG_RETENTION_PROPERTY: previous}))


def record_erasure(erasure: Erasure, audit_dir: Path) -> Erasure:
    """Append the erasure to `<audit_dir>/erasures.jsonl` (append-only, one JSON object a line)."""
    audit_dir.mkdir(parents=True, exist_ok=True)
    path = audit_dir / ERASURE_LOG
    done = Erasure(**{**asdict(erasure), "record": str(path)})
    entry = {k: v for k, v in asdict(done).items() if k != "record"}
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
    return done


def _delete_ids(store: DeltaStore, schema: TableSchema, ids: list[str]) -> int:
    if not store.exists(schema.name):
        return 0
    deleted = 0
    for start in range(0, len(ids), 500):  # keep each predicate a reasonable size
        batch = ids[start : start + 500]
        listed = ", ".join("'" + i.replace("'", "''") + "'" for i in batch)
        deleted += _delete(store, schema, f"request_id IN ({listed})")
    return deleted


def _delete(store: DeltaStore, schema: TableSchema, predicate: str) -> int:
    metrics = retry_commit(lambda: store.table(schema.name).delete(predicate))
    return int(metrics.get("num_deleted_rows", 0))


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "unknown"
