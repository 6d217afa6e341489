"""The effective settings of a run, carried as resource config.

Freezing the resolved settings into the run's config means the run records
exactly what it used, and a person can override any value from the Launchpad.
Secrets are not part of it (run config is stored with the run and shown in the UI):
the document is secret-free and the secrets come back from the process's own
sources when a step reads `value` (`settings.secrets`).
"""

from __future__ import annotations

from functools import lru_cache

import dagster as dg
from pydantic import Field

from aiinfra_dagster.settings import Settings
from aiinfra_dagster.settings.secrets import (
    Secrets,
    remember_secrets,
    runtime_secrets,
    secrets_ref,
    settings_with_secrets,
)


@lru_cache(maxsize=8)
def _parsed(settings_json: str, secrets: Secrets) -> Settings:
    """One parse per distinct settings document: `value` is read by most assets and checks of a run."""
    return settings_with_secrets(settings_json, secrets)


class SettingsResource(dg.ConfigurableResource):
    settings_json: str = Field(
        description="Resolved aiinfra settings (aiinfra.yaml + AIINFRA_* env), as JSON, without their secrets"
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> SettingsResource:
        return cls(settings_json=remember_secrets(settings))

    @property
    def value(self) -> Settings:
        """The settings with this process's secrets (frozen, so one parsed instance is safely shared)."""
        return _parsed(self.settings_json, runtime_secrets(secrets_ref(self.settings_json)))
