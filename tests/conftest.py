"""Shared fixtures: settings pointed at a temporary lake, and small real corpora."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from aiinfra_dagster.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(autouse=True)
def _isolated_settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's aiinfra.yaml or AIINFRA_* variables by accident."""
    for key in list(os.environ):
        if key.startswith("AIINFRA_") and key != "AIINFRA_TEST_ARTIFACTS":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _stop_bento_servers(tmp_path: Path):
    """A main-job run leaves `bentoml serve` running by design; a test's servers end with the test."""
    yield
    from aiinfra_dagster.serving.process import stop_all_under

    stop_all_under(tmp_path)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Quick-profile settings with all state under tmp_path; keyword arguments override."""

    def make(**overrides: Any) -> Settings:
        overrides.setdefault("storage", {"home": str(tmp_path / "aiinfra")})
        return load_settings(None, profile="quick", **overrides)

    return make


@pytest.fixture
def instance(tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


@pytest.fixture(scope="session")
def tiny_causal_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~115k-parameter Llama with a BPE tokenizer trained offline (seconds), shared by the session."""
    from aiinfra_dagster.testing.tiny_models import build_tiny_causal_lm, sample_texts

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny_lm"), sample_texts())
