"""Conventions shared by every asset module.

Asset keys: every asset's `<ASSET>_KEY = dg.AssetKey(...)` constant lives in `assets/keys.py` (one module, so no
asset module imports another to name it; table contracts keep the bare upper-case names, e.g. `GOLDEN_QA`). Checks,
sensors, `deps` and reads of the latest materialization name an asset by that constant (or the asset object), never
by a bare string.

Checks: a check that reads what was persisted is an `@dg.asset_check` function in the stage's `<stage>_checks.py`
module, so it can be re-run alone from the UI; its `asset=` is the key constant imported from the asset module.
Inline `check_specs` only where the asset computes the result itself while materializing (the promotion gate of
`eval_report`, the drift test of `drift_report`) and yields it with its `MaterializeResult`.

Kinds: one spelling each, from the constants below (the spelling the Dagster UI has an icon for).

A step that cannot run without another asset's latest materialization reads it with
`materializations.require_latest_metadata` (a `dg.Failure` naming the asset to materialize first); only a step for
which "none yet" is a normal state uses `latest_metadata` and handles None.
"""

from __future__ import annotations

from aiinfra_dagster.markdown import markdown_table

OWNERS = ["team:ml-platform"]

# Kinds (compute and storage tags shown in the UI).
BENTOML = "bentoml"
DAGSTER = "dagster"
DELTA = "deltalake"
GREAT_EXPECTATIONS = "great_expectations"
HTML = "html"
HUGGINGFACE = "huggingface"
JSON = "json"
PEFT = "peft"
POLARS = "polars"
PYTORCH = "pytorch"
QDRANT = "qdrant"
SCIPY = "scipy"

__all__ = [
    "BENTOML",
    "DAGSTER",
    "DELTA",
    "GREAT_EXPECTATIONS",
    "HTML",
    "HUGGINGFACE",
    "JSON",
    "OWNERS",
    "PEFT",
    "POLARS",
    "PYTORCH",
    "QDRANT",
    "SCIPY",
    "markdown_table",
]
