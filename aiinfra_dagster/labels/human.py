"""Importing annotators' work: CSV, JSONL and Label Studio JSON exports.

Every record is either accepted or quarantined with a reason (unknown chunk,
unknown label, malformed record, superseded by a later record) — none vanish.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class HumanLabelRecord:
    source_file: str
    record: str
    chunk_id: str | None
    label: str | None
    annotator: str | None
    raw: str
    problem: str | None = None


@dataclass(frozen=True)
class HumanLabelImport:
    accepted: list[dict[str, Any]]
    quarantined: list[dict[str, Any]]


def read_human_label_file(path: Path) -> list[HumanLabelRecord]:
    """Records of one file, format by extension (.csv, .jsonl, .json = Label Studio export)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return list(_csv(path))
    if suffix == ".jsonl":
        return list(_jsonl(path))
    if suffix == ".json":
        return list(_label_studio(path))
    raise ValueError(f"human labels file {path}: unsupported extension '{suffix}' (use .csv, .jsonl or .json)")


def _record(path: Path, where: str, data: Any) -> HumanLabelRecord:
    raw = json.dumps(data, sort_keys=True, default=str)
    if not isinstance(data, dict):
        return HumanLabelRecord(path.name, where, None, None, None, raw, "record is not an object")
    chunk_id = str(data.get("chunk_id") or "").strip() or None
    label = str(data.get("label") or "").strip() or None
    annotator = str(data.get("annotator") or "").strip() or None
    missing = [name for name, value in (("chunk_id", chunk_id), ("label", label)) if value is None]
    problem = f"missing {', '.join(missing)}" if missing else None
    return HumanLabelRecord(path.name, where, chunk_id, label, annotator, raw, problem)


def _csv(path: Path) -> Iterator[HumanLabelRecord]:
    with path.open(newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            yield _record(path, f"line {line}", row)


def _jsonl(path: Path) -> Iterator[HumanLabelRecord]:
    for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield HumanLabelRecord(path.name, f"line {line}", None, None, None, text, f"invalid JSON: {exc.msg}")
            continue
        yield _record(path, f"line {line}", data)


def _label_studio(path: Path) -> Iterator[HumanLabelRecord]:
    """Label Studio's JSON export: tasks with data.chunk_id and choices annotations; latest non-cancelled wins."""
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        yield HumanLabelRecord(path.name, "file", None, None, None, "", f"invalid JSON: {exc.msg}")
        return
    if not isinstance(tasks, list):
        yield HumanLabelRecord(path.name, "file", None, None, None, "", "a Label Studio export is a list of tasks")
        return
    for index, task in enumerate(tasks):
        where = f"task {task.get('id', index) if isinstance(task, dict) else index}"
        if not isinstance(task, dict):
            yield _record(path, where, task)
            continue
        data = task.get("data") or {}
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        label, annotator = None, None
        if annotations:
            latest = max(annotations, key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))
            for result in latest.get("result") or []:
                choices = (result.get("value") or {}).get("choices") or []
                if choices:
                    label = choices[0]
                    break
            who = latest.get("completed_by")
            annotator = str(who.get("email") or who.get("id")) if isinstance(who, dict) else (str(who) if who else None)
        chunk_id = data.get("chunk_id") if isinstance(data, dict) else None
        yield _record(path, where, {"chunk_id": chunk_id, "label": label, "annotator": annotator})


def validate_human_labels(
    records: list[HumanLabelRecord], known_chunk_ids: Collection[str], classes: Collection[str]
) -> HumanLabelImport:
    """Accept records naming a known chunk and class; a later record for the same chunk supersedes earlier ones."""
    accepted: dict[str, HumanLabelRecord] = {}
    quarantined: list[dict[str, Any]] = []

    def reject(rec: HumanLabelRecord, reason: str) -> None:
        quarantined.append({"source_file": rec.source_file, "record": rec.record, "raw": rec.raw, "reason": reason})

    for rec in records:
        if rec.problem:
            reject(rec, rec.problem)
        elif rec.chunk_id not in known_chunk_ids:
            reject(rec, f"unknown chunk_id '{rec.chunk_id}'")
        elif rec.label not in classes:
            reject(rec, f"unknown label '{rec.label}' (known: {len(classes)} classes)")
        else:
            assert rec.chunk_id is not None
            previous = accepted.get(rec.chunk_id)
            if previous is not None:
                reject(previous, f"superseded by {rec.source_file} {rec.record}")
            accepted[rec.chunk_id] = rec
    rows = [
        {
            "chunk_id": rec.chunk_id,
            "label": rec.label,
            "annotator": rec.annotator,
            "source_file": rec.source_file,
            "record": rec.record,
        }
        for rec in accepted.values()
    ]
    return HumanLabelImport(accepted=rows, quarantined=quarantined)
