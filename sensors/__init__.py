"""Sensors and schedules (installed as aiinfra_dagster.sensors)."""
