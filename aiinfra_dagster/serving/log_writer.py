"""A batched, non-blocking writer for the inference log.

Requests hand rows to `log()` and return at once; a background thread commits
them to Delta every `batch_rows` rows or `flush_seconds`.  A failing or slow
write never blocks or fails a request: the rows stay in memory and are retried,
and beyond `max_queue_rows` (or on shutdown with the table unreachable) they are
spilled to JSONL files (`spill_files`: written atomically) that the writer
re-reads at start and, while the table is reachable, every `rescan_seconds`.
A damaged spill file costs only its damaged lines: they are moved to
`<spill_dir>/corrupt/` with the reason logged, and the file's good rows are
written.  Rows that can never be written (schema mismatch) go to a
`rejected-*.jsonl` file instead of looping; given a `check`, only the rows the
schema refuses on their own go there.  The thread never dies of an error: it
logs it and carries on with the rows it holds.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiinfra_dagster.lakehouse import DeltaStore, SchemaMismatchError, TableSchema
from aiinfra_dagster.serving.spill_files import (
    CORRUPT_DIR,
    Row,
    encode_rows,
    quarantine,
    read_spill,
    spill_files,
    write_spill,
)

logger = logging.getLogger(__name__)
RETRY_SECONDS_MAX = 10.0
RESTART_SECONDS = 1.0
RESCAN_FLUSHES = 10
"""Spill files are looked for every this many flush intervals (when `rescan_seconds` is not given)."""

__all__ = ["InferenceLogWriter", "Row", "WriterStats", "delta_sink"]


@dataclass
class WriterStats:
    written: int = 0
    batches: int = 0
    failures: int = 0
    spilled: int = 0
    recovered: int = 0
    rejected: int = 0
    quarantined: int = 0
    """Damaged spill-file lines (or unreadable files) moved to `corrupt/`."""
    lost: int = 0
    """Rows that could be neither written nor spilled (each logged with its reason)."""
    restarts: int = 0


def delta_sink(store: DeltaStore, schema: TableSchema) -> Callable[[list[Row]], None]:
    """Append rows to a Delta table (one commit per call)."""

    def write(rows: list[Row]) -> None:
        store.write(schema, schema.conform(rows), mode="append")

    return write


class InferenceLogWriter:
    def __init__(
        self,
        sink: Callable[[list[Row]], None],
        spill_dir: Path,
        *,
        batch_rows: int = 64,
        flush_seconds: float = 2.0,
        max_queue_rows: int = 10_000,
        datetime_columns: tuple[str, ...] = ("ts",),
        check: Callable[[list[Row]], object] | None = None,
        rescan_seconds: float | None = None,
    ) -> None:
        self.sink = sink
        self.spill_dir = Path(spill_dir)
        self.batch_rows = batch_rows
        self.flush_seconds = flush_seconds
        self.max_queue_rows = max_queue_rows
        self.datetime_columns = datetime_columns
        self.check = check
        self.rescan_seconds = flush_seconds * RESCAN_FLUSHES if rescan_seconds is None else rescan_seconds
        self.stats = WriterStats()
        self._queue: queue.Queue[Row] = queue.Queue(maxsize=max_queue_rows)
        self._stop = threading.Event()
        self._spill_lock = threading.Lock()
        self._buffer: list[Row] = []
        self._recovering: list[Path] = []
        self._stuck: set[Path] = set()  # spill files that could be neither removed nor moved aside
        self._thread = threading.Thread(target=self._run, name="inference-log-writer", daemon=True)
        self._thread.start()

    # --- request side ------------------------------------------------------------------------
    def log(self, row: Mapping[str, Any]) -> None:
        """Hand a row to the writer; never blocks and never raises."""
        try:
            self._queue.put_nowait(dict(row))
        except queue.Full:
            self._spill([dict(row)])
        except Exception as exc:  # not a mapping: a caller's bug must not fail the request
            self.stats.lost += 1
            logger.error("inference log row dropped, not a mapping (%s): %r", exc, row)

    def close(self, timeout: float = 30.0) -> None:
        """Flush what is queued; rows that still cannot be written are spilled to JSONL."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            # The sink is stuck: spill a copy of everything (a row in flight may land twice;
            # inference_logs deduplicates by request_id) rather than lose it at exit.
            leftover = list(self._buffer)
            while True:
                try:
                    leftover.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._spill(leftover)
            return
        self._drain()
        self._spill(self._buffer)
        self._buffer = []
        self._forget_recovered()

    @property
    def pending(self) -> int:
        return self._queue.qsize() + len(self._buffer)

    # --- writer thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                self._serve()
                return
            except Exception:  # a bug or an unforeseen error: log it, keep the rows, carry on
                self.stats.restarts += 1
                logger.exception("inference log writer failed; it carries on in %.0f s", RESTART_SECONDS)
                if self._stop.is_set():
                    return  # close() spills what is left
                self._stop.wait(RESTART_SECONDS)

    def _serve(self) -> None:
        self._recover()
        delay = self.flush_seconds
        last_flush = last_scan = time.monotonic()
        while not self._stop.is_set():
            try:
                self._buffer.append(self._queue.get(timeout=min(delay, 0.2)))
            except queue.Empty:
                pass
            self._drain(limit=self.batch_rows)
            now = time.monotonic()
            if self._buffer and (len(self._buffer) >= self.batch_rows or now - last_flush >= delay):
                last_flush = now
                delay = self.flush_seconds if self._flush() else min(max(delay * 2, 0.5), RETRY_SECONDS_MAX)
            elif not self._buffer and delay == self.flush_seconds and now - last_scan >= self.rescan_seconds:
                last_scan = now  # the table is reachable and nothing is queued: rows spilled meanwhile go in now
                self._recover()
        self._drain()
        self._flush()

    def _drain(self, limit: int | None = None) -> None:
        while limit is None or len(self._buffer) < limit:
            try:
                self._buffer.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def _flush(self) -> bool:
        """Write the buffer in batches; True when it is empty afterwards."""
        while self._buffer:
            batch = self._buffer[: self.batch_rows]
            try:
                self.sink(batch)
            except SchemaMismatchError as exc:
                refused = self._refused_alone(batch)
                if refused and len(refused) < len(batch):
                    # Only these rows are wrong: keep them aside, retry the rest of the batch.
                    kept = [row for i, row in enumerate(batch) if i not in refused]
                    self._reject([batch[i] for i in sorted(refused)], "; ".join(sorted(set(refused.values()))))
                    self._buffer[: len(batch)] = kept
                    continue
                self._reject(batch, str(exc))
            except Exception as exc:  # a slow or broken store must not lose rows
                self.stats.failures += 1
                logger.warning("inference log write failed, will retry: %s", exc)
                if len(self._buffer) > self.max_queue_rows and self._spill(self._buffer, held=True):
                    self._buffer = []
                    self._forget_recovered()
                return False
            else:
                self.stats.written += len(batch)
                self.stats.batches += 1
            del self._buffer[: len(batch)]
        self._forget_recovered()
        return True

    def _refused_alone(self, batch: list[Row]) -> dict[int, str]:
        """The rows of `batch` that `check` refuses on their own, with why (empty without a check)."""
        refused: dict[int, str] = {}
        if self.check is None:
            return refused
        for i, row in enumerate(batch):
            try:
                self.check([row])
            except SchemaMismatchError as exc:
                refused[i] = str(exc)
        return refused

    def _reject(self, rows: list[Row], reason: str) -> None:
        logger.error(
            "%d inference log row(s) rejected (kept in %s/rejected-*.jsonl): %s", len(rows), self.spill_dir, reason
        )
        self._spill(rows, prefix="rejected")
        self.stats.rejected += len(rows)

    # --- spill files ---------------------------------------------------------------------------
    def _spill(self, rows: list[Row], prefix: str = "spill", *, held: bool = False) -> bool:
        """Write rows to a new spill file; never raises. False when the file could not be written: the rows are
        then lost (and logged) unless the caller `held` on to them."""
        if not rows:
            return True
        lines, failed = encode_rows(rows, _json_default)
        try:
            if lines:
                with self._spill_lock:
                    write_spill(self.spill_dir, prefix, lines)
        except Exception as exc:
            logger.error("could not spill %d inference log row(s) to %s: %s", len(rows), self.spill_dir, exc)
            if not held:
                self.stats.lost += len(rows)
            return False
        for row, reason in failed:
            self.stats.lost += 1
            logger.error("inference log row %s dropped, not JSON-serialisable: %s", row.get("request_id"), reason)
        if prefix == "spill":
            self.stats.spilled += len(lines)
        return True

    def _recover(self) -> None:
        """Queue the rows of waiting spill files (an earlier writer's, or this one's after an overflow); a file
        goes once its rows are written or re-spilled; its damaged lines go to `corrupt/` at once."""
        for path in spill_files(self.spill_dir, skip=[*self._recovering, *self._stuck]):
            if len(self._buffer) >= self.max_queue_rows:
                return  # the rest on the next scan
            read = read_spill(path, self._parse)
            if not read.clean:
                try:
                    moved = quarantine(read, self.spill_dir / CORRUPT_DIR)
                except OSError as exc:
                    logger.error("damaged inference log spill file %s could not be moved aside: %s", path, exc)
                    self._stuck.add(path)
                    continue
                self.stats.quarantined += len(read.damaged) or 1
                why = read.unreadable or f"line {read.damaged[0].line}: {read.damaged[0].reason}"
                logger.error(
                    "inference log spill file %s is damaged (%s); %d damaged line(s) moved to %s, %d good row(s) kept",
                    path,
                    why,
                    len(read.damaged),
                    moved,
                    len(read.rows),
                )
                if not read.rows:
                    continue  # moved aside whole
            self._buffer.extend(read.rows)
            self._recovering.append(path)
            self.stats.recovered += len(read.rows)

    def _forget_recovered(self) -> None:
        for path in self._recovering:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:  # re-reading it would write its rows again and again
                logger.error("written inference log spill file %s could not be removed: %s", path, exc)
                self._stuck.add(path)
        self._recovering = []

    def _parse(self, row: Row) -> Row:
        for col in self.datetime_columns:
            if isinstance(row.get(col), str):
                row[col] = datetime.fromisoformat(row[col])
        return row


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")
