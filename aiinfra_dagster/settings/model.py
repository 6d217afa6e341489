"""The whole settings model: every section, with locations resolved at validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aiinfra_dagster.settings.base import ENV_PREFIX, Profile
from aiinfra_dagster.settings.data import (
    ChunkingSettings,
    FeatureSettings,
    GoldenSettings,
    LabelSettings,
    ModelSettings,
    PiiSettings,
    SourceSettings,
    StorageSettings,
    SyntheticSettings,
    ValidationSettings,
)
from aiinfra_dagster.settings.locations import location, resolve_locations
from aiinfra_dagster.settings.monitoring import (
    MonitoringSettings,
)
from aiinfra_dagster.settings.services import (
    DagsterSettings,
    K8sSettings,
    QdrantSettings,
    ServingSettings,
)
from aiinfra_dagster.settings.training import (
    ClassifierSettings,
    EvaluationSettings,
    PromotionSettings,
    TrackingSettings,
    TrainingSetSettings,
    TrainingSettings,
)

MASK = "**********"  # how pydantic prints a SecretStr


class Settings(BaseSettings):
    """Everything a user can change without touching code."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True)

    profile: Profile = "demo"
    python_docs_dir: str = "/usr/share/doc/python3.11/html/_sources"
    sources: list[SourceSettings] = Field(
        default_factory=lambda: [SourceSettings(name="python-docs", kind="python_docs")]
    )
    storage: StorageSettings = StorageSettings()
    validation: ValidationSettings = ValidationSettings()
    pii: PiiSettings = PiiSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    models: ModelSettings = ModelSettings()
    golden: GoldenSettings = GoldenSettings()
    labels: LabelSettings = LabelSettings()
    features: FeatureSettings = FeatureSettings()
    synthetic: SyntheticSettings = SyntheticSettings()
    training_set: TrainingSetSettings = TrainingSetSettings()
    training: TrainingSettings = TrainingSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    tracking: TrackingSettings = TrackingSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    promotion: PromotionSettings = PromotionSettings()
    qdrant: QdrantSettings = QdrantSettings()
    k8s: K8sSettings = K8sSettings()
    dagster: DagsterSettings = DagsterSettings()
    serving: ServingSettings = ServingSettings()
    monitoring: MonitoringSettings = MonitoringSettings()

    @model_validator(mode="before")
    @classmethod
    def _resolve_locations(cls, data: Any) -> Any:
        return resolve_locations(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _no_masked_secret(self) -> Settings:
        secrets = {
            "serving.api_key": self.serving.api_key,
            "qdrant.api_key": self.qdrant.api_key,
            **{f"storage.storage_options.{k}": v for k, v in self.storage.storage_options.items()},
        }
        for name, secret in secrets.items():
            if secret is not None and secret.get_secret_value() == MASK:
                raise ValueError(f"{name} is the mask `aiinfra settings` prints, not a value: set the real one")
        return self

    @property
    def model_store(self) -> Path:
        """Local directory of converted base models and checkpoints (absolute: `models.store`, resolved at load)."""
        return location(self.models.store, "models.store")

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, sources: list[SourceSettings]) -> list[SourceSettings]:
        names = [s.name for s in sources]
        if len(names) != len(set(names)):
            raise ValueError(f"source names must be unique, got {names}")
        if not sources:
            raise ValueError("at least one source is required")
        return sources
