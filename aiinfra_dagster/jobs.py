"""Jobs of the code location."""

from __future__ import annotations

import dagster as dg

from aiinfra_dagster.assets.keys import (
    GOLDEN_QA_KEY,
    INFERENCE_LOGS_KEY,
    RAW_DOCUMENTS_KEY,
    REFERENCE_LABELS_KEY,
    SYNTHETIC_QA_KEY,
)

main_job = dg.define_asset_job(
    "main",
    selection=dg.AssetSelection.all(),
    description="Every asset, end to end: what `scripts/demo.sh` runs on the embedded default.",
)

MONITORING = dg.AssetSelection.assets(INFERENCE_LOGS_KEY).downstream()
"""inference_logs and drift_report: what the drift job refreshes."""

retraining_job = dg.define_asset_job(
    "retraining",
    selection=dg.AssetSelection.assets(SYNTHETIC_QA_KEY).downstream() - MONITORING,
    description=(
        "What a drift episode starts (sensor retraining_on_drift): synthetic set (plus the chunks the drifted traffic "
        "retrieved) -> training set -> LoRA checkpoint -> evaluation gate -> champion -> Bento -> deployment -> "
        "lineage audit. A blocked gate fails the run after recording the report; the served model stays."
    ),
)

drift_job = dg.define_asset_job(
    "drift",
    selection=MONITORING,
    description="Compact the service's inference log, then compare the traffic window with the training distribution.",
)

ingestion_job = dg.define_asset_job(
    "ingestion",
    selection=dg.AssetSelection.assets(RAW_DOCUMENTS_KEY, GOLDEN_QA_KEY, REFERENCE_LABELS_KEY),
    description="Read the sources again (raw documents, golden set, reference labels); the data stage follows eagerly.",
)

JOBS = [main_job, retraining_job, drift_job, ingestion_job]
