"""Reading what the latest materialization of an asset recorded (model paths, versions) from the instance."""

from __future__ import annotations

from typing import Any

import dagster as dg


def latest_metadata(instance: dg.DagsterInstance, asset: str | dg.AssetKey) -> dict[str, Any] | None:
    """Plain values of the latest materialization's metadata of `asset`, or None when it has none."""
    key = asset if isinstance(asset, dg.AssetKey) else dg.AssetKey(asset)
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    return {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}
