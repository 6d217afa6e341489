"""Sections of monitoring: drift thresholds, retraining, schedules, traffic, the lineage audit."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aiinfra_dagster.settings.base import Section


class DriftThresholdSettings(Section):
    """When a drift signal counts as drift (`monitoring.drift.assess` takes this model as its thresholds)."""

    mmd_p_value: float = Field(
        default=0.01, gt=0.0, lt=1.0, description="Query-embedding MMD permutation p-value below this"
    )
    psi: float = Field(default=0.25, gt=0.0, description="PSI of the predicted-topic distribution above this")
    ks_p_value: float = Field(default=0.01, gt=0.0, lt=1.0, description="KS p-value of query length below this")
    score_drop: float = Field(default=0.1, ge=0.0, description="Drop of the mean top retrieval score above this")
    low_confidence_share: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Share of low-confidence answers above this"
    )
    min_requests: int = Field(
        default=30,
        ge=1,
        description="Fewer requests in the window: no verdict "
        "(the tests lack power; one odd user would trigger retraining)",
    )


class RetrainingSettings(Section):
    """The sensor that turns a drift episode into one retraining run."""

    sensor_running: bool = Field(
        default=True, description="Default status of the retraining sensor (switchable in the UI)"
    )
    sensor_interval_seconds: int = Field(default=60, ge=5)
    cooldown_minutes: float = Field(
        default=60.0, ge=0.0, description="No new retraining this soon after the last one started"
    )
    focus_chunks: int = Field(
        default=50,
        ge=0,
        description="Chunks the drifted traffic retrieved that retraining adds to the synthetic sample",
    )


class ScheduleSettings(Section):
    running: bool = Field(default=False, description="Default status of the schedules (switchable in the UI)")
    timezone: str = "UTC"
    ingestion_cron: str = Field(default="0 2 * * *", description="Nightly ingestion: raw documents and golden set")
    drift_cron: str = Field(default="0 * * * *", description="Hourly: compact the inference log, then drift_report")
    eager_data_assets: bool = Field(
        default=True, description="Data-stage assets downstream of ingestion materialize when their inputs change"
    )
    automation_running: bool = Field(
        default=True,
        description="Default status of the automation condition sensor that evaluates the eager data stage "
        "(stopped, nothing follows ingestion until it is switched on in the UI)",
    )
    automation_interval_seconds: int = Field(
        default=30, ge=1, description="Minimum seconds between two evaluations of the automation condition sensor"
    )


class TrafficSettings(Section):
    """`aiinfra traffic`: realistic requests to the deployed service, bounded."""

    shifted_questions_path: str | None = Field(
        default=None, description="One question per line; defaults to the packaged off-domain questions"
    )
    count: int = Field(default=60, ge=1)
    rate_per_second: float = Field(default=4.0, gt=0.0)
    max_count: int = Field(default=5000, ge=1, description="Upper bound of --count")
    max_rate_per_second: float = Field(default=50.0, gt=0.0, description="Upper bound of --rate")
    timeout_s: float = Field(default=120.0, gt=0.0)
    seed: int = 0


Endpoint = Literal["ask", "search"]
ENDPOINTS: tuple[Endpoint, ...] = ("ask", "search")


class MonitoringSettings(Section):
    """Drift of live traffic against the training distribution, retraining, schedules, the lineage audit."""

    window_hours: float = Field(default=24.0, gt=0.0, description="Recent traffic compared with the reference")
    endpoints: list[Endpoint] = Field(
        default_factory=lambda: list(ENDPOINTS),
        min_length=1,
        description="Whose queries are monitored "
        "(searches with a label filter are left out: their scores are filtered)",
    )
    max_samples: int = Field(default=500, ge=10, description="Queries per side in the MMD test (stable sample)")
    permutations: int = Field(default=200, ge=20)
    seed: int = 0
    low_confidence_score: float = Field(
        default=0.35,
        ge=-1.0,
        le=1.0,
        description="An answer whose best retrieved chunk scores below this is low-confidence",
    )
    history_reports: int = Field(default=48, ge=2, description="Earlier drift reports in the drift-over-time plot")
    thresholds: DriftThresholdSettings = DriftThresholdSettings()
    retraining: RetrainingSettings = RetrainingSettings()
    schedules: ScheduleSettings = ScheduleSettings()
    traffic: TrafficSettings = TrafficSettings()
    audit_dir: str | None = Field(
        default=None, description="Lineage audit reports; defaults to <home>/reports/lineage_audit"
    )
    redact_queries: bool = Field(
        default=True,
        description="Replace PII (pii.types, except pii.allowlist) in logged queries, answers and errors "
        "with placeholders such as [EMAIL] before they are stored",
    )
    retention_days: float | None = Field(
        default=30.0,
        gt=0.0,
        description="Inference-log rows older than this are deleted from the raw and compacted tables when "
        "inference_logs runs; null keeps them forever",
    )
    vacuum_retention_hours: int = Field(
        default=168,
        ge=0,
        description="inference_logs vacuums files unreferenced for longer than this (time travel ends there); below "
        "168 (Delta's safety check) it is taken as meant",
    )
