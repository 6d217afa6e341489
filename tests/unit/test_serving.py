"""Serving logic without a server: settings rules, the inference-log writer, manifests, compaction."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from aiinfra_dagster.k8s.validation import ManifestError
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.serving.bento import key_required
from aiinfra_dagster.serving.config import portable_settings
from aiinfra_dagster.serving.inference_logs import compact_inference_log, partition_values
from aiinfra_dagster.serving.k8s import k8s_name, serving_manifests, validate_serving_manifest
from aiinfra_dagster.serving.log_writer import InferenceLogWriter, delta_sink
from aiinfra_dagster.serving.tables import INFERENCE_LOG, INFERENCE_LOGS
from aiinfra_dagster.settings import SettingsError


def log_row(i: int, ts: datetime | None = None, **overrides) -> dict:
    row = {
        "request_id": f"r{i:05d}",
        "ts": ts or datetime(2026, 3, 1, 12, tzinfo=UTC),
        "endpoint": "search",
        "status_code": 200,
        "query": f"query {i}",
        "label_filter": None,
        "answer": None,
        "retrieved_ids": ["a", "b"],
        "scores": [0.9, 0.5],
        "predicted_label": None,
        "latency_ms": 3.5,
        "model_version": "m1",
        "classifier_version": "c1",
        "index_alias": "alias",
        "index_version": "v1",
        "bento_tag": "bento:1",
        "error": None,
    }
    row.update(overrides)
    return row


def wait_until(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# --- settings ------------------------------------------------------------------------------------


def test_binding_beyond_loopback_needs_an_api_key(make_settings):
    with pytest.raises(SettingsError, match=r"serving.host '0.0.0.0' binds beyond loopback: set serving.api_key"):
        make_settings(serving={"host": "0.0.0.0"})
    with pytest.raises(SettingsError, match="serving.require_api_key is true but serving.api_key is not set"):
        make_settings(serving={"require_api_key": True})
    assert make_settings(serving={"host": "0.0.0.0", "api_key": "k"}).serving.api_key.get_secret_value() == "k"
    assert make_settings().serving.max_new_tokens == 8  # quick preset: tiny generations


def test_bento_settings_are_portable_and_carry_no_secrets(make_settings, tmp_path):
    settings = make_settings(serving={"api_key": "k-9f8e7d"}, qdrant={"api_key": "q-1a2b3c"})
    portable = portable_settings(settings)
    assert Path(portable.storage.home).is_absolute() and Path(portable.storage.lake_root).is_absolute()
    assert Path(portable.qdrant.path).is_absolute()
    text = portable.model_dump_json()
    assert "k-9f8e7d" not in text and "q-1a2b3c" not in text


# --- inference log writer ------------------------------------------------------------------------


def test_writer_batches_rows_into_delta(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    writer = InferenceLogWriter(delta_sink(store, INFERENCE_LOG), tmp_path / "spill", batch_rows=10, flush_seconds=0.1)
    for i in range(25):
        writer.log(log_row(i))
    writer.close()
    table = store.read(INFERENCE_LOG)
    assert sorted(table["request_id"]) == [f"r{i:05d}" for i in range(25)]
    assert writer.stats.batches >= 3 and writer.stats.written == 25
    assert table["retrieved_ids"].to_list()[0] == ["a", "b"]


class FlakySink:
    """A real Delta sink behind a switch: while `down`, every write raises like an unreachable store."""

    def __init__(self, store: DeltaStore) -> None:
        self.write = delta_sink(store, INFERENCE_LOG)
        self.down = True
        self.calls = 0

    def __call__(self, rows: list[dict]) -> None:
        self.calls += 1
        if self.down:
            raise OSError("object store unreachable")
        self.write(rows)


def test_failed_writes_are_retried_and_lose_nothing(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    sink = FlakySink(store)
    writer = InferenceLogWriter(sink, tmp_path / "spill", batch_rows=5, flush_seconds=0.05)
    for i in range(12):
        writer.log(log_row(i))
    assert wait_until(lambda: sink.calls >= 2, 30)  # one failed attempt and one failed retry
    assert writer.stats.failures >= 2 and writer.pending == 12
    sink.down = False
    writer.close()
    assert store.read(INFERENCE_LOG).height == 12 and writer.stats.spilled == 0


def test_unwritable_rows_are_spilled_on_shutdown_and_written_by_the_next_writer(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    sink = FlakySink(store)
    writer = InferenceLogWriter(sink, tmp_path / "spill", batch_rows=5, flush_seconds=0.05)
    for i in range(7):
        writer.log(log_row(i))
    writer.close()
    assert writer.stats.spilled == 7 and not store.exists(INFERENCE_LOG.name)
    spilled = [
        json.loads(line) for f in (tmp_path / "spill").glob("spill-*.jsonl") for line in f.read_text().splitlines()
    ]
    assert sorted(r["request_id"] for r in spilled) == [f"r{i:05d}" for i in range(7)]

    sink.down = False
    again = InferenceLogWriter(sink, tmp_path / "spill", batch_rows=5, flush_seconds=0.05)
    again.log(log_row(100))
    again.close()
    table = store.read(INFERENCE_LOG)
    assert table.height == 8 and table["ts"].dtype == pl.Datetime("us", "UTC")
    assert again.stats.recovered == 7 and not list((tmp_path / "spill").glob("spill-*.jsonl"))


def test_a_blocked_store_never_blocks_requests(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    release = threading.Event()
    write = delta_sink(store, INFERENCE_LOG)

    def stuck(rows: list[dict]) -> None:
        release.wait()
        write(rows)

    writer = InferenceLogWriter(stuck, tmp_path / "spill", batch_rows=4, flush_seconds=0.05, max_queue_rows=20)
    for i in range(100):  # the writer thread is stuck in its first write: log() must still return, every time
        writer.log(log_row(i))
    assert writer.stats.spilled >= 100 - 20 - 4  # beyond the bounded queue, rows go to JSONL, not to the floor
    release.set()
    writer.close()
    recovered = InferenceLogWriter(write, tmp_path / "spill", batch_rows=50, flush_seconds=0.05)
    recovered.close()
    assert sorted(store.read(INFERENCE_LOG)["request_id"]) == [f"r{i:05d}" for i in range(100)]


def test_rows_that_can_never_be_written_are_kept_aside(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    writer = InferenceLogWriter(delta_sink(store, INFERENCE_LOG), tmp_path / "spill", batch_rows=10, flush_seconds=0.05)
    writer.log(log_row(1, status_code="200"))  # a wrong type: refused by the schema, not cast
    writer.log(log_row(2))
    writer.close()
    rejected = list((tmp_path / "spill").glob("rejected-*.jsonl"))
    assert writer.stats.rejected == 2 and len(rejected) == 1  # the batch it was in is kept whole
    assert {json.loads(line)["request_id"] for line in rejected[0].read_text().splitlines()} == {"r00001", "r00002"}


# --- compaction ----------------------------------------------------------------------------------


def test_inference_logs_are_deduplicated_and_partitioned_by_day(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    day1 = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)
    rows = [log_row(i, ts=day1 + timedelta(minutes=i)) for i in range(4)]
    rows.append(log_row(0, ts=day1))  # spilled and re-written: the same request twice
    store.write(INFERENCE_LOG, INFERENCE_LOG.conform(rows))
    first = compact_inference_log(store)
    assert (first.result.inserted, first.duplicates_dropped) == (4, 1)
    assert partition_values(store) == ["2026-03-01", "2026-03-02"]
    assert dict(zip(first.per_day["date"].cast(str), first.per_day["requests"], strict=True)) == {
        "2026-03-01": 1,
        "2026-03-02": 3,
    }
    # The copied rows are drained from the raw log (time travel still has them): the next run reads only new rows.
    assert store.read(INFERENCE_LOG).is_empty() and store.read(INFERENCE_LOG, version=first.raw_version).height == 5
    again = compact_inference_log(store)
    assert not again.result.committed and again.raw_rows == 0  # nothing new: no commit
    # A new request, and a spilled copy of a request already copied that the writer re-wrote after the drain.
    store.write(INFERENCE_LOG, INFERENCE_LOG.conform([log_row(9, ts=day1), log_row(2, ts=day1 + timedelta(minutes=2))]))
    third = compact_inference_log(store)
    assert (third.raw_rows, third.result.inserted) == (2, 1) and store.read(INFERENCE_LOG).is_empty()
    assert dict(zip(third.per_day["date"].cast(str), third.per_day["requests"], strict=True)) == {
        "2026-03-01": 2,
        "2026-03-02": 3,  # whole days, only those this run added to
    }
    assert store.read(INFERENCE_LOGS)["request_id"].n_unique() == store.read(INFERENCE_LOGS).height == 5


# --- k8s ---------------------------------------------------------------------------------------------


def test_k8s_manifests_validate_and_carry_the_key_from_a_secret(make_settings):
    settings = make_settings(serving={"api_key": "k", "replicas": 2}, k8s={"env_secrets": ["hf-token"]})
    deployment, service, policy = serving_manifests(
        "aiinfra-docs-assistant:0123abcd", serving=settings.serving, k8s=settings.k8s
    )
    for manifest in (deployment, service, policy):
        validate_serving_manifest(manifest)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "aiinfra-docs-assistant:0123abcd" and deployment["spec"]["replicas"] == 2
    key_env = next(e for e in container["env"] if e["name"] == "AIINFRA_SERVING__API_KEY")
    assert "value" not in key_env and key_env["valueFrom"]["secretKeyRef"]["name"] == "aiinfra-docs-assistant-api-key"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert k8s_name("My_Bento.v2") == "my-bento-v2"


def test_k8s_manifest_errors_name_the_field(make_settings):
    settings = make_settings(serving={"memory": "4GB", "api_key": "k"})
    deployment, *_ = serving_manifests("b:1", serving=settings.serving, k8s=settings.k8s)
    with pytest.raises(ManifestError, match=r"resources.limits\['memory'\]: '4GB' is not a Kubernetes quantity"):
        validate_serving_manifest(deployment)
    settings = make_settings(serving={"api_key": "k"})
    deployment, *_ = serving_manifests("b:1", serving=settings.serving, k8s=settings.k8s)
    deployment["spec"]["template"]["spec"]["containers"][0]["port"] = 3000  # a typo'd field
    with pytest.raises(ManifestError, match="strict schema"):
        validate_serving_manifest(deployment)


def test_inference_logs_before_any_request_is_an_empty_partitioned_table(tmp_path):
    store = DeltaStore(str(tmp_path / "lake"))
    compaction = compact_inference_log(store)
    assert compaction.raw_version is None and compaction.result.row_count == 0 and not compaction.result.changed
    assert store.exists(INFERENCE_LOGS.name) and partition_values(store) == []


def test_the_served_llm_is_the_champion_and_nothing_else(instance):
    import dagster as dg

    from aiinfra_dagster.serving.sources import MissingInputError, llm_to_serve

    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "lora_checkpoint", metadata={"model_version": "v9", "merged_model_path": dg.MetadataValue.path("/m")}
        )
    )
    with pytest.raises(MissingInputError, match="materialize champion_model first"):
        llm_to_serve(instance)  # an unvetted fine-tune is never served
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "champion_model", metadata={"model_version": "v8", "model_path": dg.MetadataValue.path("/c")}
        )
    )
    served = llm_to_serve(instance)
    assert (served.tag, served.path, served.asset) == ("aiinfra-llm:v8", "/c", "champion_model")


def test_a_bento_whose_key_lives_in_a_cluster_secret_still_requires_one(make_settings):
    assert not key_required(make_settings().serving)
    assert key_required(make_settings(serving={"api_key": "k"}).serving)
    assert key_required(make_settings(serving={"api_key_secret": "assistant-key"}).serving)
