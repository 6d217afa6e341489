"""What a Bento serves, written into the Bento as `serving_config.json`.

The service module reads it at import time (model tags and limits shape the
API), so a built Bento is self-describing: the same file says which LLM,
classifier, encoder and index alias it serves and with which settings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from aiinfra_dagster.atomic import write_text_atomic
from aiinfra_dagster.settings import Settings
from aiinfra_dagster.settings.secrets import (
    SERVING_API_KEY_ENV,
    environment_secrets,
    settings_with_secrets,
    without_secrets,
)

CONFIG_FILE = "serving_config.json"
CONFIG_ENV = "AIINFRA_SERVING_CONFIG"


class ServedModel(BaseModel):
    """A model in the BentoML model store: its tag and the version its producing asset recorded."""

    model_config = ConfigDict(frozen=True)

    tag: str
    version: str
    source_path: str = ""


class ServingConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    bento_tag: str
    llm: ServedModel
    classifier: ServedModel
    encoder: ServedModel
    index_alias: str
    settings_json: str
    api_key_required: bool = False

    @property
    def settings(self) -> Settings:
        """The served settings with the secrets of this process's environment put back."""
        return settings_with_secrets(self.settings_json, environment_secrets())

    def api_key(self) -> str | None:
        """The key requests must send; refuses to serve when the Bento requires one and none is set."""
        key = os.environ.get(SERVING_API_KEY_ENV) or None
        if self.api_key_required and key is None:
            raise RuntimeError(f"{self.bento_tag} requires an API key: set {SERVING_API_KEY_ENV} (serving.api_key)")
        return key


def portable_settings(settings: Settings) -> Settings:
    """The settings a Bento carries: no secrets (its locations are absolute already: the settings resolve them).

    API keys and storage options never enter the Bento (`bentoml containerize` copies it into the image); the
    server reads them from its environment (`settings.secrets.secret_environment`). The bind address is the
    server's command line, not the service's concern, so it is recorded as loopback.
    """
    public = without_secrets(settings)
    serving = public.serving.model_copy(update={"require_api_key": False, "host": "127.0.0.1"})
    return public.model_copy(update={"serving": serving})


def write_config(config: ServingConfig, directory: Path) -> Path:
    path = Path(directory) / CONFIG_FILE
    write_text_atomic(path, config.model_dump_json(indent=2))
    return path


def read_config() -> ServingConfig:
    """The config of the Bento being served ($AIINFRA_SERVING_CONFIG, else next to the package)."""
    explicit = os.environ.get(CONFIG_ENV)
    candidates = [Path(explicit)] if explicit else []
    # In a Bento the package is copied to src/aiinfra_dagster, the config to src/.
    candidates += [Path(__file__).resolve().parents[2] / CONFIG_FILE, Path.cwd() / CONFIG_FILE]
    for path in candidates:
        if path.is_file():
            return ServingConfig.model_validate(json.loads(path.read_text()))
    raise FileNotFoundError(
        f"no {CONFIG_FILE} found (looked at {[str(p) for p in candidates]}); serve a Bento built by bento_build "
        f"or set {CONFIG_ENV}"
    )
