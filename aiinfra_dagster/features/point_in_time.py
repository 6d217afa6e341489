"""Point-in-time reads: features as they were at a given moment, never later values."""

from __future__ import annotations

import polars as pl

ENTITY = "chunk_id"
EVENT_TS = "event_timestamp"


def features_as_of(history: pl.DataFrame, requests: pl.DataFrame, *, as_of: str = "as_of") -> pl.DataFrame:
    """For each (chunk_id, as_of) request, the latest feature row with event_timestamp <= as_of.

    Requests before an entity's first row, or after it was deactivated, get null
    features (the history's `active` column). Request order is preserved.
    """
    if requests.is_empty():
        return requests.join(history.clear(), left_on=[ENTITY], right_on=[ENTITY], how="left")
    request_dtype = requests.schema[as_of]
    history = history.with_columns(pl.col(EVENT_TS).cast(request_dtype)).sort(ENTITY, EVENT_TS)
    indexed = requests.with_row_index("__request").sort(ENTITY, as_of)
    joined = indexed.join_asof(
        history, left_on=as_of, right_on=EVENT_TS, by=ENTITY, strategy="backward", check_sortedness=False
    )
    feature_columns = [c for c in history.columns if c not in (ENTITY, "active")]
    if "active" in history.columns:
        inactive = pl.col("active").fill_null(False).not_()
        joined = joined.with_columns(
            [pl.when(inactive).then(None).otherwise(pl.col(c)).alias(c) for c in feature_columns]
        )
    return joined.sort("__request").drop("__request")
