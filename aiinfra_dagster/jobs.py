"""Jobs of the code location."""

from __future__ import annotations

import dagster as dg

main_job = dg.define_asset_job(
    "main",
    selection=dg.AssetSelection.all(),
    description="Every asset, end to end: what `scripts/demo.sh` runs on the embedded default.",
)

MONITORING = dg.AssetSelection.assets("inference_logs").downstream()
"""inference_logs and drift_report: what the drift job refreshes."""

retraining_job = dg.define_asset_job(
    "retraining",
    selection=dg.AssetSelection.assets("synthetic_qa").downstream() - MONITORING,
    description=(
        "What a drift episode starts (sensor retraining_on_drift): synthetic set (plus the chunks the drifted traffic "
        "retrieved) -> training set -> LoRA checkpoint -> evaluation gate -> champion -> Bento -> deployment -> lineage "
        "audit. A blocked gate fails the run after recording the report; the served model stays."
    ),
)

drift_job = dg.define_asset_job(
    "drift",
    selection=MONITORING,
    description="Compact the service's inference log, then compare the traffic window with the training distribution.",
)

ingestion_job = dg.define_asset_job(
    "ingestion",
    selection=dg.AssetSelection.assets("raw_documents", "golden_qa", "reference_labels"),
    description="Read the sources again (raw documents, golden set, reference labels); the data stage follows eagerly.",
)

JOBS = [main_job, retraining_job, drift_job, ingestion_job]
