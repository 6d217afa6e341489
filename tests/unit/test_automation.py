"""Schedules, eager assets and the retraining sensor come from the settings and are switchable (default status)."""

from __future__ import annotations

import dagster as dg

from aiinfra_dagster.definitions import all_asset_checks, all_assets, build_definitions, build_resources
from aiinfra_dagster.sensors.retraining import SENSOR_NAME
from aiinfra_dagster.sensors.schedules import AUTOMATION_SENSOR_NAME, EAGER_ASSETS
from tests.helpers import materialize_assets, write_files


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


def test_automation_sensor_runs_by_default_and_follows_the_settings(make_settings):
    sensor = build_definitions(make_settings()).resolve_sensor_def(AUTOMATION_SENSOR_NAME)
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    off = make_settings(monitoring={"schedules": {"automation_running": False, "automation_interval_seconds": 5}})
    sensor = build_definitions(off).resolve_sensor_def(AUTOMATION_SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED and sensor.minimum_interval_seconds == 5


CORPUS = {
    "sockets.md": "# Sockets\n\nUse socket.create_connection to open a TCP connection to an address and port; it tries "
    "every address returned by name resolution until one succeeds.\n",
    "contacts.md": "# Support\n\nCall +1 415-555-0132 during office hours if the deployment fails.\n",
}
GOLDEN = '{"question": "How do I open a TCP connection?", "answer": "Use socket.create_connection."}\n'
DOWNSTREAM = {"document_chunks", "chunk_embeddings", "vector_index"}


def requested(result: dg.EvaluateAutomationConditionsResult) -> set[str]:
    return {k for k in EAGER_ASSETS if result.get_num_requested(dg.AssetKey(k))}


def test_failed_blocking_check_on_validated_documents_stops_the_eager_data_stage(tmp_path, make_settings, instance):
    """A real validated_documents materialization whose blocking PII check failed (the asset ran with phone redaction
    off, the check with the default PII types): chunks, embeddings and the index are not requested; once the check
    passes they are."""
    corpus = write_files(tmp_path / "corpus", CORPUS)
    overrides = {
        "sources": [{"name": "docs", "kind": "directory", "path": str(corpus), "globs": ["**/*.md"]}],
        "golden": {"kind": "files", "paths": [str(write_files(tmp_path, {"golden.jsonl": GOLDEN}) / "golden.jsonl")]},
    }
    settings = make_settings(**overrides)
    leaky = make_settings(**overrides, pii={"types": ["email"]})
    defs = build_definitions(settings)
    materialize_assets(settings, instance, ["raw_documents", "golden_qa", "reference_labels"])
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor

    materialize_assets(leaky, instance, ["validated_documents", "quarantine"])
    checks = dg.materialize(  # the checks alone, with the default PII types: the phone number is found
        [*all_assets(settings), *all_asset_checks()],
        selection=dg.AssetSelection.checks_for_assets(dg.AssetKey("validated_documents")),
        resources=build_resources(settings),
        instance=instance,
        raise_on_error=False,
    )
    verdicts = {e.check_name: e.passed for e in checks.get_asset_check_evaluations()}
    assert verdicts["no_pii_in_validated_documents"] is False, verdicts
    failed = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    assert not requested(failed) & DOWNSTREAM, requested(failed)

    materialize_assets(settings, instance, ["validated_documents", "quarantine"])
    passed = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=failed.cursor)
    assert DOWNSTREAM <= requested(passed), requested(passed)
