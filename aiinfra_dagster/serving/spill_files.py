"""The inference-log writer's spill files: JSONL written atomically, read back line by line, damage moved aside.

A spill file is written with `atomic.write_bytes_atomic` (a hidden temporary beside it, fsync, `os.replace`), so a
reader (this server's writer thread, or the next server's) sees a whole file or none; a temporary left by a crash
starts with a dot and never matches `SPILL_GLOB`.  Reading never raises: a line that is not a JSON object the
writer can parse is damage, kept verbatim in `corrupt/<file name>` with `corrupt/<file name>.reasons.txt` beside it
(line numbers and why), and the file's good rows are returned to be written.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiinfra_dagster.atomic import write_bytes_atomic

Row = dict[str, Any]
SPILL_GLOB = "spill-*.jsonl"
CORRUPT_DIR = "corrupt"
MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class Damage:
    line: int
    reason: str
    text: bytes


@dataclass(frozen=True)
class SpillRead:
    """What one spill file held: the rows to write and the lines that could not be read."""

    path: Path
    rows: list[Row] = field(default_factory=list)
    damaged: list[Damage] = field(default_factory=list)
    unreadable: str | None = None
    """Why the file as a whole could not be read (then it is moved aside whole)."""

    @property
    def clean(self) -> bool:
        return not self.damaged and self.unreadable is None


def encode_rows(rows: Iterable[Row], default: Callable[[Any], Any]) -> tuple[list[bytes], list[tuple[Row, str]]]:
    """One JSON line per row; rows that cannot be encoded (a foreign type, nesting too deep) with why."""
    lines: list[bytes] = []
    failed: list[tuple[Row, str]] = []
    for row in rows:
        try:
            lines.append(json.dumps(row, default=default).encode() + b"\n")
        except (TypeError, ValueError, RecursionError) as exc:
            failed.append((row, _reason(exc)))
    return lines, failed


def write_spill(directory: Path, prefix: str, lines: list[bytes]) -> Path:
    """A new `<prefix>-<ns>-<random>.jsonl` in `directory`, written atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{prefix}-{time.time_ns()}-{uuid.uuid4().hex[:8]}.jsonl"
    write_bytes_atomic(path, lines)
    return path


def read_spill(path: Path, parse: Callable[[Row], Row]) -> SpillRead:
    """The rows of a spill file; each line that is not a JSON object `parse` accepts is recorded as damage."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return SpillRead(path, unreadable=_reason(exc))
    rows: list[Row] = []
    damaged: list[Damage] = []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
            if not isinstance(value, dict):
                raise ValueError(f"a JSON {type(value).__name__}, not an object")
            rows.append(parse(value))
        except Exception as exc:  # any damage (bad UTF-8, bad JSON, deep nesting, a bad value) is this line's alone
            truncated = number == len(lines)  # the last line had no newline: the write was cut off
            damaged.append(Damage(number, ("truncated: " if truncated else "") + _reason(exc), raw))
    return SpillRead(path, rows, damaged)


def quarantine(read: SpillRead, corrupt_dir: Path) -> Path:
    """Move what could not be read to `corrupt_dir`: the whole file when nothing in it was usable, else the
    damaged lines verbatim; a `.reasons.txt` beside it says why. Idempotent: re-reading a file overwrites the same
    names."""
    corrupt_dir.mkdir(parents=True, exist_ok=True)
    target = corrupt_dir / read.path.name
    if read.unreadable is not None:
        reasons = [f"{read.path}: unreadable: {read.unreadable}"]
        os.replace(read.path, target)
    elif not read.rows:
        reasons = [f"{read.path}: no usable row, moved here whole"] + [
            f"line {d.line}: {d.reason}" for d in read.damaged
        ]
        os.replace(read.path, target)
    else:
        reasons = [f"{read.path}: {len(read.rows)} good row(s) written to the inference log; damaged lines here"]
        reasons += [f"line {d.line}: {d.reason}" for d in read.damaged]
        write_bytes_atomic(target, [d.text + b"\n" for d in read.damaged])
    write_bytes_atomic(target.with_name(f"{target.name}.reasons.txt"), "\n".join(reasons).encode() + b"\n")
    return target


def spill_files(directory: Path, skip: Iterable[Path] = ()) -> list[Path]:
    """Spill files waiting in `directory`, oldest first (names start with the time they were written)."""
    if not directory.is_dir():
        return []
    skipped = set(skip)
    return sorted(p for p in directory.glob(SPILL_GLOB) if p not in skipped)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_REASON_CHARS]
