"""Schedules, eager assets and the retraining sensor come from the settings and are switchable (default status)."""

from __future__ import annotations

import dagster as dg

from aiinfra_dagster.definitions import build_definitions
from aiinfra_dagster.sensors.retraining import SENSOR_NAME
from aiinfra_dagster.sensors.schedules import EAGER_ASSETS


def test_schedules_and_sensor_follow_the_settings(make_settings):
    defs = build_definitions(
        make_settings(
            monitoring={
                "schedules": {"running": True, "drift_cron": "*/15 * * * *", "timezone": "Europe/Berlin"},
                "retraining": {"sensor_running": False, "sensor_interval_seconds": 90},
            }
        )
    )
    drift = defs.resolve_schedule_def("drift_hourly")
    assert (drift.cron_schedule, drift.execution_timezone, drift.job_name) == ("*/15 * * * *", "Europe/Berlin", "drift")
    assert drift.default_status == dg.DefaultScheduleStatus.RUNNING
    assert defs.resolve_schedule_def("ingestion_nightly").job_name == "ingestion"
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED and sensor.minimum_interval_seconds == 90
    assert sensor.job_name == "retraining"


def test_data_stage_is_eager_and_training_is_not(make_settings):
    graph = build_definitions(make_settings()).resolve_asset_graph()
    eager = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).automation_condition is not None}
    assert eager == set(EAGER_ASSETS)
    off = build_definitions(make_settings(monitoring={"schedules": {"eager_data_assets": False}})).resolve_asset_graph()
    assert not any(off.get(k).automation_condition for k in off.get_all_asset_keys())


def test_retraining_job_is_the_chain_from_synthetic_data_to_deployment(make_settings):
    job = build_definitions(make_settings()).resolve_job_def("retraining")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert {
        "synthetic_qa",
        "training_set",
        "lora_checkpoint",
        "eval_report",
        "champion_model",
        "bento_build",
        "bento_deployment",
    } <= selected
    assert not selected & {"drift_report", "inference_logs", "raw_documents", "base_model", "topic_classifier"}
