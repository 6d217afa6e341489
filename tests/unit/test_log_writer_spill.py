"""The inference-log writer survives damaged spill files: good rows reach Delta, damage is moved aside, files are
written atomically, and the writer thread never dies of an error."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aiinfra_dagster.atomic import write_bytes_atomic
from aiinfra_dagster.lakehouse import DeltaStore, SchemaMismatchError
from aiinfra_dagster.serving.log_writer import InferenceLogWriter, delta_sink
from aiinfra_dagster.serving.spill_files import SPILL_GLOB, read_spill, write_spill
from aiinfra_dagster.serving.tables import INFERENCE_LOG
from tests.unit.test_serving import log_row, wait_until


def spill_line(i: int, **overrides) -> bytes:
    row = log_row(i, **overrides)
    row["ts"] = row["ts"].isoformat()
    return json.dumps(row).encode() + b"\n"


def plant(spill: Path, name: str, data: bytes) -> Path:
    """Put a file in place at once (a running writer may scan the directory at any moment)."""
    spill.mkdir(parents=True, exist_ok=True)
    temp = spill / f".planting-{name}"
    temp.write_bytes(data)
    return temp.rename(spill / name)


def written_ids(store: DeltaStore) -> list[str]:
    return sorted(store.read(INFERENCE_LOG)["request_id"]) if store.exists(INFERENCE_LOG.name) else []


def test_a_truncated_last_line_costs_only_that_line(tmp_path, caplog):
    store, spill = DeltaStore(str(tmp_path / "lake")), tmp_path / "spill"
    good = b"".join(spill_line(i) for i in range(3))
    cut = spill_line(3)[:57]  # the process died mid-write (the old in-place writer): no newline, half a row
    planted = plant(spill, "spill-1-aaaa.jsonl", good + cut)
    with caplog.at_level(logging.ERROR, logger="aiinfra_dagster.serving.log_writer"):
        writer = InferenceLogWriter(delta_sink(store, INFERENCE_LOG), spill, batch_rows=10, flush_seconds=0.05)
        assert wait_until(lambda: len(written_ids(store)) == 3, 30)
        writer.log(log_row(10))  # the writer thread is alive and keeps logging
        assert wait_until(lambda: len(written_ids(store)) == 4, 30) and writer._thread.is_alive()
        writer.close()
    assert written_ids(store) == ["r00000", "r00001", "r00002", "r00010"]
    assert not planted.exists() and writer.stats.quarantined == 1 and writer.stats.recovered == 3
    assert (spill / "corrupt" / planted.name).read_bytes() == cut + b"\n"  # the damaged line, verbatim
    reasons = (spill / "corrupt" / f"{planted.name}.reasons.txt").read_text()
    assert "line 4: truncated: JSONDecodeError" in reasons and "3 good row(s)" in reasons
    assert any("is damaged" in r.message and "line 4: truncated" in r.message for r in caplog.records)


def test_garbage_files_are_moved_aside_whole_and_other_files_still_count(tmp_path):
    store, spill = DeltaStore(str(tmp_path / "lake")), tmp_path / "spill"
    garbage = b"\x00\xff\xfe not json\n[1, 2]\n" + b"[" * 5000 + b"\n" + bytes(range(256))
    plant(spill, "spill-1-garbage.jsonl", garbage)
    mixed = plant(
        spill,
        "spill-2-mixed.jsonl",
        spill_line(0) + b'{"request_id": "x", "ts": "not a time"}\n' + b"\n" + spill_line(1),
    )
    writer = InferenceLogWriter(delta_sink(store, INFERENCE_LOG), spill, batch_rows=10, flush_seconds=0.05)
    writer.close()
    assert written_ids(store) == ["r00000", "r00001"]
    corrupt = spill / "corrupt"
    assert (corrupt / "spill-1-garbage.jsonl").read_bytes() == garbage  # nothing usable: the file itself, intact
    reasons = (corrupt / "spill-1-garbage.jsonl.reasons.txt").read_text()
    assert "no usable row" in reasons and "line 2: ValueError: a JSON list, not an object" in reasons
    assert "line 3: RecursionError" in reasons and "line 5: truncated: " in reasons
    assert (corrupt / mixed.name).read_bytes() == b'{"request_id": "x", "ts": "not a time"}\n'
    assert "line 2: ValueError: Invalid isoformat string" in (corrupt / f"{mixed.name}.reasons.txt").read_text()
    assert not list(spill.glob(SPILL_GLOB)) and writer.stats.quarantined == 6  # 5 lines of garbage, 1 of mixed


def test_a_running_writer_picks_up_spill_files_that_appear_and_survives_their_damage(tmp_path):
    store, spill = DeltaStore(str(tmp_path / "lake")), tmp_path / "spill"
    writer = InferenceLogWriter(
        delta_sink(store, INFERENCE_LOG), spill, batch_rows=10, flush_seconds=0.05, rescan_seconds=0.1
    )
    writer.log(log_row(0))
    assert wait_until(lambda: written_ids(store) == ["r00000"], 30)
    plant(spill, "spill-5-late.jsonl", spill_line(1) + spill_line(2) + b'{"request_id": "r0000')
    assert wait_until(lambda: written_ids(store) == ["r00000", "r00001", "r00002"], 30)
    writer.log(log_row(3))
    writer.close()
    assert written_ids(store) == ["r00000", "r00001", "r00002", "r00003"]
    assert (spill / "corrupt" / "spill-5-late.jsonl").read_bytes() == b'{"request_id": "r0000\n'


def test_spill_files_are_renamed_into_place_whole_or_not_at_all(tmp_path):
    target = tmp_path / "spill" / "spill-1-x.jsonl"
    target.parent.mkdir()

    def cut_off():
        yield b'{"a": 1}\n'
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomic(target, cut_off())
    assert list(target.parent.iterdir()) == []  # neither a half file under the real name nor a temporary
    write_bytes_atomic(target, [b'{"a": 1}\n'])
    with pytest.raises(OSError):
        write_bytes_atomic(target, cut_off())
    assert target.read_bytes() == b'{"a": 1}\n'  # the earlier whole file stays as it was

    # A temporary left by a crashed writer is never taken for a spill file (nor moved, nor deleted).
    leftover = plant(tmp_path / "other", ".spill-2-y.jsonl.1234abcd5678.tmp", b'{"request_id": "half')
    store = DeltaStore(str(tmp_path / "lake"))
    InferenceLogWriter(delta_sink(store, INFERENCE_LOG), leftover.parent, flush_seconds=0.05).close()
    assert leftover.exists() and not (leftover.parent / "corrupt").exists() and not store.exists(INFERENCE_LOG.name)


def test_a_reader_never_sees_a_partial_spill_file_while_writers_spill(tmp_path):
    spill = tmp_path / "spill"
    done = threading.Event()
    seen: list[int] = []
    damaged: list[str] = []

    def spill_many(worker: int) -> None:
        for n in range(40):
            rows = [spill_line(worker * 1000 + n * 50 + i) for i in range(50)]  # ~20 kB a file
            write_spill(spill, "spill", rows)

    def read_all() -> None:  # reads each file as soon as it shows up, the moment a partial file would be seen
        whole: set[Path] = set()
        while not done.is_set():
            for path in set(spill.glob(SPILL_GLOB) if spill.is_dir() else []) - whole:
                read = read_spill(path, dict)
                seen.append(len(read.rows))
                damaged.extend(f"{path.name}: {d.reason}" for d in read.damaged)
                whole.add(path)

    reader = threading.Thread(target=read_all)
    reader.start()
    workers = [threading.Thread(target=spill_many, args=(w,)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    reader.join()
    assert damaged == [] and set(seen) <= {50}
    assert len(list(spill.glob(SPILL_GLOB))) == 160 and not list(spill.glob(".*"))


def test_only_the_rows_the_schema_refuses_are_kept_aside(tmp_path):
    store, spill = DeltaStore(str(tmp_path / "lake")), tmp_path / "spill"
    writer = InferenceLogWriter(
        delta_sink(store, INFERENCE_LOG), spill, batch_rows=10, flush_seconds=0.05, check=INFERENCE_LOG.conform
    )
    writer.log(log_row(1, status_code="200"))  # a wrong type: refused by the schema, not cast
    for i in range(2, 6):
        writer.log(log_row(i))
    writer.close()
    assert written_ids(store) == ["r00002", "r00003", "r00004", "r00005"]
    rejected = list(spill.glob("rejected-*.jsonl"))
    assert writer.stats.rejected == 1 and len(rejected) == 1
    assert [json.loads(line)["request_id"] for line in rejected[0].read_text().splitlines()] == ["r00001"]


def test_the_writer_thread_carries_on_after_an_unexpected_error_and_loses_nothing(tmp_path, caplog):
    spill = tmp_path / "spill"

    def refusing(rows: list[dict]) -> None:
        raise SchemaMismatchError("refused")

    def broken_check(rows: list[dict]) -> None:
        raise RuntimeError("a bug in the check")

    with caplog.at_level(logging.ERROR, logger="aiinfra_dagster.serving.log_writer"):
        writer = InferenceLogWriter(refusing, spill, batch_rows=2, flush_seconds=0.05, check=broken_check)
        writer.log(log_row(1))
        writer.log(log_row(2))
        assert wait_until(lambda: writer.stats.restarts >= 1, 30) and writer._thread.is_alive()
        writer.close()
    assert any("inference log writer failed" in r.message for r in caplog.records)
    kept = [json.loads(line)["request_id"] for f in spill.glob(SPILL_GLOB) for line in f.read_text().splitlines()]
    assert sorted(kept) == ["r00001", "r00002"] and writer.stats.lost == 0


def test_rows_that_cannot_be_serialised_are_logged_not_silently_dropped(tmp_path, caplog):
    spill = tmp_path / "spill"
    release = threading.Event()
    writer = InferenceLogWriter(lambda rows: release.wait(), spill, batch_rows=1, flush_seconds=0.05, max_queue_rows=1)
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with caplog.at_level(logging.ERROR, logger="aiinfra_dagster.serving.log_writer"):
        for i in range(4):  # the sink is stuck on the first row and the queue holds one: the rest spill
            writer.log(log_row(i, query=deep if i == 3 else f"q{i}", ts=datetime(2026, 3, 1, tzinfo=UTC)))
    assert writer.stats.lost == 1 and any("r00003 dropped" in r.message for r in caplog.records)
    release.set()
    writer.close()
