"""The eager data stage under a real `dagster-daemon`: after an ingestion run that changes a document, the cascade
reaches `vector_index` with nobody pressing a button (README: "the data stage follows ingestion").

The daemon runs on a temporary DAGSTER_HOME against the repository's workspace.yaml, with the quick profile, a small
corpus under tmp_path and the automation sensor (`data_stage_automation`, running by default) evaluated every second.
The data stage is first materialized in the test's process (the baseline), then a document changes, the ingestion job
runs, and the test polls the instance until the sensor's run has materialized `vector_index` again. About 1.5 minutes
(baseline ~15 s, daemon start and first tick ~25 s, the cascade run ~40 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from aiinfra_dagster.definitions import build_definitions
from aiinfra_dagster.instance import write_instance_yaml
from aiinfra_dagster.sensors.schedules import AUTOMATION_SENSOR_NAME, EAGER_ASSETS
from aiinfra_dagster.settings import load_settings
from tests.helpers import materialize_assets, write_files

REPO = Path(__file__).resolve().parents[2]
WORKSPACE = REPO / "workspace.yaml"
INGESTION = ["raw_documents", "golden_qa", "reference_labels"]
CASCADE_TIMEOUT_S = 240
CORPUS = {
    "sockets.md": "# Sockets\n\nUse socket.create_connection to open a TCP connection to an address and port.\n",
    "deploy.md": "# Deploying\n\nBuild the image, push it to the registry and roll the deployment out gradually.\n",
}
CHANGED = "\n## Timeouts\n\nPass timeout= to create_connection so a dead host does not block the caller forever.\n"
GOLDEN = {"question": "How do I open a TCP connection?", "answer": "Use socket.create_connection."}


def wait_for_first_tick(daemon: subprocess.Popen[bytes], log_path: Path, timeout_s: float = 120) -> None:
    """The sensor's first tick only records where the event log stands; a change before it would go unseen."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert daemon.poll() is None, f"dagster-daemon exited: {log_path.read_text()[-4000:]}"
        if f"Finished auto-materialization tick for {AUTOMATION_SENSOR_NAME}" in log_path.read_text(errors="replace"):
            return
        time.sleep(1)
    raise AssertionError(f"no tick of {AUTOMATION_SENSOR_NAME} in {timeout_s} s: {log_path.read_text()[-4000:]}")


def latest_materialization(instance: dg.DagsterInstance, key: str) -> dg.EventLogEntry | None:
    return instance.get_latest_materialization_event(dg.AssetKey(key))


def materialized_since(instance: dg.DagsterInstance, since: float) -> dict[str, str]:
    """Eager asset -> run id of its latest materialization after `since` (what the failure message lists)."""
    out = {}
    for key in sorted(EAGER_ASSETS):
        event = latest_materialization(instance, key)
        if event is not None and event.timestamp > since:
            out[key] = event.run_id
    return out


def runs_summary(instance: dg.DagsterInstance) -> list[str]:
    return [
        f"{r.job_name} {r.status.value} {r.tags.get('dagster/sensor_name', '-')} {r.run_id[:8]}"
        for r in instance.get_runs(limit=20)
    ]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ingestion_run_cascades_to_the_vector_index_through_the_daemon(tmp_path: Path) -> None:
    started = time.monotonic()
    corpus = write_files(tmp_path / "corpus", CORPUS)
    golden = write_files(tmp_path, {"golden.jsonl": json.dumps(GOLDEN) + "\n"}) / "golden.jsonl"
    config = tmp_path / "aiinfra.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "profile": "quick",
                "storage": {"home": str(tmp_path / "aiinfra")},
                "sources": [{"name": "docs", "kind": "directory", "path": str(corpus), "globs": ["**/*.md"]}],
                "golden": {"kind": "files", "paths": [str(golden)]},
                "labels": {
                    "classes": ["Networking", "Deployment"],
                    "keyword_functions": {"Networking": ["socket", "tcp"], "Deployment": ["deploy", "image"]},
                },
                "monitoring": {"schedules": {"automation_interval_seconds": 1}},
            }
        )
    )
    settings = load_settings(config)
    assert build_definitions(settings).resolve_sensor_def(AUTOMATION_SENSOR_NAME).minimum_interval_seconds == 1
    home = tmp_path / "dagster_home"
    write_instance_yaml(home)
    env = {**os.environ, "DAGSTER_HOME": str(home), "AIINFRA_CONFIG": str(config)}
    log_path = home / "daemon.log"

    with dg.DagsterInstance.from_config(str(home)) as instance:
        # The baseline, in this process: every eager asset exists before the daemon starts.
        materialize_assets(settings, instance, [*INGESTION, *sorted(EAGER_ASSETS)])
        with log_path.open("ab") as log:
            daemon = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(WORKSPACE)],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_first_tick(daemon, log_path)
            (corpus / "sockets.md").write_text(CORPUS["sockets.md"] + CHANGED)
            changed_at = time.time()
            ingestion = build_definitions(settings).resolve_job_def("ingestion").execute_in_process(instance=instance)
            assert ingestion.success
            ingested_at = time.monotonic()

            deadline = time.monotonic() + CASCADE_TIMEOUT_S
            index = None
            while time.monotonic() < deadline:
                assert daemon.poll() is None, f"dagster-daemon exited: {log_path.read_text()[-4000:]}"
                event = latest_materialization(instance, "vector_index")
                if event is not None and event.timestamp > changed_at:
                    index = event
                    break
                time.sleep(2)
            assert index is not None, (
                f"no vector_index materialization within {CASCADE_TIMEOUT_S} s of the ingestion run; "
                f"materialized since the change: {materialized_since(instance, changed_at)}; "
                f"runs: {runs_summary(instance)}; daemon log tail:\n{log_path.read_text()[-4000:]}"
            )
            run = instance.get_run_by_id(index.run_id)
            assert run is not None and run.tags.get("dagster/sensor_name") == AUTOMATION_SENSOR_NAME, run and run.tags
            assert {"document_chunks", "chunk_embeddings"} <= set(materialized_since(instance, changed_at))
            print(
                f"\ncascade to vector_index {time.monotonic() - ingested_at:.1f} s after the ingestion run; "
                f"test {time.monotonic() - started:.1f} s; runs: {runs_summary(instance)}"
            )
        finally:
            daemon.terminate()
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(timeout=10)
