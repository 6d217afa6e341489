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

from aiinfra_dagster.lakehouse.delta import is_local_uri
from aiinfra_dagster.settings import Settings

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

    @property
    def settings(self) -> Settings:
        return Settings.model_validate_json(self.settings_json)


def portable_settings(settings: Settings) -> Settings:
    """The settings with local paths made absolute: the service runs from the Bento's directory."""
    home = Path(settings.storage.home).expanduser().resolve()
    root = settings.storage.root
    if root is None or is_local_uri(root):
        root = str(Path((root or str(home / "lake")).removeprefix("file://")).expanduser().resolve())
    qdrant = settings.qdrant
    if qdrant.url is None:
        qdrant = qdrant.model_copy(update={"path": str(Path(qdrant.path or home / "qdrant").expanduser().resolve())})
    storage = settings.storage.model_copy(update={"home": str(home), "root": root})
    return settings.model_copy(update={"storage": storage, "qdrant": qdrant})


def write_config(config: ServingConfig, directory: Path) -> Path:
    path = Path(directory) / CONFIG_FILE
    path.write_text(config.model_dump_json(indent=2))
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
