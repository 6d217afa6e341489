"""Delta Lake storage with explicit schemas and idempotent writes."""

from aiinfra_dagster.lakehouse.delta import DeltaStore, WriteResult, table_uri
from aiinfra_dagster.lakehouse.schema import UTC_TS, SchemaMismatchError, TableSchema

__all__ = ["UTC_TS", "DeltaStore", "SchemaMismatchError", "TableSchema", "WriteResult", "table_uri"]
