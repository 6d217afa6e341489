"""What every settings module shares: the profiles, the env prefix, the error, the section base."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Profile = Literal["quick", "demo", "full"]
PROFILES: tuple[Profile, ...] = ("quick", "demo", "full")
DEFAULT_SETTINGS_FILE = "aiinfra.yaml"
ENV_PREFIX = "AIINFRA_"


class SettingsError(ValueError):
    """Raised when settings cannot be loaded; the message names the offending field."""


class Section(BaseModel):
    """A settings section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
