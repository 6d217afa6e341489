"""Conventions shared by every asset module."""

from __future__ import annotations

from typing import Any

import dagster as dg

from aiinfra_dagster.markdown import markdown_table

OWNERS = ["team:ml-platform"]

__all__ = ["OWNERS", "latest_materialization_metadata", "markdown_table"]


def latest_materialization_metadata(instance: dg.DagsterInstance, asset: str) -> dict[str, Any] | None:
    """Plain values of the latest materialization's metadata of `asset`, or None if it has none."""
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    if event is None or event.asset_materialization is None:
        return None
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}
