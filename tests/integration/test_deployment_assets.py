"""bento_build -> bento_deployment -> inference_logs through dg.materialize, served by a real `bentoml serve`.

The upstream models (champion_model, topic_classifier, vector_index) are recorded as
materializations of tiny real artifacts, as their own assets would record them, so this
test runs only the deployment stage.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import httpx
import pytest
import yaml

from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.models.locate import resolve_model_path
from aiinfra_dagster.net import free_port
from aiinfra_dagster.serving import process
from aiinfra_dagster.serving.inference_logs import partition_values
from aiinfra_dagster.serving.tables import INFERENCE_LOGS
from aiinfra_dagster.testing.retrieval_index import build_test_index
from aiinfra_dagster.testing.serving_models import TEST_LABELS, build_untrained_topic_classifier, topic_rows
from tests.helpers import materialization_metadata, materialize_assets

pytestmark = pytest.mark.slow
STAGE = ["bento_build", "bento_deployment", "inference_logs"]


def record_upstream(instance: dg.DagsterInstance, settings, tiny_lm: Path, home: Path) -> str:
    encoder_dir = resolve_model_path(settings.models.embedding, "models.embedding")
    classifier_dir = build_untrained_topic_classifier(encoder_dir, home / "classifier", list(TEST_LABELS))
    version = build_test_index(settings.qdrant, topic_rows(encoder_dir, 30), model_id="minilm")
    for asset, metadata in {
        "champion_model": {"model_version": "tiny-champion", "model_path": dg.MetadataValue.path(str(tiny_lm))},
        "topic_classifier": {"model_version": "untrained", "model_path": dg.MetadataValue.path(str(classifier_dir))},
        "vector_index": {"alias": settings.qdrant.alias, "index_version": version},
    }.items():
        instance.report_runless_asset_event(dg.AssetMaterialization(asset, metadata=metadata))
    return version


def test_deployment_stage_serves_the_champion_and_compacts_its_log(make_settings, instance, tmp_path, tiny_causal_lm):
    settings = make_settings(serving={"port": free_port(), "log_flush_seconds": 0.2})
    index_version = record_upstream(instance, settings, tiny_causal_lm, tmp_path)
    try:
        result = materialize_assets(settings, instance, STAGE)
        build = materialization_metadata(result, "bento_build")
        deployed = materialization_metadata(result, "bento_deployment")
        evaluations = {c.check_name: c for c in result.get_asset_check_evaluations()}
        assert {name: c.passed for name, c in evaluations.items()} == {
            "bento_complete": True,
            "deployment_answers": True,
            "inference_logs_complete": True,
        }
        smoke = evaluations["deployment_answers"].metadata

        assert build["llm_from_asset"].value == "champion_model" and build["model_version"].value == "tiny-champion"
        assert (
            build["index_alias"].value == settings.qdrant.alias
            and build["index_version_at_build"].value == index_version
        )
        assert (
            build["bento_size_bytes"].value > 0 and build["models_size_bytes"].value > build["bento_size_bytes"].value
        )
        url = deployed["url"].value
        assert url == f"http://127.0.0.1:{settings.serving.port}" and deployed["action"].value == "started"
        assert smoke["sample_citations"].value and smoke["index_version"].value == index_version
        assert isinstance(smoke["sample_answer"].value, str) and "curl -s" in deployed["try_it"].value

        with httpx.Client(base_url=url, timeout=60) as client:
            for question in ("How do I open a file?", "What is a decorator?"):
                assert client.post("/ask", json={"question": question}).status_code == 200
            assert client.post("/classify", json={"text": ""}).status_code == 400
        # The service flushes every 0.2 s; re-materialize until the compacted table has them (smoke + 3 requests).
        store = DeltaStore(settings.storage.lake_root)
        for _ in range(50):
            logs = materialization_metadata(
                materialize_assets(settings, instance, ["inference_logs"]), "inference_logs"
            )
            if store.read(INFERENCE_LOGS).height >= 4:  # the smoke check's /ask + 3 requests
                break
        table = store.read(INFERENCE_LOGS)
        assert table.height >= 4 and set(table["endpoint"]) == {"ask", "classify"}
        assert partition_values(store) == sorted({str(d) for d in table["date"]})
        assert "| date |" in logs["per_day"].value and logs["dagster/row_count"].value == table.height

        again = materialization_metadata(
            materialize_assets(settings, instance, ["bento_build", "bento_deployment"]), "bento_deployment"
        )
        assert (again["bento_tag"].value, again["previous_bento_tag"].value) == (
            build["bento_tag"].value,
            build["bento_tag"].value,
        )
        assert again["action"].value == "unchanged" and again["pid"].value == deployed["pid"].value
        # What a test of the whole main job calls at teardown: the Bento keeps serving after a run, by design.
        assert [s.pid for s in process.stop_all_under(tmp_path)] == [deployed["pid"].value]
        assert process.running_server(settings.storage) is None
    finally:
        process.stop(settings.storage)


def test_k8s_mode_renders_valid_manifests_instead_of_serving(make_settings, instance, tmp_path, tiny_causal_lm):
    settings = make_settings(serving={"api_key": "k8s-key", "replicas": 2}, k8s={"enabled": True})
    record_upstream(instance, settings, tiny_causal_lm, tmp_path)
    result = materialize_assets(settings, instance, ["bento_build", "bento_deployment"])
    meta = materialization_metadata(result, "bento_deployment")
    assert meta["mode"].value == "k8s" and process.running_server(settings.storage) is None
    deployment, service, policy = yaml.safe_load_all(Path(meta["manifests_path"].value).read_text())
    assert (deployment["kind"], service["kind"], policy["kind"]) == ("Deployment", "Service", "NetworkPolicy")
    assert meta["api_key_secret"].value == "aiinfra-docs-assistant-api-key"
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        == materialization_metadata(result, "bento_build")["bento_tag"].value
    )
    assert "k8s-key" not in Path(meta["manifests_path"].value).read_text()
    assert {c.check_name: c.passed for c in result.get_asset_check_evaluations()}["deployment_answers"]


def test_k8s_mode_without_an_api_key_refuses_the_deployment(make_settings, instance):
    settings = make_settings(k8s={"enabled": True})
    # The Bento a bento_build run would have recorded; bento_deployment refuses before it touches it.
    instance.report_runless_asset_event(
        dg.AssetMaterialization("bento_build", metadata={"bento_tag": "aiinfra-docs-assistant:0123abcd"})
    )
    result = materialize_assets(settings, instance, ["bento_deployment"], raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    error = failure.step_failure_data.error
    assert error is not None and "ServingRefused" in error.to_string()
    assert "serving.api_key" in error.to_string() and "serving.api_key_secret" in error.to_string()
    assert not (settings.storage.serving_dir / "k8s").exists()  # no manifests were written
