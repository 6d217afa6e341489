"""Reading what materializations of an asset recorded (model paths, versions, run tags) from the instance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg

PAGE = 1000


@dataclass(frozen=True)
class Materialization:
    """One materialization event with plain metadata values and the tags of the run that produced it."""

    asset: str
    run_id: str
    timestamp: float
    storage_id: int
    metadata: Mapping[str, Any]
    run_tags: Mapping[str, str]


def _key(asset: str | dg.AssetKey) -> dg.AssetKey:
    return asset if isinstance(asset, dg.AssetKey) else dg.AssetKey(asset)


def plain_metadata(materialization: dg.AssetMaterialization) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}


def latest_metadata(instance: dg.DagsterInstance, asset: str | dg.AssetKey) -> dict[str, Any] | None:
    """Plain values of the latest materialization's metadata of `asset`, or None when it has none."""
    event = instance.get_latest_materialization_event(_key(asset))
    if event is None or event.asset_materialization is None:
        return None
    return plain_metadata(event.asset_materialization)


def require_latest_metadata(
    instance: dg.DagsterInstance, asset: str | dg.AssetKey, *, needed_by: str = ""
) -> dict[str, Any]:
    """Like `latest_metadata`, for a step that cannot run without it: a `dg.Failure` naming the asset to materialize."""
    meta = latest_metadata(instance, asset)
    if meta is None:
        name = _key(asset).to_user_string()
        who = f"{needed_by} needs" if needed_by else "this step needs"
        raise dg.Failure(f"{who} a materialization of {name}: materialize {name} first")
    return meta


def materializations(
    instance: dg.DagsterInstance, asset: str | dg.AssetKey, after_storage_id: int = 0
) -> list[Materialization]:
    """Every materialization of `asset` (after a storage id, e.g. a sensor's cursor), oldest first, each with its
    run's tags (empty for runless events)."""
    key = _key(asset)
    records_filter = dg.AssetRecordsFilter(asset_key=key, after_storage_id=after_storage_id or None)
    records: list[Any] = []
    cursor = None
    while True:
        page = instance.fetch_materializations(records_filter, limit=PAGE, cursor=cursor, ascending=True)
        records += page.records
        if not page.has_more:
            break
        cursor = page.cursor
    run_ids = sorted({r.run_id for r in records if r.run_id})
    tags = (
        {
            rec.dagster_run.run_id: dict(rec.dagster_run.tags)
            for rec in instance.get_run_records(dg.RunsFilter(run_ids=run_ids))
        }
        if run_ids
        else {}
    )
    return [
        Materialization(
            key.to_user_string(),
            r.run_id or "",
            r.timestamp,
            r.storage_id,
            plain_metadata(r.asset_materialization),
            tags.get(r.run_id, {}),
        )
        for r in records
        if r.asset_materialization is not None
    ]
