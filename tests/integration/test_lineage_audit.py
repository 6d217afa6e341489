"""The lineage audit over real runs: the main job once (quick profile, mini corpus, tiny Llama, a real
`bentoml serve`), then the retraining job tagged as the drift sensor tags it, all in one DAGSTER_HOME.

The forward audit is compared with the Delta tables and the materializations it should have found; the
reverse audit of a document in the training set must reach the current deployment and index; the CLI
must print the same reports; the lineage_audit asset must have written both files with lineage_complete
passing. One module-scoped home keeps this to two runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from aiinfra_dagster.cli import main
from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS, RAW_DOCUMENTS
from aiinfra_dagster.definitions import build_definitions
from aiinfra_dagster.evaluation.champion import current
from aiinfra_dagster.evaluation.tables import CHAMPION_HISTORY
from aiinfra_dagster.instance import write_instance_yaml
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.lineage.audit import (
    UnknownDocumentError,
    audit_deployment,
    audit_document,
)
from aiinfra_dagster.monitoring.episodes import TAG_EPISODE, TAG_REPORT
from aiinfra_dagster.sensors.retraining import SENSOR_NAME
from aiinfra_dagster.serving.process import stop_all_under
from aiinfra_dagster.settings import Settings, load_settings
from aiinfra_dagster.synthetic.tables import TRAINING_SET
from tests.helpers import materialization_metadata, materialize_assets

pytestmark = pytest.mark.slow
MINI_DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "mini_docs"
DRIFT_TAGS = {TAG_EPISODE: "episode-test-1", TAG_REPORT: "drift-report-test-1", "dagster/sensor_name": SENSOR_NAME}


@dataclass(frozen=True)
class Audited:
    settings: Settings
    config: Path
    home: Path
    instance: dg.DagsterInstance
    store: DeltaStore
    main_run: dg.ExecuteInProcessResult
    retraining_run: dg.ExecuteInProcessResult


def _run(settings: Settings, instance: dg.DagsterInstance, job: str, **kwargs) -> dg.ExecuteInProcessResult:
    result = (
        build_definitions(settings)
        .resolve_job_def(job)
        .execute_in_process(instance=instance, raise_on_error=False, **kwargs)
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory, tiny_causal_lm: Path):
    root = tmp_path_factory.mktemp("lineage")
    config = root / "aiinfra.yaml"
    # Everything the CLI needs is in the file: `aiinfra audit --config` reads the same lake.
    config.write_text(
        yaml.safe_dump(
            {
                "profile": "quick",
                "python_docs_dir": str(MINI_DOCS),
                "storage": {"home": str(root / "aiinfra")},
                "chunking": {"max_tokens": 96, "min_tokens": 4},
                "models": {"llm": {"source": "local", "path": str(tiny_causal_lm)}},
                # The gate is evaluation's subject, not this test's: any candidate is promoted over the base.
                "promotion": {"criterion": "mean", "min_improvement": -1.0e9, "slice_tolerance": 1.0e9},
            }
        )
    )
    home = root / "dagster_home"
    write_instance_yaml(home, 1)
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("AIINFRA_")]:
            mp.delenv(key)
        mp.setenv("DAGSTER_HOME", str(home))
        settings = load_settings(config)
        try:
            with dg.DagsterInstance.get() as instance:
                main_run = _run(settings, instance, "main")
                retraining = _run(
                    settings,
                    instance,
                    "retraining",
                    tags=DRIFT_TAGS,
                    run_config={
                        "ops": {
                            "synthetic_qa": {
                                "config": {"focus_chunk_ids": [], "drift_report_id": DRIFT_TAGS[TAG_REPORT]}
                            }
                        }
                    },
                )
                yield Audited(
                    settings, config, home, instance, DeltaStore(settings.storage.lake_root), main_run, retraining
                )
        finally:
            stop_all_under(root)  # the Bento keeps serving after a run, by design


def test_the_forward_chain_is_complete_and_agrees_with_the_tables(audited: Audited):
    lineage = audit_deployment(audited.instance, audited.store)
    store = audited.store
    assert lineage.deployed and not lineage.missing, [(h.role, h.missing_reason) for h in lineage.missing]
    deployed = materialization_metadata(audited.retraining_run, "bento_deployment")
    assert lineage.bento_tag == deployed["bento_tag"].value
    assert lineage.training_set_version == store.version(TRAINING_SET.name)
    assert lineage.model_version == current(store.read(CHAMPION_HISTORY))["model_version"]
    assert lineage.base_model_sha256 == materialization_metadata(audited.main_run, "base_model")["source_sha256"].value
    assert lineage.index_version == materialization_metadata(audited.main_run, "vector_index")["index_version"].value
    labels = materialization_metadata(audited.main_run, "chunk_labels")
    assert lineage.labeling_functions == labels["labeling_function_versions"].value and lineage.labeling_functions
    assert lineage.hop("raw_documents").identifier == str(store.version(RAW_DOCUMENTS.name))

    # The documents behind the training set, recomputed from the tables as they are now (nothing changed since).
    chunk_ids = store.read(TRAINING_SET)["chunk_id"].drop_nulls().implode()
    doc_ids = store.read(DOCUMENT_CHUNKS).filter(pl.col("chunk_id").is_in(chunk_ids))["document_id"].implode()
    raw = store.read(RAW_DOCUMENTS).filter(pl.col("document_id").is_in(doc_ids))
    assert {(d.document_id, d.content_hash) for d in lineage.documents} == set(
        raw.select("document_id", "content_hash").iter_rows()
    )
    assert len(lineage.documents) >= 2

    report = json.loads(json.dumps(lineage.to_dict()))
    assert report["hops_missing"] == 0 and report["hops_resolved"] == len(lineage.hops) == 15
    assert {h["role"] for h in report["hops"]} >= {
        "champion",
        "eval_report",
        "checkpoint",
        "training_set",
        "synthetic_qa",
        "document_chunks",
        "raw_documents",
        "base_model",
        "vector_index",
    }
    markdown = lineage.to_markdown()
    assert lineage.bento_tag in markdown and "## Raw documents behind the training set" in markdown


def test_each_hop_names_the_run_that_produced_it_and_its_trigger(audited: Audited):
    lineage = audit_deployment(audited.instance, audited.store)
    retraining, main_run = audited.retraining_run.run_id, audited.main_run.run_id
    # The drift-triggered run deployed; the data, checkpoint and champion it reused came from the main run.
    deployment = lineage.hop("deployment")
    assert (
        deployment.run_id == retraining
        and deployment.triggered_by == "drift episode episode-test-1, drift report drift-report-test-1"
    )
    assert {k: deployment.run_tags[k] for k in DRIFT_TAGS} == DRIFT_TAGS
    for role in ("champion", "checkpoint", "training_set", "raw_documents", "base_model"):
        hop = lineage.hop(role)
        assert (hop.run_id, hop.triggered_by) == (main_run, "manual run"), role
    assert lineage.hop("champion").facts["changed"] is True  # the promotion, not the retraining run's unchanged pointer
    assert lineage.hop("eval_report").identifier == lineage.hop("champion").facts["eval_report_id"]


def test_a_training_document_reaches_the_current_deployment_and_index(audited: Audited):
    lineage = audit_deployment(audited.instance, audited.store)
    document = next(d for d in lineage.documents if d.path == "library/socket.rst.txt")
    impact = audit_document(audited.instance, audited.store, document.path)
    assert impact.to_dict() | {"audited_at": ""} == audit_document(
        audited.instance, audited.store, document.document_id
    ).to_dict() | {"audited_at": ""}

    assert impact.document_id == document.document_id and impact.source == document.source
    assert (document.raw_documents_version, document.content_hash) in impact.raw_versions
    chunks = audited.store.read(DOCUMENT_CHUNKS).filter(pl.col("document_id") == document.document_id)
    assert {c.chunk_id for c in impact.chunks} == set(chunks["chunk_id"])
    assert lineage.training_set_version in impact.training_set_versions
    deployed = [d for d in impact.deployments if d.current]
    assert [d.bento_tag for d in deployed] == [lineage.bento_tag]
    assert f"training_set v{lineage.training_set_version}" in deployed[0].via
    assert [i.index_version for i in impact.index_versions if i.current] == [lineage.index_version]
    json.dumps(impact.to_dict())
    assert f"**The current deployment {lineage.bento_tag} depends on it.**" in impact.to_markdown()


def test_an_unknown_document_is_a_clear_error_with_close_matches(audited: Audited):
    with pytest.raises(UnknownDocumentError, match="in no raw_documents version") as err:
        audit_document(audited.instance, audited.store, "library/sockets.rst")
    assert "library/socket.rst.txt" in str(err.value)


def test_the_cli_prints_the_same_reports(audited: Audited, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DAGSTER_HOME", str(audited.home))
    config = str(audited.config)

    def same(report: dict) -> dict:
        return report | {"audited_at": ""}

    assert main(["audit", "--config", config]) == 0
    printed = capsys.readouterr().out
    lineage = audit_deployment(audited.instance, audited.store)
    assert printed.replace(printed.split("Audited ")[1][:25], lineage.audited_at) == lineage.to_markdown()

    assert main(["audit", "--json", "--out", str(tmp_path / "out"), "--config", config]) == 0
    assert same(json.loads(capsys.readouterr().out)) == same(lineage.to_dict())
    written = sorted(p.suffix for p in (tmp_path / "out").iterdir())
    assert written == [".json", ".md"]

    assert main(["audit", "--document", "library/socket.rst.txt", "--json", "--config", config]) == 0
    impact = audit_document(audited.instance, audited.store, "library/socket.rst.txt")
    assert same(json.loads(capsys.readouterr().out)) == same(impact.to_dict())

    assert main(["audit", "--document", "library/sockets.rst", "--config", config]) == 2
    assert "close matches: library/socket.rst.txt" in capsys.readouterr().err.lower()


def test_audit_of_an_empty_instance_exits_2(audited: Audited, monkeypatch, capsys, tmp_path):
    home = tmp_path / "empty_home"
    write_instance_yaml(home, 1)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert main(["audit", "--config", str(audited.config)]) == 2
    assert "nothing is deployed yet" in capsys.readouterr().err


def test_the_lineage_audit_asset_wrote_both_reports_and_lineage_complete_passed(audited: Audited):
    audit_dir = Path(audited.settings.storage.home) / "reports" / "lineage_audit"
    for run in (audited.main_run, audited.retraining_run):
        meta = materialization_metadata(run, "lineage_audit")
        markdown, report = Path(meta["markdown_path"].value), Path(meta["json_path"].value)
        assert markdown.parent == report.parent == audit_dir
        assert markdown.read_text() == meta["report"].value
        assert json.loads(report.read_text())["bento_tag"] == meta["bento_tag"].value
        assert (meta["hops_missing"].value, meta["hops_resolved"].value) == (0, 15)
        checks = {c.check_name: c for c in run.get_asset_check_evaluations()}
        assert checks["lineage_complete"].passed, checks["lineage_complete"].metadata
    assert materialization_metadata(audited.retraining_run, "lineage_audit")[
        "training_set_version"
    ].value == audited.store.version(TRAINING_SET.name)


def test_lineage_complete_warns_when_hops_are_missing(make_settings, instance, tmp_path):
    """A Bento recorded without the runs behind it: the audit still materializes, the check warns, the run succeeds."""
    settings = make_settings(monitoring={"audit_dir": str(tmp_path / "audits")})
    instance.report_runless_asset_event(dg.AssetMaterialization("bento_deployment", metadata={"bento_tag": "svc:abc"}))
    instance.report_runless_asset_event(
        dg.AssetMaterialization("bento_build", metadata={"bento_tag": "svc:abc", "model_version": "m1"})
    )
    result = materialize_assets(settings, instance, ["lineage_audit"])
    check = result.get_asset_check_evaluations()[0]
    assert (check.check_name, check.passed, check.severity) == ("lineage_complete", False, dg.AssetCheckSeverity.WARN)
    meta = materialization_metadata(result, "lineage_audit")
    assert meta["hops_missing"].value == check.metadata["hops_missing"].value > 0 and meta["hops_resolved"].value == 2
    assert "champion_model has never been materialized" in check.metadata["missing"].value
    assert Path(meta["json_path"].value).parent == tmp_path / "audits" and Path(meta["markdown_path"].value).is_file()
