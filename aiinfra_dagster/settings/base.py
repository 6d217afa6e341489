"""What every settings module shares: the profiles, the env prefix, the error, the section base."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

Profile = Literal["quick", "demo", "full"]
PROFILES: tuple[Profile, ...] = ("quick", "demo", "full")
DEFAULT_SETTINGS_FILE = "aiinfra.yaml"
ENV_PREFIX = "AIINFRA_"


# Fields (any part of a dotted name) that hold secrets: their values are never printed.
SECRET_FIELDS = frozenset({"api_key", "storage_options", "password", "token"})


def is_secret_field(dotted: str) -> bool:
    """Whether a dotted settings name (e.g. `storage.storage_options.aws_secret_access_key`) holds a secret."""
    return any(part in SECRET_FIELDS or "secret" in part for part in dotted.lower().split("."))


def revealed(options: Mapping[str, SecretStr]) -> dict[str, str]:
    """Secret storage options in clear, for the one consumer that needs them (deltalake / a child's environment)."""
    return {name: value.get_secret_value() for name, value in options.items()}


class SettingsError(ValueError):
    """Raised when settings cannot be loaded; the message names the offending field."""


class Section(BaseModel):
    """A settings section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
