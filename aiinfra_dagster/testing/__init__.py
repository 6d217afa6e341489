"""Helpers for tests and scripts that need real Dagster processes (e.g. a webserver)."""
