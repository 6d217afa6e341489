"""Helpers the tests import (fixtures stay in conftest.py, which tests never import)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import SecretStr

from aiinfra_dagster.settings import Settings
from aiinfra_dagster.settings.secrets import Secrets, files_holding


def write_files(root: Path, files: dict[str, bytes | str]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def materialize_assets(
    settings: Settings,
    instance: dg.DagsterInstance,
    keys: list[str],
    *,
    run_config: dict | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """dg.materialize the named assets and their checks with the resources the settings build.

    With raise_on_error=False a failed run (e.g. a blocking check) is returned for the test to inspect.
    """
    # local import: aiinfra_dagster.definitions builds `defs` from the process settings at import; importing it here
    # (inside a test, after conftest pointed AIINFRA_* at the test's home) keeps collection from loading real settings.
    from aiinfra_dagster.definitions import all_asset_checks, all_assets, build_resources

    asset_keys = [dg.AssetKey(k) for k in keys]
    selection = dg.AssetSelection.assets(*asset_keys) | dg.AssetSelection.checks_for_assets(*asset_keys)
    result = dg.materialize(
        [*all_assets(settings), *all_asset_checks()],
        selection=selection,
        resources=build_resources(settings),
        instance=instance,
        run_config=run_config,
        raise_on_error=raise_on_error,
    )
    if raise_on_error:
        assert result.success
    return result


def materialization_metadata(result: dg.ExecuteInProcessResult, key: str) -> dict[str, Any]:
    """Metadata of the (first) materialization of asset `key` in a run result."""
    return next(
        e.step_materialization_data.materialization.metadata
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and e.asset_key.to_user_string() == key
    )


def secrets_left(instance: dg.DagsterInstance, run_id: str, root: Path, values: list[str]) -> list[str]:
    """Where any of `values` was written by a run: files under `root` (the lake, the Bento, logs, the instance's
    files) and what the instance stores compressed (run config, job snapshot, every event with its metadata)."""
    needles = Secrets(storage_options={str(i): SecretStr(v) for i, v in enumerate(values)})
    places = [f"file {p}" for p in files_holding(root, needles)]
    run = instance.get_run_by_id(run_id)
    assert run is not None
    stored = {
        "run config": dg.serialize_value(run.run_config),
        "job snapshot": dg.serialize_value(instance.get_job_snapshot(run.job_snapshot_id)),
        "event log": "\n".join(dg.serialize_value(e) for e in instance.all_logs(run_id)),
    }
    places += [name for name, text in stored.items() if any(v in text for v in values)]
    return places
