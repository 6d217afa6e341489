"""The effective settings of a run, carried as resource config.

Freezing the resolved settings into the run's config means the run records
exactly what it used, and a person can override any value from the Launchpad.
"""

from __future__ import annotations

from functools import lru_cache

import dagster as dg
from pydantic import Field

from aiinfra_dagster.settings import Settings


@lru_cache(maxsize=8)
def _parsed(settings_json: str) -> Settings:
    """One parse per distinct settings document: `value` is read by most assets and checks of a run."""
    return Settings.model_validate_json(settings_json)


class SettingsResource(dg.ConfigurableResource):
    settings_json: str = Field(description="Resolved aiinfra settings (aiinfra.yaml + AIINFRA_* env), as JSON")

    @classmethod
    def from_settings(cls, settings: Settings) -> SettingsResource:
        return cls(settings_json=settings.model_dump_json())

    @property
    def value(self) -> Settings:
        """The settings (frozen, so one parsed instance is safely shared)."""
        return _parsed(self.settings_json)
