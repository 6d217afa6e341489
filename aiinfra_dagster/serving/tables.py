"""Schemas of the serving-stage Delta tables.

The service appends to `inference_log` in small batches (many small files);
the `inference_logs` asset copies it, deduplicated by request id, into the
day-partitioned `inference_logs` table that monitoring reads, and compacts both.
"""

from __future__ import annotations

import polars as pl

from aiinfra_dagster.lakehouse import UTC_TS, TableSchema
from aiinfra_dagster.lakehouse.schema import PolarsDataType

_COLUMNS: dict[str, PolarsDataType] = {
    "request_id": pl.String,
    "ts": UTC_TS,
    "endpoint": pl.String,
    "status_code": pl.Int64,
    "query": pl.String,
    "label_filter": pl.String,
    "answer": pl.String,
    "retrieved_ids": pl.List(pl.String),
    "scores": pl.List(pl.Float64),
    "predicted_label": pl.String,
    "latency_ms": pl.Float64,
    "model_version": pl.String,
    "classifier_version": pl.String,
    "index_alias": pl.String,
    "index_version": pl.String,
    "bento_tag": pl.String,
    "error": pl.String,
}
_NULLABLE = frozenset(
    {"query", "label_filter", "answer", "predicted_label", "index_version", "error", "retrieved_ids", "scores"}
)
_DESCRIPTIONS = {
    "request_id": "unique per request (also returned in the X-Request-Id response header)",
    "ts": "when the request arrived (UTC)",
    "endpoint": "ask, search or classify",
    "status_code": "HTTP status returned (4xx for rejected input or a missing/wrong API key)",
    "query": "the question, search query or text to classify (truncated to serving.max_query_chars)",
    "label_filter": "the /search label filter, if any",
    "answer": "the generated answer (/ask)",
    "retrieved_ids": "chunk ids retrieved, best first",
    "scores": "similarity score of each retrieved chunk",
    "predicted_label": "the topic /classify returned",
    "latency_ms": "server-side time from request to response",
    "model_version": "version of the served LLM",
    "classifier_version": "version of the served topic classifier",
    "index_alias": "the index alias the service reads",
    "index_version": "the concrete index version the alias pointed to for this request",
    "bento_tag": "the Bento that answered",
    "error": "why a request failed",
}

INFERENCE_LOG = TableSchema(
    name="inference_log",
    columns=_COLUMNS,
    nullable=_NULLABLE,
    descriptions=_DESCRIPTIONS,
)

INFERENCE_LOGS = TableSchema(
    name="inference_logs",
    columns={**_COLUMNS, "date": pl.Date},
    key=("request_id",),
    nullable=_NULLABLE,
    descriptions={**_DESCRIPTIONS, "date": "UTC day of ts; the Delta partition column"},
    partition_by=("date",),
)
