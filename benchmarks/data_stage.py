"""Data-stage throughput, each figure as a ratio to a baseline measured in the same run.

    python benchmarks/data_stage.py [--profile demo] [--repeat 3]

Figures:
- ingest + validate + chunk over the configured corpus (documents/s, MB/s), against a bare
  baseline that only reads the files and writes their text to Delta with polars;
- the Delta write path: DeltaStore.write (schema-checked append) and DeltaStore.sync (diffing
  MERGE) against a bare `polars.DataFrame.write_delta` of the same frame;
- a no-op re-sync (the idempotent path every re-run takes) against the same bare write.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from timing import timed

from aiinfra_dagster.data import ingest
from aiinfra_dagster.data.chunk_set import build_chunk_set, embedding_token_counter
from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS, RAW_DOCUMENTS, VALIDATED_DOCUMENTS
from aiinfra_dagster.data.validation import split_documents
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.settings import Settings, load_settings


def fresh_dir(base: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=base))


def stage_once(settings: Settings, lake: Path, phases: dict[str, list[float]]) -> dict[str, object]:
    """The data stage's three steps as the assets run them, each timed."""
    store = DeltaStore(str(lake))
    t0 = time.perf_counter()
    docs = [d for s in settings.sources for d in ingest.iter_source_documents(s, settings.python_docs_dir)]
    store.sync(RAW_DOCUMENTS, ingest.raw_rows(docs, datetime.now(UTC)))
    t1 = time.perf_counter()
    split = split_documents(store.read(RAW_DOCUMENTS), 0, settings.validation, settings.pii, datetime.now(UTC))
    store.sync(VALIDATED_DOCUMENTS, split.valid)
    t2 = time.perf_counter()
    chunk_set = build_chunk_set(
        store.read(VALIDATED_DOCUMENTS), embedding_token_counter(settings.models), settings.chunking
    )
    store.sync(DOCUMENT_CHUNKS, chunk_set.chunks)
    t3 = time.perf_counter()
    for name, took in (("ingest", t1 - t0), ("validate", t2 - t1), ("chunk", t3 - t2)):
        phases.setdefault(name, []).append(took)
    return {"documents": len(docs), "bytes": sum(len(d.content) for d in docs), "chunks": chunk_set.chunks.height}


def bare_tokenize(settings: Settings, texts: list[str]) -> None:
    """Baseline for chunking: tokenize every document once, in one batch."""
    embedding_token_counter(settings.models).count_batch(texts)


def bare_copy(settings: Settings, lake: Path) -> None:
    """Baseline: read every file and write path + text to Delta, nothing else."""
    docs = [d for s in settings.sources for d in ingest.iter_source_documents(s, settings.python_docs_dir)]
    frame = pl.DataFrame({"path": [d.path for d in docs], "text": [d.content.decode("utf-8", "replace") for d in docs]})
    frame.write_delta(str(lake / "bare"))


def ratio_line(name: str, ours: float, base: float, unit_note: str = "") -> str:
    return (
        f"{name:<44} ours {ours * 1000:9.1f} ms | baseline {base * 1000:9.1f} ms | "
        f"ratio {ours / base:6.2f}x {unit_note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="demo", choices=["quick", "demo", "full"])
    parser.add_argument("--config", default=None, help="settings file (default: AIINFRA_CONFIG / ./aiinfra.yaml)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings(args.config, profile=args.profile)
    work = Path(tempfile.mkdtemp(prefix="aiinfra-bench-"))
    try:
        stats: dict[str, object] = {}
        phases: dict[str, list[float]] = {}

        def ours() -> None:
            stats.update(stage_once(settings, fresh_dir(work), phases))

        stage_time = timed(ours, args.repeat)
        bare_time = timed(lambda: bare_copy(settings, fresh_dir(work)), args.repeat)
        docs, mb = int(stats["documents"]), int(stats["bytes"]) / 1e6
        print(f"corpus: {docs} documents, {mb:.2f} MB, {stats['chunks']} chunks (profile {args.profile})")
        print("baseline 'bare copy': read the files and polars.write_delta their text")
        print(
            ratio_line("ingest+validate+chunk (whole stage)", stage_time, bare_time)
            + f"| {docs / stage_time:.1f} docs/s, {mb / stage_time:.2f} MB/s"
        )
        for name, times in phases.items():
            took = statistics.median(times)
            print(ratio_line(f"  {name}", took, bare_time) + f"| {docs / took:.1f} docs/s, {mb / took:.2f} MB/s")
        texts = [
            d.content.decode("utf-8", "replace")
            for s in settings.sources
            for d in ingest.iter_source_documents(s, settings.python_docs_dir)
        ]
        tokenize_time = timed(lambda: bare_tokenize(settings, texts), args.repeat)
        print(ratio_line("  chunk vs tokenizing the corpus once", statistics.median(phases["chunk"]), tokenize_time))

        lake = fresh_dir(work)
        stage_once(settings, lake, {})
        chunks = DeltaStore(str(lake)).read(DOCUMENT_CHUNKS)
        bare_write = timed(lambda: chunks.write_delta(str(fresh_dir(work) / "t")), args.repeat)
        our_write = timed(lambda: DeltaStore(str(fresh_dir(work))).write(DOCUMENT_CHUNKS, chunks), args.repeat)
        our_sync = timed(lambda: DeltaStore(str(fresh_dir(work))).sync(DOCUMENT_CHUNKS, chunks), args.repeat)
        store = DeltaStore(str(lake))
        noop_sync = timed(lambda: store.sync(DOCUMENT_CHUNKS, chunks), args.repeat)
        print(f"delta write path on {chunks.height} chunk rows ({chunks.estimated_size('mb'):.2f} MB in memory):")
        print(ratio_line("  DeltaStore.write (checked append)", our_write, bare_write, "vs polars.write_delta"))
        print(ratio_line("  DeltaStore.sync into a new table", our_sync, bare_write, "vs polars.write_delta"))
        print(ratio_line("  DeltaStore.sync, nothing changed (re-run)", noop_sync, bare_write, "vs polars.write_delta"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
