"""Reference labels: real human categorisation to measure the labelers against.

Users supply a ``path,label`` file (each document's class, as their team files it); the
Python docs pack derives one from the library index (``aiinfra_dagster.python_docs.chapters``).
Without reference labels the label model reports how its sources agree instead of accuracy.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReferenceLabel:
    """A document (source-relative path) and the class people filed it under."""

    path: str
    label: str


def _normalise_path(raw: str) -> str:
    path = raw.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _checked(source: Path, line: int, path: object, label: object, seen: dict[str, str]) -> ReferenceLabel | None:
    """One validated row; None for an exact duplicate (a conflicting duplicate is an error)."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"{source}:{line}: missing or empty 'path'")
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"{source}:{line}: missing or empty 'label' for path {path!r}")
    norm, lab = _normalise_path(path), label.strip()
    if norm in seen:
        if seen[norm] != lab:
            raise ValueError(f"{source}:{line}: path {norm!r} labelled {lab!r} but earlier {seen[norm]!r}")
        return None
    seen[norm] = lab
    return ReferenceLabel(norm, lab)


def load_reference_file(path: Path) -> list[ReferenceLabel]:
    """Read ``path,label`` rows from a CSV (with header) or JSONL file; bad rows raise naming file and line."""
    path = Path(path)
    suffix = path.suffix.lower()
    seen: dict[str, str] = {}
    out: list[ReferenceLabel] = []
    if suffix in {".jsonl", ".ndjson"}:
        with path.open(encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{path}:{lineno}: expected an object with 'path' and 'label'")
                item = _checked(path, lineno, row.get("path"), row.get("label"), seen)
                if item:
                    out.append(item)
        return out
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return out
            columns = [h.strip().lower() for h in header]
            if "path" not in columns or "label" not in columns:
                raise ValueError(f"{path}:1: header must name 'path' and 'label' columns, got {header!r}")
            ip, il = columns.index("path"), columns.index("label")
            for row in reader:
                lineno = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(columns):
                    raise ValueError(f"{path}:{lineno}: expected {len(columns)} fields, got {len(row)}")
                item = _checked(path, lineno, row[ip], row[il], seen)
                if item:
                    out.append(item)
        return out
    raise ValueError(f"{path}: unsupported reference file type {suffix!r} (use .csv or .jsonl)")
