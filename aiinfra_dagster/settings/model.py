"""The whole settings model: every section, plus the source that feeds it presets merged with the file."""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest first: explicit kwargs, AIINFRA_* env, then presets + file (see load_settings).
        return init_settings, env_settings, _FileSource(settings_cls)


# load_settings hands the merged presets + file to the source below for the one Settings(...) call it makes.
_FILE_DATA: ContextVar[dict[str, Any] | None] = ContextVar("aiinfra_file_data", default=None)


class _FileSource(PydanticBaseSettingsSource):
    """Profile presets merged with the settings file, prepared by load_settings."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return (_FILE_DATA.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_DATA.get() or {})
