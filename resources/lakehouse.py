"""The Delta Lake resource every tabular asset reads and writes through."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field

from aiinfra_dagster.lakehouse import DeltaStore, TableSchema, WriteResult
from aiinfra_dagster.settings.base import revealed
from aiinfra_dagster.settings.secrets import runtime_secrets


class LakehouseResource(dg.ConfigurableResource):
    """Delta tables under one root URI (local path, s3://, gs://, az://) with validated schemas."""

    root: str = Field(description="Root URI holding one Delta table per asset")
    secrets_ref: str = Field(
        default="", description="Names the settings whose storage options (secrets) this lake uses; not the values"
    )

    @property
    def store(self) -> DeltaStore:
        """Storage options are secrets: they come from this process's sources, never from run config."""
        options = runtime_secrets(self.secrets_ref).storage_options if self.secrets_ref else {}
        return DeltaStore(self.root, revealed(options))

    def table_metadata(self, schema: TableSchema, result: WriteResult, **extra: Any) -> dict[str, Any]:
        """What a person auditing lineage needs: version, counts, schema, where the table lives."""
        return {
            "dagster/row_count": result.row_count,
            "dagster/column_schema": column_schema(schema),
            "dagster/table_name": schema.name,
            "dagster/uri": dg.MetadataValue.path(result.uri),
            "delta_version": result.version,
            "rows_inserted": result.inserted,
            "rows_updated": result.updated,
            "rows_deleted": result.deleted,
            "new_delta_commit": result.committed,
            **extra,
        }


def column_schema(schema: TableSchema) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name,
                type=str(dtype),
                description=schema.descriptions.get(name),
                constraints=dg.TableColumnConstraints(nullable=name in schema.nullable, unique=schema.key == (name,)),
            )
            for name, dtype in schema.columns.items()
        ]
    )
