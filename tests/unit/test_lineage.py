"""The lineage audit's matching and rendering, on a real (ephemeral) instance with recorded materializations."""

import json

import dagster as dg
import pytest

from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.lineage.audit import NothingDeployedError, audit_deployment
from aiinfra_dagster.lineage.catalog import recorded
from aiinfra_dagster.lineage.hops import pick, triggered_by
from aiinfra_dagster.lineage.render import report_name, write_report
from aiinfra_dagster.materializations import Materialization


def mat(timestamp: float, **metadata) -> Materialization:
    return Materialization("training_set", f"run-{timestamp:g}", timestamp, int(timestamp), metadata, {})


def test_pick_prefers_the_producer_recorded_before_the_consumer():
    committed, reused, later = (
        mat(1, new_delta_commit=True),
        mat(2, new_delta_commit=False),
        mat(9, new_delta_commit=True),
    )

    def produced(m: dict) -> bool:
        return bool(m.get("new_delta_commit"))

    assert pick([committed, reused, later], before=5, produced=produced) is committed
    assert pick([reused], before=5, produced=produced) is reused  # no producer: the latest reuse
    assert pick([later], before=5, produced=produced) is later  # nothing earlier: whatever recorded it


@pytest.mark.parametrize(
    ("tags", "run_id", "expected"),
    [
        (
            {"aiinfra/drift_episode": "ep-3", "aiinfra/drift_report_id": "r9", "dagster/sensor_name": "s"},
            "r",
            "drift episode ep-3, drift report r9",
        ),
        ({"dagster/sensor_name": "retraining_on_drift"}, "r", "sensor retraining_on_drift"),
        ({"dagster/schedule_name": "nightly"}, "r", "schedule nightly"),
        ({"aiinfra/action": "champion-rollback"}, "r", "action champion-rollback"),
        ({}, "r", "manual run"),
        ({}, "", "runless event"),
    ],
)
def test_triggered_by_reads_the_run_tags(tags, run_id, expected):
    assert triggered_by(tags, run_id) == expected


def test_placeholders_assets_write_are_not_identifiers():
    assert [recorded(v) for v in (None, "", -1, "unknown (vector_index not materialized)", 0, "abc")] == [
        None,
        None,
        None,
        None,
        "0",
        "abc",
    ]


def test_nothing_built_is_an_error(tmp_path):
    with dg.instance_for_test() as instance, pytest.raises(NothingDeployedError, match="nothing is deployed yet"):
        audit_deployment(instance, DeltaStore(str(tmp_path / "lake")))


def test_a_build_never_deployed_is_audited_and_every_gap_says_why(tmp_path):
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                "bento_build",
                metadata={
                    "bento_tag": "svc:abc",
                    "model_version": "m1",
                    "classifier_version": "c1",
                    "index_version_at_build": "unknown (vector_index not materialized)",
                },
            )
        )
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                "champion_model",
                metadata={
                    "model_version": "m1",
                    "changed": True,
                    "eval_report_id": "",
                    "input_training_set_version": 4,
                    "input_base_model_sha256": "",
                },
            )
        )
        lineage = audit_deployment(instance, DeltaStore(str(tmp_path / "lake")))
    assert not lineage.deployed and lineage.bento_tag == "svc:abc" and lineage.model_version == "m1"
    reasons = {h.role: h.missing_reason for h in lineage.missing}
    assert reasons["deployment"].startswith("bento_deployment has never been materialized")
    assert reasons["eval_report"] == "champion_model.eval_report_id is not recorded"
    assert reasons["training_set"] == "training_set has never been materialized" and lineage.training_set_version == 4
    assert reasons["synthetic_qa"] == "the training_set hop is missing"
    assert reasons["vector_index"] == "bento_build.index_version_at_build is not recorded"
    assert reasons["labeling_functions"] == "the chunk_labels hop is missing"
    assert "champion" not in reasons and "bento" not in reasons
    assert lineage.notes[0] == "svc:abc is built but has never been deployed"

    report = json.loads(json.dumps(lineage.to_dict()))
    assert report["hops_missing"] == len(reasons) and report["hops_resolved"] == 2
    markdown = lineage.to_markdown()
    assert "(built, never deployed)" in markdown and "## Missing hops" in markdown
    assert "| training_set | training_set | delta_version = 4 | training_set has never been materialized |" in markdown


def test_reports_are_written_as_markdown_and_json_with_safe_names(tmp_path):
    name = report_name("2026-12-01T18:40:42+00:00", "svc:abc")
    md, js = write_report(tmp_path / "audit", name, "# hi\n", {"a": 1})
    assert md.name == "20261201T184042Z_svc_abc.md" and js.with_suffix(".md") == md
    assert md.read_text() == "# hi\n" and json.loads(js.read_text()) == {"a": 1}
