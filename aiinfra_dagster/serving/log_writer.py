"""A batched, non-blocking writer for the inference log.

Requests hand rows to `log()` and return at once; a background thread commits
them to Delta every `batch_rows` rows or `flush_seconds`.  A failing or slow
write never blocks or fails a request: the rows stay in memory and are retried,
and beyond `max_queue_rows` (or on shutdown with the table unreachable) they are
spilled to JSONL files that the next writer re-reads first.  Rows that can never
be written (schema mismatch) go to a `rejected-*.jsonl` file instead of looping.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiinfra_dagster.lakehouse import DeltaStore, SchemaMismatchError, TableSchema

logger = logging.getLogger(__name__)
Row = dict[str, Any]
RETRY_SECONDS_MAX = 10.0


@dataclass
class WriterStats:
    written: int = 0
    batches: int = 0
    failures: int = 0
    spilled: int = 0
    recovered: int = 0
    rejected: int = 0


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
    ) -> None:
        self.sink = sink
        self.spill_dir = Path(spill_dir)
        self.batch_rows = batch_rows
        self.flush_seconds = flush_seconds
        self.max_queue_rows = max_queue_rows
        self.datetime_columns = datetime_columns
        self.stats = WriterStats()
        self._queue: queue.Queue[Row] = queue.Queue(maxsize=max_queue_rows)
        self._stop = threading.Event()
        self._spill_lock = threading.Lock()
        self._buffer: list[Row] = []
        self._recovering: list[Path] = []
        self._thread = threading.Thread(target=self._run, name="inference-log-writer", daemon=True)
        self._thread.start()

    # --- request side ------------------------------------------------------------------------
    def log(self, row: Mapping[str, Any]) -> None:
        """Hand a row to the writer; never blocks and never raises."""
        try:
            self._queue.put_nowait(dict(row))
        except queue.Full:
            self._spill([dict(row)])

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
        if self._buffer:
            self._spill(self._buffer)
            self._buffer = []
        self._forget_recovered()

    @property
    def pending(self) -> int:
        return self._queue.qsize() + len(self._buffer)

    # --- writer thread -----------------------------------------------------------------------
    def _run(self) -> None:
        self._recover()
        delay = self.flush_seconds
        last_flush = time.monotonic()
        while not self._stop.is_set():
            try:
                self._buffer.append(self._queue.get(timeout=min(delay, 0.2)))
            except queue.Empty:
                pass
            self._drain(limit=self.batch_rows)
            due = time.monotonic() - last_flush >= delay
            if self._buffer and (len(self._buffer) >= self.batch_rows or due):
                last_flush = time.monotonic()
                delay = self.flush_seconds if self._flush() else min(max(delay * 2, 0.5), RETRY_SECONDS_MAX)
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
                logger.error("inference log rows rejected (kept in %s): %s", self.spill_dir, exc)
                self._spill(batch, prefix="rejected")
                self.stats.rejected += len(batch)
            except Exception as exc:  # a slow or broken store must not lose rows
                self.stats.failures += 1
                logger.warning("inference log write failed, will retry: %s", exc)
                if len(self._buffer) > self.max_queue_rows:
                    self._spill(self._buffer)
                    self._buffer = []
                    self._forget_recovered()
                return False
            else:
                self.stats.written += len(batch)
                self.stats.batches += 1
            del self._buffer[: len(batch)]
        self._forget_recovered()
        return True

    # --- spill files ---------------------------------------------------------------------------
    def _spill(self, rows: list[Row], prefix: str = "spill") -> None:
        if not rows:
            return
        with self._spill_lock:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            path = self.spill_dir / f"{prefix}-{time.time_ns()}-{uuid.uuid4().hex[:8]}.jsonl"
            with path.open("w") as fh:
                for row in rows:
                    fh.write(json.dumps(row, default=_json_default) + "\n")
            if prefix == "spill":
                self.stats.spilled += len(rows)

    def _recover(self) -> None:
        """Queue rows spilled by an earlier writer first; their files go once the rows are written or re-spilled."""
        if not self.spill_dir.is_dir():
            return
        for path in sorted(self.spill_dir.glob("spill-*.jsonl")):
            rows = [self._parse(line) for line in path.read_text().splitlines() if line.strip()]
            self._buffer.extend(rows)
            self._recovering.append(path)
            self.stats.recovered += len(rows)

    def _forget_recovered(self) -> None:
        for path in self._recovering:
            path.unlink(missing_ok=True)
        self._recovering = []

    def _parse(self, line: str) -> Row:
        row = json.loads(line)
        for col in self.datetime_columns:
            if isinstance(row.get(col), str):
                row[col] = datetime.fromisoformat(row[col])
        return row


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")
