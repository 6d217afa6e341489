"""Loading settings: presets, then the file and its profile section, then AIINFRA_* env, then keyword arguments."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import EnvSettingsSource

from aiinfra_dagster.settings.base import DEFAULT_SETTINGS_FILE, ENV_PREFIX, PROFILES, SettingsError, is_secret_field
from aiinfra_dagster.settings.model import Settings
from aiinfra_dagster.settings.presets import PROFILE_PRESETS


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _format_validation_error(err: ValidationError, origin: str) -> str:
    lines = [f"invalid settings ({origin}):"]
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "<root>"
        lines.append(f"  {field}: {e['msg']}{_shown_input(field, e.get('input'))}")
    return "\n".join(lines)


def _shown_input(field: str, value: Any) -> str:
    """The offending value, when it is a plain value that cannot hold a secret.

    A model validator's input is the whole section (with its keys), so mappings and lists are named, never printed.
    """
    if isinstance(value, dict | list) or is_secret_field(field):
        return f" (got a {type(value).__name__})" if value is not None else ""
    return f" (got {value!r})"


def settings_file_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The settings file in use: explicit path, then AIINFRA_CONFIG, then ./aiinfra.yaml if present."""
    if path is not None:
        return Path(path)
    env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if env:
        return Path(env)
    default = Path.cwd() / DEFAULT_SETTINGS_FILE
    return default if default.exists() else None


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Load settings from presets, file and environment; raise SettingsError naming the bad field."""
    file_path = settings_file_path(path)
    file_data: dict[str, Any] = {}
    if file_path is not None:
        if not file_path.exists():
            raise SettingsError(f"settings file not found: {file_path} (set AIINFRA_CONFIG or create it)")
        try:
            file_data = yaml.safe_load(file_path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"settings file {file_path} is not valid YAML: {exc}") from exc
        if not isinstance(file_data, dict):
            raise SettingsError(f"settings file {file_path} must contain a mapping at the top level")

    profile = overrides.get("profile") or os.environ.get(f"{ENV_PREFIX}PROFILE") or file_data.get("profile") or "demo"
    if profile not in PROFILES:
        raise SettingsError(f"invalid settings: profile: must be one of {list(PROFILES)} (got {profile!r})")

    profile_sections = file_data.pop("profiles", {}) or {}
    if not isinstance(profile_sections, dict) or set(profile_sections) - set(PROFILES):
        raise SettingsError(f"invalid settings: profiles: keys must be among {list(PROFILES)}")

    data = _deep_merge(PROFILE_PRESETS[profile], file_data)
    data = _deep_merge(data, profile_sections.get(profile) or {})
    origin = f"file {file_path}" if file_path else "defaults"
    try:
        # One validation of the merged layers; model_validate reads no source of its own.
        data = _deep_merge(data, EnvSettingsSource(Settings)())
        data = _deep_merge(data, {**overrides, "profile": profile})
        return Settings.model_validate(data)
    except ValidationError as err:
        raise SettingsError(_format_validation_error(err, f"{origin} + {ENV_PREFIX}* environment")) from err
    except ValueError as err:  # pydantic-settings: an AIINFRA_* value that is not the JSON its field needs
        raise SettingsError(f"invalid settings ({origin} + {ENV_PREFIX}* environment): {err}") from err


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, loaded once (Definitions are built from them)."""
    return load_settings()
