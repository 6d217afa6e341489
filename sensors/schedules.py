"""Schedules and automation conditions: when things run without a person pressing Materialize."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from aiinfra_dagster.jobs import drift_job, ingestion_job
from aiinfra_dagster.settings import Settings

EAGER_ASSETS = frozenset(
    {
        "validated_documents",
        "quarantine",
        "document_chunks",
        "chunk_duplicates",
        "chunk_embeddings",
        "chunk_labels",
        "human_labels",
        "human_label_quarantine",
        "chunk_features",
        "vector_index",
    }
)
"""The data stage downstream of ingestion: a changed source should reach chunks, labels, features and the index
without waiting for a person. Training, evaluation and deployment are not eager: the retraining sensor decides."""


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    params = settings.monitoring.schedules
    status = dg.DefaultScheduleStatus.RUNNING if params.running else dg.DefaultScheduleStatus.STOPPED
    return [
        dg.ScheduleDefinition(
            name="ingestion_nightly",
            job=ingestion_job,
            cron_schedule=params.ingestion_cron,
            execution_timezone=params.timezone,
            default_status=status,
            description="Re-read the sources; the data stage follows through its eager automation conditions.",
        ),
        dg.ScheduleDefinition(
            name="drift_hourly",
            job=drift_job,
            cron_schedule=params.drift_cron,
            execution_timezone=params.timezone,
            default_status=status,
            description="Compact the inference log and write a drift report; the retraining sensor reads it.",
        ),
    ]


AUTOMATION_SENSOR_NAME = "data_stage_automation"

BLOCKING_CHECKS_PASSED = dg.AutomationCondition.all_deps_match(
    dg.AutomationCondition.all_checks_match(dg.AutomationCondition.check_passed(), blocking_only=True)
    | dg.AutomationCondition.will_be_requested()
).with_label("inputs_passed_their_blocking_checks")
"""Every input's blocking checks passed, or the input is requested on this tick: then it is in the same run as this
asset, its checks ride along, and a failing one stops this asset's step. That is
`AutomationCondition.all_deps_blocking_checks_passed()` except that it lets an input requested on the same tick through
even though its checks (which have no automation condition of their own) are not "requested": the whole eager stage
stays one run instead of one run per level."""

EAGER_CONDITION = (dg.AutomationCondition.eager() & BLOCKING_CHECKS_PASSED).with_label("eager_past_blocking_checks")
"""Eager, but never past a failed blocking check of an input: Dagster's automation does not consult blocking checks on
its own (dagster issue 17332), so without the second half a failed check on validated_documents would still let the
daemon build chunks, embeddings and the index from that data."""


def build_automation_sensor(settings: Settings) -> dg.AutomationConditionSensorDefinition:
    """The sensor that evaluates the eager conditions; without it (Dagster's default one starts STOPPED) nothing
    follows ingestion. Its default status and interval come from settings.monitoring.schedules."""
    params = settings.monitoring.schedules
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING if params.automation_running else dg.DefaultSensorStatus.STOPPED,
        minimum_interval_seconds=params.automation_interval_seconds,
        description="Materializes the eager data stage (chunks, labels, features, the index) when its inputs change "
        "and their blocking checks passed.",
    )


def with_automation(settings: Settings, assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The eager data stage (settings.monitoring.schedules.eager_data_assets), gated on blocking checks, visible on
    each asset in the UI."""
    if not settings.monitoring.schedules.eager_data_assets:
        return list(assets)
    return list(
        dg.map_asset_specs(
            lambda spec: (
                spec.replace_attributes(automation_condition=EAGER_CONDITION)
                if spec.key.to_user_string() in EAGER_ASSETS
                else spec
            ),
            assets,
        )
    )
