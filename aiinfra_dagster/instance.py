"""The local Dagster instance configuration used by the scripts and tests."""

from __future__ import annotations

from pathlib import Path

from aiinfra_dagster.atomic import write_text_atomic

# Telemetry off. Runs are launched straight away (no daemon needed for
# `dagster job execute` or tests); `dagster dev` still runs the daemon for
# schedules and sensors.
INSTANCE_YAML = """\
# Written by aiinfra_dagster.instance.write_instance_yaml.
telemetry:
  enabled: false
nux:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""


def pools_yaml(limit: int) -> str:
    """Concurrency pools: torch training steps (the `gpu` pool) run `limit` at a time across runs.

    Dagster takes one default limit for every pool; `gpu` is the only pool the code location uses.
    """
    return f"concurrency:\n  pools:\n    default_limit: {limit}\n    granularity: op\n"


def write_instance_yaml(dagster_home: Path, gpu_pool_limit: int = 1) -> Path:
    """Write dagster.yaml into `dagster_home` (created if needed) and return its path."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    write_text_atomic(path, INSTANCE_YAML + pools_yaml(gpu_pool_limit))  # a running webserver/daemon may read it
    return path
