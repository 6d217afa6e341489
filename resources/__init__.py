"""Dagster resources (installed as aiinfra_dagster.resources)."""
