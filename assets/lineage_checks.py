"""Checks of the lineage audit; they read the written report, so they can be re-run alone."""

import json
from pathlib import Path

import dagster as dg

from aiinfra_dagster.assets.common import markdown_table
from aiinfra_dagster.assets.keys import LINEAGE_AUDIT_KEY
from aiinfra_dagster.materializations import require_latest_metadata


@dg.asset_check(
    asset=LINEAGE_AUDIT_KEY,
    description=(
        "Every hop from the deployed Bento back to raw documents, base model, index and labeling functions resolved. "
        "Warns: a missing link is an audit gap, not a reason to stop serving."
    ),
)
def lineage_complete(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    meta = require_latest_metadata(context.instance, LINEAGE_AUDIT_KEY)
    report = json.loads(Path(meta["json_path"]).read_text())
    missing = [h for h in report["hops"] if not h["resolved"]]
    return dg.AssetCheckResult(
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{report['hops_resolved']} hops resolved, {len(missing)} missing",
        metadata={
            "bento_tag": report["bento_tag"],
            "hops_resolved": report["hops_resolved"],
            "hops_missing": len(missing),
            "missing": dg.MetadataValue.md(
                markdown_table(
                    ["hop", "asset", "reason"], [[h["role"], h["asset"], h["missing_reason"]] for h in missing]
                )
                if missing
                else "none"
            ),
            "report": dg.MetadataValue.path(meta["json_path"]),
        },
    )
