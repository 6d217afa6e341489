"""The closed loop on the quick profile, through real runs: deploy, shifted traffic, drift, one retraining run,
the gate, the new Bento serving, and the audit linking it to the new training-set version."""

from __future__ import annotations

import time

import dagster as dg
import httpx
import polars as pl

from aiinfra_dagster.definitions import build_definitions
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.lineage.audit import audit_deployment
from aiinfra_dagster.materializations import latest_metadata
from aiinfra_dagster.monitoring.episodes import TAG_EPISODE, TAG_REPORT
from aiinfra_dagster.monitoring.traffic import (
    deployed_url,
    question_pool,
    sample_questions,
    send_traffic,
)
from aiinfra_dagster.sensors.retraining import SENSOR_NAME
from aiinfra_dagster.serving.tables import INFERENCE_LOG
from aiinfra_dagster.synthetic.tables import SYNTHETIC_FOCUS, TRAINING_SET

IN_DISTRIBUTION, SHIFTED = 30, 40


def wait_logged(store: DeltaStore, queries: list[str], timeout_s: float = 60.0) -> None:
    """Poll the service's raw log until every query of `queries` is in it (the writer flushes in batches)."""
    deadline = time.monotonic() + timeout_s
    wanted = set(queries)
    while time.monotonic() < deadline:
        logged = set(store.read(INFERENCE_LOG).filter(pl.col("endpoint") == "ask")["query"].to_list())
        if wanted <= logged:
            return
        time.sleep(0.5)
    raise AssertionError(f"{len(wanted - logged)} requests never reached the inference log")


def traffic(settings, kind: str, count: int, store: DeltaStore) -> list[str]:
    pool = question_pool(kind, storage=settings.storage, traffic=settings.monitoring.traffic)
    questions = sample_questions(pool, count, seed=1)
    summary = send_traffic(deployed_url(settings.storage), questions, count=count, rate_per_second=25, timeout_s=120)
    assert summary.ok == count, summary.errors
    wait_logged(store, questions)
    return questions


def drift(defs: dg.Definitions, instance: dg.DagsterInstance) -> dict:
    result = defs.resolve_job_def("drift").execute_in_process(instance=instance)
    assert result.success
    return latest_metadata(instance, "drift_report")


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
        return sensor(context)


def test_shifted_traffic_triggers_exactly_one_retraining_that_redeploys_with_lineage(
    make_settings, instance, tiny_causal_lm
):
    settings = make_settings(
        # The quick corpus (drift needs enough chunks for the traffic to reach new ones) with the tiny Llama:
        # drift is read from the encoder, the index and the classifier, not from the LLM's answers.
        models={"llm": {"source": "local", "path": str(tiny_causal_lm)}},
        # The gate is real but permissive here: the test is about the loop, not about whether
        # four LoRA steps of a tiny fine-tune beat the champion.
        promotion={"min_improvement": -1e9, "criterion": "mean", "slice_tolerance": 1e9},
        monitoring={"thresholds": {"min_requests": 20}, "retraining": {"cooldown_minutes": 60}},
    )
    defs = build_definitions(settings)
    store = DeltaStore(settings.storage.lake_root)
    main = defs.resolve_job_def("main").execute_in_process(instance=instance, raise_on_error=False)
    assert main.success, [e.message for e in main.all_events if e.is_failure]
    first_bento = latest_metadata(instance, "bento_deployment")["bento_tag"]
    first_training_set = store.version(TRAINING_SET.name)

    # Traffic like the training set: no drift, no retraining.
    traffic(settings, "in-distribution", IN_DISTRIBUTION, store)
    calm = drift(defs, instance)
    assert calm["verdict"] == "no drift", calm["reasons"]
    quiet = tick(defs, instance, None)
    assert not quiet.run_requests and "no open drift episode" in quiet.skip_reason.skip_message

    # A new user population: the drift check fails (warns) and the sensor asks for one retraining run.
    traffic(settings, "shifted", SHIFTED, store)
    shifted = drift(defs, instance)
    assert shifted["verdict"] == "drift" and shifted["drifted"], shifted["reasons"]
    print("shifted traffic:", shifted["reasons"])
    assert shifted["focus_chunk_ids"]
    check = instance.get_latest_asset_check_evaluation_record(
        dg.AssetCheckKey(dg.AssetKey("drift_report"), "drift_within_threshold")
    )
    assert check.event.asset_check_evaluation.passed is False

    first = tick(defs, instance, quiet.cursor)
    assert len(first.run_requests) == 1
    request = first.run_requests[0]
    assert request.run_key == f"drift-episode-{shifted['drift_report_id']}"
    assert request.tags[TAG_REPORT] == shifted["drift_report_id"] == request.tags[TAG_EPISODE]

    # Repeated ticks, and another drifted report of the same episode: still that one request.
    assert not tick(defs, instance, first.cursor).run_requests
    drift(defs, instance)
    again = tick(defs, instance, first.cursor)
    assert not again.run_requests and "already requested" in again.skip_reason.skip_message

    retraining = defs.resolve_job_def("retraining").execute_in_process(
        instance=instance, run_config=request.run_config, tags=request.tags, raise_on_error=False
    )
    assert retraining.success, [e.message for e in retraining.all_events if e.is_failure]
    synthetic = latest_metadata(instance, "synthetic_qa")
    assert synthetic["focus_chunks_added"] > 0 and synthetic["drift_report_id"] == shifted["drift_report_id"]
    assert set(store.read(SYNTHETIC_FOCUS)["chunk_id"].to_list()) <= set(shifted["focus_chunk_ids"])
    new_training_set = store.version(TRAINING_SET.name)
    assert new_training_set > first_training_set

    deployed = latest_metadata(instance, "bento_deployment")
    assert deployed["bento_tag"] != first_bento and deployed["previous_bento_tag"] == first_bento
    champion = latest_metadata(instance, "champion_model")
    url = deployed_url(settings.storage)
    answer = httpx.post(f"{url}/ask", json={"question": "How do I open a file?"}, timeout=60).json()
    assert answer["model_version"] == champion["model_version"]

    # The audit explains the new deployment: its training-set version, and the drift episode behind the run.
    audit = audit_deployment(instance, store)
    assert not audit.missing, audit.missing
    assert audit.bento_tag == deployed["bento_tag"] and audit.training_set_version == new_training_set
    for role in ("deployment", "training_set", "synthetic_qa"):
        hop = audit.hop(role)
        assert hop.run_id == retraining.run_id and hop.run_tags[TAG_EPISODE] == request.tags[TAG_EPISODE], role
    assert request.tags[TAG_EPISODE] in audit.to_markdown()

    # Even with a reset cursor the episode's run is found on the instance: no second run.
    reset = tick(defs, instance, None)
    assert not reset.run_requests and retraining.run_id in reset.skip_reason.skip_message
