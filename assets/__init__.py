"""Software-defined assets, one module per stage (installed as aiinfra_dagster.assets)."""
