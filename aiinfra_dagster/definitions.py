"""The code location: every asset, check, job and resource, built from the settings.

`dagster dev -w workspace.yaml`, `dg` ([tool.dg] in pyproject.toml) and
`dagster definitions validate` all load `defs` from this module.
"""

from __future__ import annotations

import dagster as dg

import aiinfra_dagster.assets as assets_package  # installed from the top-level assets/ folder (package-dir)
from aiinfra_dagster.assets.evaluation import evaluation_assets
from aiinfra_dagster.assets.training import training_assets
from aiinfra_dagster.jobs import JOBS, retraining_job
from aiinfra_dagster.k8s.executor import build_executor
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.sensors.retraining import build_retraining_sensor
from aiinfra_dagster.sensors.schedules import build_automation_sensor, build_schedules, with_automation
from aiinfra_dagster.settings import Settings, get_settings
from aiinfra_dagster.settings.secrets import secrets_ref


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    aiinfra = SettingsResource.from_settings(settings)
    return {
        "lakehouse": LakehouseResource(root=settings.storage.lake_root, secrets_ref=secrets_ref(aiinfra.settings_json)),
        "aiinfra": aiinfra,
        "embedding_model": EmbeddingModelResource(
            model_ref_json=settings.models.embedding.model_dump_json(),
            allow_hub_downloads=settings.models.allow_hub_downloads,
            batch_size=settings.features.embedding_batch_size,
            max_length=settings.features.embedding_max_length,
        ),
    }


def all_assets(settings: Settings) -> list:
    """Assets declared in the asset modules plus those placed by the settings (GPU steps), with their automation."""
    return with_automation(
        settings,
        [*dg.load_assets_from_package_module(assets_package), *training_assets(settings), *evaluation_assets(settings)],
    )


def all_asset_checks() -> list:
    return list(dg.load_asset_checks_from_package_module(assets_package))


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=all_assets(settings),
        asset_checks=all_asset_checks(),
        jobs=JOBS,
        schedules=build_schedules(settings),
        sensors=[build_retraining_sensor(settings, retraining_job), build_automation_sensor(settings)],
        resources=build_resources(settings),
        # Locally one process per run by default (steps share loaded models on small
        # machines); k8s.enabled swaps in dagster_k8s.k8s_job_executor.
        executor=build_executor(k8s=settings.k8s, dagster=settings.dagster),
    )


defs = build_definitions(get_settings())
