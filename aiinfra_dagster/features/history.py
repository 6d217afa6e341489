"""Maintaining the append-only feature history that point-in-time reads rely on.

A chunk gets a new row only when something that shapes its values changed (the
feature-set version or its label); a chunk that leaves the corpus gets one
inactive row. Re-running with unchanged inputs appends nothing.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from aiinfra_dagster.features.tables import CHUNK_FEATURES

CHANGE_COLUMNS = ("feature_set_version", "label", "label_confidence")


def latest_rows(history: pl.DataFrame) -> pl.DataFrame:
    return history.sort("event_timestamp").group_by("chunk_id", maintain_order=True).last()


def feature_updates(current: pl.DataFrame, history: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """Rows to append so the history's latest state equals `current` (chunk_id + feature columns)."""
    latest = latest_rows(history)
    active = latest.filter(pl.col("active"))
    current = current.with_columns(pl.col("label_confidence").round(6))
    compare = active.select("chunk_id", *[pl.col(c).alias(f"{c}__old") for c in CHANGE_COLUMNS])
    joined = current.join(compare, on="chunk_id", how="left")
    is_new = pl.col("feature_set_version__old").is_null()
    changed = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}__old")) for c in CHANGE_COLUMNS])
    upserts = joined.filter(is_new | changed).select(current.columns)
    gone = active.join(current.select("chunk_id"), on="chunk_id", how="anti").select("chunk_id", "feature_set_version")

    rows = [
        upserts.with_columns(
            pl.lit(now).dt.cast_time_unit("us").alias("event_timestamp"), pl.lit(True).alias("active")
        ),
        gone.with_columns(pl.lit(now).dt.cast_time_unit("us").alias("event_timestamp"), pl.lit(False).alias("active")),
    ]
    frame = pl.concat(rows, how="diagonal_relaxed")
    for column, dtype in CHUNK_FEATURES.columns.items():
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype).alias(column))
    return frame.select([pl.col(c).cast(t) for c, t in CHUNK_FEATURES.columns.items()])
