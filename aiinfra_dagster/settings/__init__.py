"""One typed settings model for the whole code location.

Precedence, lowest first: the profile's presets (`quick`, `demo`, `full`), the
settings file (`aiinfra.yaml`, or the path in ``AIINFRA_CONFIG``), its
``profiles.<name>`` section, ``AIINFRA_*`` environment variables (nested fields
with ``__``, e.g. ``AIINFRA_STORAGE__ROOT=s3://bucket/lake``), then keyword
arguments to `load_settings`. Invalid values fail at load with the dotted name
of the field.

The package: `base` (profiles, the error, the section base), one module of sections per stage (`data`,
`training`, `services`, `monitoring`), `presets`, `model` (the whole `Settings`), `load`. Import from here.
"""

from __future__ import annotations

from aiinfra_dagster.settings.base import DEFAULT_SETTINGS_FILE, ENV_PREFIX, PROFILES, Profile, SettingsError
from aiinfra_dagster.settings.data import (
    DEFAULT_SOURCE_GLOBS,
    ChunkingSettings,
    FeatureSettings,
    GoldenSettings,
    LabelSettings,
    ModelRef,
    ModelSettings,
    PiiSettings,
    SourceSettings,
    StorageSettings,
    SyntheticSettings,
    ValidationSettings,
)
from aiinfra_dagster.settings.load import get_settings, load_settings, settings_file_path
from aiinfra_dagster.settings.model import Settings
from aiinfra_dagster.settings.monitoring import (
    DriftThresholdSettings,
    MonitoringSettings,
    RetrainingSettings,
    ScheduleSettings,
    TrafficSettings,
)
from aiinfra_dagster.settings.presets import PROFILE_PRESETS
from aiinfra_dagster.settings.services import (
    DagsterSettings,
    K8sSettings,
    QdrantSettings,
    ServingPeer,
    ServingSettings,
)
from aiinfra_dagster.settings.training import (
    ClassifierSettings,
    DeepSpeedSettings,
    EvaluationSettings,
    LoraSettings,
    PromotionSettings,
    TrackingSettings,
    TrainingSetSettings,
    TrainingSettings,
)

__all__ = [
    "ChunkingSettings",
    "ClassifierSettings",
    "DEFAULT_SETTINGS_FILE",
    "DEFAULT_SOURCE_GLOBS",
    "DagsterSettings",
    "DeepSpeedSettings",
    "DriftThresholdSettings",
    "ENV_PREFIX",
    "EvaluationSettings",
    "FeatureSettings",
    "GoldenSettings",
    "K8sSettings",
    "LabelSettings",
    "LoraSettings",
    "ModelRef",
    "ModelSettings",
    "MonitoringSettings",
    "PROFILES",
    "PROFILE_PRESETS",
    "PiiSettings",
    "Profile",
    "PromotionSettings",
    "QdrantSettings",
    "RetrainingSettings",
    "ScheduleSettings",
    "ServingPeer",
    "ServingSettings",
    "Settings",
    "SettingsError",
    "SourceSettings",
    "StorageSettings",
    "SyntheticSettings",
    "TrackingSettings",
    "TrafficSettings",
    "TrainingSetSettings",
    "TrainingSettings",
    "ValidationSettings",
    "get_settings",
    "load_settings",
    "settings_file_path",
]
