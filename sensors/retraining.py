"""The retraining sensor: a drift episode on live traffic starts one retraining run.

The decision logic is `aiinfra_dagster.monitoring.episodes`; this module reads
drift_report materializations from the instance, looks up the last retraining
run, and turns the decision into a RunRequest whose tags and run config say which
drift report triggered it (visible on the run's page in the UI).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import dagster as dg

from aiinfra_dagster.assets.keys import DRIFT_REPORT_KEY
from aiinfra_dagster.materializations import materializations
from aiinfra_dagster.monitoring.episodes import (
    TAG_EPISODE,
    TAG_REASONS,
    TAG_REPORT,
    TAG_REPORT_RUN,
    DriftObservation,
    EpisodeCursor,
    RetrainingRun,
    advance,
    decide,
    run_key,
)
from aiinfra_dagster.monitoring.report import NO_VERDICT
from aiinfra_dagster.settings import Settings

SENSOR_NAME = "retraining_on_drift"
IN_FLIGHT = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


def new_observations(instance: dg.DagsterInstance, after_storage_id: int) -> list[DriftObservation]:
    """drift_report materializations after the cursor, oldest first."""
    return [
        DriftObservation(
            storage_id=m.storage_id,
            report_id=str(m.metadata.get("drift_report_id", m.storage_id)),
            verdict=str(m.metadata.get("verdict", NO_VERDICT)),
            run_id=m.run_id,
            reasons=tuple(m.metadata.get("reasons") or ()),
            focus_chunk_ids=tuple(m.metadata.get("focus_chunk_ids") or ()),
        )
        for m in materializations(instance, DRIFT_REPORT_KEY, after_storage_id)
    ]


def last_retraining_run(instance: dg.DagsterInstance, job_name: str) -> RetrainingRun | None:
    records = instance.get_run_records(dg.RunsFilter(job_name=job_name), limit=1)
    if not records:
        return None
    record = records[0]
    started = record.start_time or record.create_timestamp.timestamp()
    return RetrainingRun(
        run_id=record.dagster_run.run_id,
        status=record.dagster_run.status.value,
        started=datetime.fromtimestamp(started, UTC),
        in_flight=record.dagster_run.status in IN_FLIGHT,
    )


def episode_run(instance: dg.DagsterInstance, episode: str | None) -> str | None:
    if episode is None:
        return None
    records = instance.get_run_records(dg.RunsFilter(tags={TAG_EPISODE: episode}), limit=1)
    return records[0].dagster_run.run_id if records else None


def build_retraining_sensor(settings: Settings, job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    params = settings.monitoring.retraining

    @dg.sensor(
        name=SENSOR_NAME,
        job=job,
        minimum_interval_seconds=params.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING if params.sensor_running else dg.DefaultSensorStatus.STOPPED,
        description=(
            "Watches drift_report. The first drifted report of an episode (drifted reports until one is within every "
            "threshold) requests one retraining run with run key drift-episode-<report id>, unless a retraining run is "
            "in flight or the last one started less than monitoring.retraining.cooldown_minutes ago; every skip says "
            "why. The run's tags name the drift report; its config passes the chunks the traffic retrieved to "
            "synthetic_qa."
        ),
    )
    def retraining_on_drift(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        before = EpisodeCursor.from_json(context.cursor)
        cursor = advance(before, new_observations(context.instance, before.last_storage_id))
        decision = decide(
            cursor,
            last_retraining_run(context.instance, job.name),
            datetime.now(UTC),
            timedelta(minutes=params.cooldown_minutes),
            episode_run_id=episode_run(context.instance, cursor.episode),
        )
        context.log.info(decision.reason)
        if not decision.request:
            return dg.SensorResult(skip_reason=dg.SkipReason(decision.reason), cursor=cursor.to_json())
        trigger = cursor.latest_drifted
        assert cursor.episode is not None and trigger is not None
        request = dg.RunRequest(
            run_key=run_key(cursor.episode),
            run_config={
                "ops": {
                    "synthetic_qa": {
                        "config": {
                            "focus_chunk_ids": list(trigger.focus_chunk_ids),
                            "drift_report_id": trigger.report_id,
                        }
                    }
                }
            },
            tags={
                TAG_EPISODE: cursor.episode,
                TAG_REPORT: trigger.report_id,
                TAG_REPORT_RUN: trigger.run_id,
                TAG_REASONS: "; ".join(trigger.reasons)[:1000],
            },
        )
        return dg.SensorResult(run_requests=[request], cursor=replace(cursor, requested=cursor.episode).to_json())

    return retraining_on_drift
