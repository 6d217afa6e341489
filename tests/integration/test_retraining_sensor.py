"""The retraining sensor against a real instance: drift reports recorded as materializations, runs in the run
storage. (The closed loop with real drift reports and a real retraining run is test_closed_loop.py.)"""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun

from aiinfra_dagster.definitions import build_definitions
from aiinfra_dagster.monitoring.episodes import TAG_EPISODE
from aiinfra_dagster.sensors.retraining import SENSOR_NAME


def report(instance: dg.DagsterInstance, report_id: str, verdict: str) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "drift_report",
            metadata={
                "drift_report_id": report_id,
                "verdict": verdict,
                "reasons": dg.MetadataValue.json(["label PSI 0.9 >= 0.25"]),
                "focus_chunk_ids": dg.MetadataValue.json(["c1"]),
            },
        )
    )


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
        return defs.resolve_sensor_def(SENSOR_NAME)(context)


def add_run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus, tags: dict[str, str]) -> str:
    run = DagsterRun(job_name="retraining", status=status, tags=tags)
    instance.add_run(run)
    return run.run_id


def test_one_run_in_flight_then_cooldown_then_the_next_episode(make_settings, instance):
    defs = build_definitions(make_settings(monitoring={"retraining": {"cooldown_minutes": 0}}))
    report(instance, "calm", "no drift")
    first = tick(defs, instance, None)
    assert not first.run_requests and "no open drift episode" in first.skip_reason.skip_message

    report(instance, "ep1", "drift")
    requested = tick(defs, instance, first.cursor)
    (request,) = requested.run_requests
    assert request.run_key == "drift-episode-ep1" and request.tags[TAG_EPISODE] == "ep1"
    assert request.run_config["ops"]["synthetic_qa"]["config"] == {"focus_chunk_ids": ["c1"], "drift_report_id": "ep1"}
    in_flight = add_run(instance, dg.DagsterRunStatus.STARTED, dict(request.tags))

    # The episode ends, a new one starts while the first run is still going: skipped, with the run named.
    report(instance, "calm2", "no drift")
    report(instance, "ep2", "drift")
    waiting = tick(defs, instance, requested.cursor)
    assert not waiting.run_requests and in_flight in waiting.skip_reason.skip_message

    # The run failed at the gate: a finished decision, so (no cooldown here) episode 2 gets its run.
    instance.report_run_failed(instance.get_run_by_id(in_flight))
    second = tick(defs, instance, waiting.cursor)
    assert [r.run_key for r in second.run_requests] == ["drift-episode-ep2"]


def test_cooldown_counts_from_the_last_retraining_run(make_settings, instance):
    defs = build_definitions(make_settings(monitoring={"retraining": {"cooldown_minutes": 60}}))
    finished = add_run(instance, dg.DagsterRunStatus.SUCCESS, {TAG_EPISODE: "old"})
    report(instance, "ep", "drift")
    result = tick(defs, instance, None)
    assert (
        not result.run_requests
        and "cooldown" in result.skip_reason.skip_message
        and finished in result.skip_reason.skip_message
    )
