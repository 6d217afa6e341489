"""Secrets: which settings hold them, how they leave a settings document and come back at run time.

Run config, the Bento's `serving_config.json`, manifests and metadata carry the settings without their secrets
(`without_secrets`). A process that needs them takes them from its own sources at run time (`runtime_secrets`): the
settings this process loaded (every run worker and step pod loads the code location, hence the settings, from the
same file and `AIINFRA_*` environment), else the environment alone (the served Bento has no settings file).
Dagster's `dg.EnvVar` does the same for one variable; settings files and nested `storage_options` need this.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import EnvSettingsSource

from aiinfra_dagster.settings.base import revealed
from aiinfra_dagster.settings.model import Settings

SERVING_API_KEY_ENV = "AIINFRA_SERVING__API_KEY"
QDRANT_API_KEY_ENV = "AIINFRA_QDRANT__API_KEY"
STORAGE_OPTIONS_ENV = "AIINFRA_STORAGE__STORAGE_OPTIONS"  # JSON, or one AIINFRA_STORAGE__STORAGE_OPTIONS__<NAME> each


@dataclass(frozen=True)
class Secrets:
    """The secret values of one settings document."""

    qdrant_api_key: SecretStr | None = None
    serving_api_key: SecretStr | None = None
    storage_options: Mapping[str, SecretStr] = field(default_factory=dict)

    def __hash__(self) -> int:  # a key of the parsed-settings cache
        return hash((self.qdrant_api_key, self.serving_api_key, tuple(sorted(self.storage_options.items()))))

    def values(self) -> list[str]:
        """Every non-empty secret in clear, for scanning what was written (never for printing)."""
        found = [self.qdrant_api_key, self.serving_api_key, *self.storage_options.values()]
        return [s.get_secret_value() for s in found if s is not None and s.get_secret_value()]


def secrets_of(settings: Settings) -> Secrets:
    return Secrets(
        qdrant_api_key=settings.qdrant.api_key,
        serving_api_key=settings.serving.api_key,
        storage_options=dict(settings.storage.storage_options),
    )


def with_secrets(settings: Settings, secrets: Secrets) -> Settings:
    return settings.model_copy(
        update={
            "qdrant": settings.qdrant.model_copy(update={"api_key": secrets.qdrant_api_key}),
            "serving": settings.serving.model_copy(update={"api_key": secrets.serving_api_key}),
            "storage": settings.storage.model_copy(update={"storage_options": dict(secrets.storage_options)}),
        }
    )


def settings_with_secrets(public_json: str, secrets: Secrets) -> Settings:
    """Validate a secret-free settings document with `secrets` put back first (rules such as "a server bound
    beyond loopback needs serving.api_key" look at both)."""
    data = json.loads(public_json)
    data.setdefault("qdrant", {})["api_key"] = secrets.qdrant_api_key
    data.setdefault("serving", {})["api_key"] = secrets.serving_api_key
    data.setdefault("storage", {})["storage_options"] = dict(secrets.storage_options)
    return Settings.model_validate(data)


def without_secrets(settings: Settings) -> Settings:
    """The settings safe to write anywhere: run config, a Bento, a manifest, metadata."""
    return with_secrets(settings, Secrets())


_LOADED: dict[str, Secrets] = {}


def secrets_ref(public_json: str) -> str:
    """A short, secret-free name for the secrets of one settings document (safe in run config)."""
    return hashlib.sha256(public_json.encode()).hexdigest()[:16]


def remember_secrets(settings: Settings) -> str:
    """Keep this process's secrets for the settings document returned (their secret-free JSON)."""
    public_json = without_secrets(settings).model_dump_json()
    _LOADED[secrets_ref(public_json)] = secrets_of(settings)
    return public_json


def runtime_secrets(ref: str) -> Secrets:
    """The secrets for a settings document (by `secrets_ref`), from this process's own sources.

    The document this process loaded, else the latest it loaded (a Launchpad edit changes the document, not where
    secrets come from), else the `AIINFRA_*` environment.
    """
    if ref in _LOADED:
        return _LOADED[ref]
    if _LOADED:
        return next(reversed(_LOADED.values()))
    return environment_secrets()


def environment_secrets() -> Secrets:
    """The secrets set as `AIINFRA_*` variables (`AIINFRA_SERVING__API_KEY`, `AIINFRA_QDRANT__API_KEY`,
    `AIINFRA_STORAGE__STORAGE_OPTIONS__<NAME>` or `AIINFRA_STORAGE__STORAGE_OPTIONS` as JSON)."""
    env: dict[str, Any] = EnvSettingsSource(Settings)()
    options = (env.get("storage") or {}).get("storage_options") or {}
    return Secrets(
        qdrant_api_key=_secret((env.get("qdrant") or {}).get("api_key")),
        serving_api_key=_secret((env.get("serving") or {}).get("api_key")),
        storage_options={str(k): SecretStr(str(v)) for k, v in dict(options).items()},
    )


def _secret(value: Any) -> SecretStr | None:
    return SecretStr(str(value)) if value else None


def is_secret_env(name: str) -> bool:
    """Whether an environment variable carries one of the secrets (not to be inherited by a child unasked)."""
    return name in (SERVING_API_KEY_ENV, QDRANT_API_KEY_ENV) or name.startswith(STORAGE_OPTIONS_ENV)


def secret_environment(secrets: Secrets) -> dict[str, str]:
    """The variables that hand `secrets` to a child process (the served Bento) through its environment."""
    env = {}
    if secrets.serving_api_key:
        env[SERVING_API_KEY_ENV] = secrets.serving_api_key.get_secret_value()
    if secrets.qdrant_api_key:
        env[QDRANT_API_KEY_ENV] = secrets.qdrant_api_key.get_secret_value()
    if secrets.storage_options:
        env[STORAGE_OPTIONS_ENV] = json.dumps(revealed(secrets.storage_options))
    return env


def files_holding(root: Path, secrets: Secrets, chunk_bytes: int = 1 << 20) -> list[str]:
    """Files under `root` whose bytes contain any secret value (relative paths; the values are never returned).

    Read in chunks overlapping by the longest secret, so a large file costs one pass and little memory.
    """
    needles = [value.encode() for value in secrets.values()]
    if not needles or not root.exists():
        return []
    overlap = max(len(n) for n in needles) - 1
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        with path.open("rb") as handle:
            tail = b""
            while chunk := handle.read(chunk_bytes):
                window = tail + chunk
                if any(n in window for n in needles):
                    found.append(str(path.relative_to(root)))
                    break
                tail = window[-overlap:] if overlap else b""
    return found
