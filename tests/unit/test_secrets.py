"""Secrets stay out of everything written down: run config, the Bento's settings, `aiinfra settings`, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from aiinfra_dagster.definitions import build_definitions, build_resources
from aiinfra_dagster.k8s.chart import ChartRelease
from aiinfra_dagster.k8s.step_jobs import step_job_manifest
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.serving.config import portable_settings
from aiinfra_dagster.serving.k8s import serving_manifests
from aiinfra_dagster.settings import SettingsError, load_settings
from aiinfra_dagster.settings.secrets import (
    environment_secrets,
    files_holding,
    secret_environment,
    secrets_of,
)
from tests.helpers import secrets_left

API_KEY, QDRANT_KEY, CLOUD_KEY = "serve-SECRET-1111", "qdrant-SECRET-2222", "cloud-SECRET-3333"
SECRETS = (API_KEY, QDRANT_KEY, CLOUD_KEY)
HELM_VALUES = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "values.yaml"


def secret_settings(make_settings):
    return make_settings(
        serving={"api_key": API_KEY},
        qdrant={"api_key": QDRANT_KEY},
        storage={"home": make_settings().storage.home, "storage_options": {"aws_secret_access_key": CLOUD_KEY}},
    )


def test_resources_carry_no_secret_in_their_config_and_give_them_back_at_run_time(make_settings):
    settings = secret_settings(make_settings)
    resources = build_resources(settings)
    aiinfra, lakehouse = resources["aiinfra"], resources["lakehouse"]
    assert isinstance(aiinfra, SettingsResource) and isinstance(lakehouse, LakehouseResource)
    config = json.dumps([aiinfra.settings_json, lakehouse.root, lakehouse.secrets_ref])
    assert not [s for s in SECRETS if s in config]
    value = aiinfra.value
    assert value.serving.api_key and value.serving.api_key.get_secret_value() == API_KEY
    assert value.qdrant.api_key and value.qdrant.api_key.get_secret_value() == QDRANT_KEY
    assert lakehouse.store.storage_options == {"aws_secret_access_key": CLOUD_KEY}
    assert sorted(secrets_of(value).values()) == sorted(SECRETS)


def test_a_run_records_the_settings_without_their_secrets(make_settings, instance, tmp_path):
    settings = secret_settings(make_settings)

    @dg.asset
    def reads_settings(aiinfra: SettingsResource, lakehouse: LakehouseResource) -> dg.MaterializeResult:
        key = aiinfra.value.serving.api_key
        return dg.MaterializeResult(
            metadata={"has_key": key is not None and key.get_secret_value() == API_KEY, "lake": lakehouse.root}
        )

    result = dg.materialize([reads_settings], resources=build_resources(settings), instance=instance)
    assert result.success
    event = instance.get_latest_materialization_event(dg.AssetKey("reads_settings"))
    assert event is not None and event.asset_materialization.metadata["has_key"].value is True
    assert secrets_left(instance, result.run_id, tmp_path, list(SECRETS)) == []


def test_the_bento_settings_and_the_cli_show_no_secret(make_settings, tmp_path, monkeypatch):
    settings = secret_settings(make_settings)
    portable = portable_settings(settings).model_dump_json()
    assert not [s for s in SECRETS if s in portable]
    monkeypatch.setenv("AIINFRA_PROFILE", "quick")
    monkeypatch.setenv("AIINFRA_SERVING__API_KEY", API_KEY)
    monkeypatch.setenv("AIINFRA_STORAGE__STORAGE_OPTIONS__AWS_SECRET_ACCESS_KEY", CLOUD_KEY)
    out = subprocess.run(
        [sys.executable, "-m", "aiinfra_dagster.cli", "settings"], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "api_key: '**********'" in out.stdout and API_KEY not in out.stdout and CLOUD_KEY not in out.stdout


def test_secrets_reach_a_child_process_through_its_environment_only(make_settings, monkeypatch):
    env = secret_environment(secrets_of(secret_settings(make_settings)))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    back = environment_secrets()
    assert sorted(back.values()) == sorted(SECRETS)


def test_files_holding_finds_a_secret_across_chunk_boundaries(make_settings, tmp_path):
    secrets = secrets_of(secret_settings(make_settings))
    root = tmp_path / "bento"
    (root / "src").mkdir(parents=True)
    (root / "src" / "clean.json").write_text("{}" * 5000)
    (root / "src" / "leak.bin").write_bytes(b"x" * 10 + CLOUD_KEY.encode() + b"y" * 10)
    assert files_holding(root, secrets, chunk_bytes=16) == ["src/leak.bin"]
    assert files_holding(root, secrets_of(make_settings())) == []


def test_k8s_manifests_name_secrets_and_never_hold_them(make_settings):
    """The serving Deployment reads its key from a Secret; a step Job carries run config: neither holds a value."""
    settings = secret_settings(make_settings)
    serving = serving_manifests("aiinfra-docs-assistant:abc123", serving=settings.serving, k8s=settings.k8s)
    step = step_job_manifest(
        settings.k8s,
        build_definitions(settings),
        "lora_checkpoint",
        chart=ChartRelease.from_values_file(HELM_VALUES),
    )
    text = yaml.safe_dump_all([*serving, step])
    assert "secretKeyRef" in text
    assert not [s for s in SECRETS if s in text]


def test_a_settings_dump_fed_back_is_refused_rather_than_used_as_the_key(make_settings, tmp_path, monkeypatch):
    """`aiinfra settings > aiinfra.yaml` writes the mask; loading it must not make `**********` the API key."""
    dumped = secret_settings(make_settings).model_dump(mode="json")
    path = tmp_path / "dumped.yaml"
    path.write_text(yaml.safe_dump(dumped))
    with pytest.raises(SettingsError, match="serving.api_key is the mask"):
        load_settings(path)
