"""The hourly inference-log compaction as history grows, as a ratio to a baseline measured in the same run.

    python benchmarks/inference_logs.py [--days 30] [--per-hour 120] [--hours 3]

Each simulated hour the service appends `--per-hour` requests; then one compaction runs.
- ours: `compact_inference_log` (copy new request ids into `inference_logs`, drain them from
  the raw log, so each run reads only what arrived since the last);
- baseline: what it did before, and what a plain "copy everything, dedupe by id" job does:
  read the whole raw log (it keeps all history), dedupe, sync into `inference_logs`, compact
  small files, per-day stats over the whole table.
Both start from `--days` of history already compacted. Printed: seconds per hourly run
for each, and ours as a ratio to the baseline (below 1 = faster).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta

import polars as pl

from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.serving.inference_logs import _compact, compact_inference_log, curated_rows
from aiinfra_dagster.serving.tables import INFERENCE_LOG, INFERENCE_LOGS

START = datetime(2026, 1, 1, tzinfo=UTC)


def requests(first: int, count: int, per_hour: int) -> pl.DataFrame:
    """`count` realistic /ask rows (question, a few hundred characters of answer, 3 hits) from id `first`,
    `per_hour` of them each hour from START on."""
    ids = range(first, first + count)
    return INFERENCE_LOG.conform(
        [
            {
                "request_id": f"r{i:09d}",
                "ts": START + timedelta(seconds=i * 3600 / per_hour),
                "endpoint": "ask",
                "status_code": 200,
                "query": f"how do I read a file line by line in python {i}",
                "label_filter": None,
                "answer": "Iterate over the open file object: `for line in f:` reads one line at a time. " * 4,
                "retrieved_ids": ["c1", "c2", "c3"],
                "scores": [0.61, 0.52, 0.44],
                "predicted_label": None,
                "latency_ms": 812.0,
                "model_version": "m1",
                "classifier_version": "c1",
                "index_alias": "serving",
                "index_version": "v1",
                "bento_tag": "aiinfra-docs-assistant:1",
                "error": None,
            }
            for i in ids
        ]
    )


def baseline_compaction(store: DeltaStore) -> None:
    """The same steps over the whole history: read the raw log, dedupe, sync, compact files, per-day stats."""
    curated, _ = curated_rows(store.read(INFERENCE_LOG))
    store.sync(INFERENCE_LOGS, curated, compare=[], delete_missing=False)
    for name in (INFERENCE_LOG.name, INFERENCE_LOGS.name):
        _compact(store, name)
    store.read(INFERENCE_LOGS).group_by("date").agg(pl.len(), pl.col("latency_ms").median())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-hour", type=int, default=120)
    parser.add_argument("--hours", type=int, default=3, help="hourly runs timed after the history is in place")
    args = parser.parse_args()

    history = requests(0, args.days * 24 * args.per_hour, args.per_hour)
    ours, baseline = DeltaStore(tempfile.mkdtemp()), DeltaStore(tempfile.mkdtemp())
    for store in (ours, baseline):
        store.write(INFERENCE_LOG, history)
    compact_inference_log(ours)  # history copied and drained
    baseline_compaction(baseline)  # history copied; the raw log keeps it
    timings: dict[str, list[float]] = {"ours": [], "baseline": []}
    for hour in range(args.hours):
        first = history.height + hour * args.per_hour
        for name, store, compact in (
            ("ours", ours, compact_inference_log),
            ("baseline", baseline, baseline_compaction),
        ):
            store.write(INFERENCE_LOG, requests(first, args.per_hour, args.per_hour))
            began = time.perf_counter()
            compact(store)
            timings[name].append(time.perf_counter() - began)
    assert (
        ours.read(INFERENCE_LOGS, columns=["request_id"]).height
        == baseline.read(INFERENCE_LOGS, columns=["request_id"]).height
    )

    per_run = {name: sorted(values)[len(values) // 2] for name, values in timings.items()}
    print(
        f"history: {history.height} requests ({args.days} days x {args.per_hour}/hour); "
        f"{args.hours} hourly runs of {args.per_hour} new requests"
    )
    print(f"baseline (read the whole raw log, dedupe, sync): {per_run['baseline']:.3f} s per run")
    print(f"ours (copy the new rows, drain them):            {per_run['ours']:.3f} s per run")
    print(f"ratio ours / baseline: {per_run['ours'] / per_run['baseline']:.2f}")


if __name__ == "__main__":
    main()
