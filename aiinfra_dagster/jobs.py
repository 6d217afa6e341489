"""Jobs of the code location."""

from __future__ import annotations

import dagster as dg

main_job = dg.define_asset_job(
    "main",
    selection=dg.AssetSelection.all(),
    description="Every asset, end to end: what `scripts/demo.sh` runs on the embedded default.",
)
