"""Monitoring: is live traffic still like what the served model was trained on?

`drift_report` compares the last `monitoring.window_hours` of `inference_logs`
with the `training_set` questions and records the verdict in `drift_reports`;
the retraining sensor (sensors/retraining.py) reads its materializations.
"""

import dagster as dg

from aiinfra_dagster.assets.common import DELTA, OWNERS, POLARS, SCIPY
from aiinfra_dagster.assets.keys import (
    DRIFT_REPORT_KEY,
    INFERENCE_LOGS_KEY,
    TOPIC_CLASSIFIER_KEY,
    TRAINING_SET_KEY,
    VECTOR_INDEX_KEY,
)
from aiinfra_dagster.materializations import latest_metadata
from aiinfra_dagster.monitoring.render import drift_report_metadata, verdict_metadata
from aiinfra_dagster.monitoring.run import parse_window_end, report_drift
from aiinfra_dagster.monitoring.tables import DRIFT_REPORTS
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource

GROUP = "monitoring"
DRIFT_CHECK = "drift_within_threshold"


class DriftReportConfig(dg.Config):
    window_end: str | None = None
    """ISO 8601 end of the window (UTC if no offset); default now. For re-examining a past window."""


@dg.asset(
    key=DRIFT_REPORT_KEY,
    group_name=GROUP,
    deps=[INFERENCE_LOGS_KEY, TRAINING_SET_KEY, TOPIC_CLASSIFIER_KEY, VECTOR_INDEX_KEY],
    kinds={DELTA, POLARS, SCIPY},
    owners=OWNERS,
    description=(
        "Live traffic of the last monitoring.window_hours (successful requests of monitoring.endpoints in "
        "inference_logs) against the training_set questions: query-embedding MMD permutation test, PSI of the "
        "topic classifier's predicted topics, KS test of query length, drop of the best retrieval score and the share "
        "of low-confidence answers, each against monitoring.thresholds. One row per report in Delta `drift_reports` "
        "(drift over time); the retraining sensor turns a drift episode into one retraining run."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            DRIFT_CHECK,
            asset=DRIFT_REPORT_KEY,
            description="Traffic within every drift threshold (warns; retraining is the sensor's decision)",
        )
    ],
)
def drift_report(
    context: dg.AssetExecutionContext,
    config: DriftReportConfig,
    lakehouse: LakehouseResource,
    aiinfra: SettingsResource,
    embedding_model: EmbeddingModelResource,
) -> dg.MaterializeResult:
    settings = aiinfra.value
    drift = report_drift(
        settings,
        lakehouse.store,
        embedding_model.encoder,
        classifier=latest_metadata(context.instance, TOPIC_CLASSIFIER_KEY) or {},
        end=parse_window_end(config.window_end),
        dagster_run_id=context.run.run_id,
    )
    comparison, rid = drift.comparison, drift.report_id
    context.log.info(
        f"drift report {rid}: {comparison.label} over {comparison.n_requests} requests; {comparison.verdict.reasons}"
    )
    return dg.MaterializeResult(
        metadata=lakehouse.table_metadata(
            DRIFT_REPORTS, drift.write, **drift_report_metadata(drift, settings.monitoring.thresholds)
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name=DRIFT_CHECK,
                passed=not comparison.verdict.drifted,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={**verdict_metadata(comparison), "drift_report_id": rid},
            )
        ],
    )
