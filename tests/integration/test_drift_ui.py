"""A real drift_report over constructed traffic renders in the Dagster UI: verdict, reasons and the charts; the
sensor's request for it names the report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import Browser, expect

from aiinfra_dagster.definitions import build_definitions
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.monitoring.episodes import TAG_REPORT
from aiinfra_dagster.monitoring.traffic import shifted_questions
from aiinfra_dagster.sensors.retraining import SENSOR_NAME
from aiinfra_dagster.serving.tables import INFERENCE_LOGS
from aiinfra_dagster.synthetic.tables import TRAINING_SET
from aiinfra_dagster.testing.webserver import running_webserver, write_instance_yaml
from tests.helpers import materialization_metadata, materialize_assets
from tests.integration.test_ui import (  # noqa: F401
    SETTLE_TIMEOUT_MS,
    VIEWPORT,
    WORKSPACE,
    _artifacts_dir,
    browser,
    open_events,
    show_markdown,
)

TOPICS = ["read a file", "open a socket", "sort a list", "parse JSON", "format a date", "spawn a process"]


def write_tables(store: DeltaStore) -> None:
    """Training questions about Python tasks; a window of off-domain questions with weak retrieval scores."""
    questions = [
        f"How do I {task} in Python{suffix}?"
        for task in TOPICS
        for suffix in ("", " 3", " quickly", " safely", " today")
    ]
    store.write(
        TRAINING_SET,
        TRAINING_SET.conform(
            [
                {
                    "example_id": f"e{i}",
                    "source": "synthetic",
                    "chunk_id": f"c{i}",
                    "question": q,
                    "answer": "Use the library.",
                    "context": "",
                    "messages": json.dumps([]),
                    "split": "train",
                    "synthetic_qa_version": 0,
                    "document_chunks_version": 0,
                }
                for i, q in enumerate(questions)
            ]
        ),
    )
    now = datetime.now(UTC)
    store.write(
        INFERENCE_LOGS,
        INFERENCE_LOGS.conform(
            [
                {
                    "request_id": f"r{i}",
                    "ts": now - timedelta(minutes=i),
                    "endpoint": "search",
                    "status_code": 200,
                    "query": q,
                    "retrieved_ids": [f"c{i % 7}"],
                    "scores": [0.1],
                    "latency_ms": 20.0,
                    "model_version": "m1",
                    "classifier_version": "k1",
                    "index_alias": "aiinfra-chunks",
                    "bento_tag": "aiinfra-docs-assistant:t1",
                    "date": (now - timedelta(minutes=i)).date(),
                }
                for i, q in enumerate(shifted_questions()[:40])
            ]
        ),
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ui_shows_the_drift_report_and_the_sensor_requests_its_retraining(
    tmp_path: Path,
    browser: Browser,  # noqa: F811
    make_settings,
) -> None:
    dagster_home = tmp_path / "dagster_home"
    write_instance_yaml(dagster_home)
    settings = make_settings()
    write_tables(DeltaStore(settings.storage.lake_root))
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        result = materialize_assets(settings, instance, ["drift_report"])
        meta = materialization_metadata(result, "drift_report")
        assert meta["verdict"].value == "drift" and meta["n_requests"].value == 40
        defs = build_definitions(settings)
        with dg.build_sensor_context(instance=instance, definitions=defs) as context:
            (request,) = defs.resolve_sensor_def(SENSOR_NAME)(context).run_requests
        assert request.tags[TAG_REPORT] == meta["drift_report_id"].value

    env = {"AIINFRA_STORAGE__HOME": str(settings.storage.home), "AIINFRA_PROFILE": "quick"}
    with running_webserver(WORKSPACE, dagster_home=dagster_home, env=env) as base_url:
        page = browser.new_page(viewport=VIEWPORT)
        row = open_events(page, base_url, "drift_report", "drift_report_id")
        expect(row.get_by_text(meta["drift_report_id"].value)).to_be_visible(timeout=SETTLE_TIMEOUT_MS)
        dialog = show_markdown(page, "report")
        expect(dialog.get_by_text("over 40 requests", exact=False)).to_be_visible(timeout=SETTLE_TIMEOUT_MS)
        expect(dialog.get_by_text("query-length KS", exact=False).first).to_be_visible()
        pictures = dialog.locator('img[src^="data:image/png;base64,"]')
        expect(pictures.nth(1)).to_be_visible(timeout=SETTLE_TIMEOUT_MS)  # window vs reference, drift over time
        assert pictures.first.evaluate("img => img.naturalWidth") >= 400, "the comparison chart decoded in the browser"
        page.screenshot(path=str(_artifacts_dir() / "ui-drift-report.png"))
        page.close()
