"""Reading user-supplied JSONL / CSV record files with locations for error messages."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

JSONL_SUFFIXES = (".jsonl", ".ndjson")


def read_records(path: Path, what: str, required: Sequence[str] = ()) -> Iterator[tuple[object, str]]:
    """(record, where) pairs of a JSONL or CSV file; `where` is "line N", for CSV "line N (row M)".

    Invalid JSON, an unsupported extension or a CSV header lacking a required
    column raise ValueError naming the file (and line) — `what` says what the file is for.
    """
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from _jsonl(path)
    elif suffix == ".csv":
        yield from _csv(path, required)
    else:
        raise ValueError(f"{path}: unsupported file type {suffix!r} for {what} (use .jsonl or .csv)")


def _jsonl(path: Path) -> Iterator[tuple[object, str]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line), f"line {n}"
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {n}: invalid JSON ({exc.msg})") from exc


def _csv(path: Path, required: Sequence[str]) -> Iterator[tuple[object, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(required) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: line 1: header lacks column(s) {sorted(missing)}")
        for n, row in enumerate(reader, start=1):
            yield row, f"line {reader.line_num} (row {n})"


def required_fields(record: object, path: Path, where: str, names: Sequence[str]) -> dict[str, str]:
    """The stripped values of `names` in a record, or ValueError naming file, place and field."""
    if not isinstance(record, Mapping):
        raise ValueError(f"{path}: {where}: expected an object with {' and '.join(repr(n) for n in names)}")
    values: dict[str, str] = {}
    for name in names:
        value = record.get(name)
        if value is None or not str(value).strip():
            raise ValueError(f"{path}: {where}: missing required field '{name}'")
        values[name] = str(value).strip()
    return values
