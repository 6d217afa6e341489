"""`aiinfra`: small operator commands around the code location."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from aiinfra_dagster.instance import write_instance_yaml
from aiinfra_dagster.settings import SettingsError, load_settings


def _settings(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except SettingsError as err:
        print(err, file=sys.stderr)
        return 2
    print(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False), end="")
    return 0


def _instance(args: argparse.Namespace) -> int:
    try:
        limit = load_settings(args.config).dagster.gpu_pool_limit
    except SettingsError as err:
        print(err, file=sys.stderr)
        return 2
    path = write_instance_yaml(Path(args.dagster_home), limit)
    print(path)
    return 0


def _champion_rollback(args: argparse.Namespace) -> int:
    """Materialize champion_model with `rollback_to` in the instance of DAGSTER_HOME (lineage in the UI)."""
    import dagster as dg

    from aiinfra_dagster.definitions import (
        all_asset_checks,
        all_assets,
        build_resources,
    )

    try:
        settings = load_settings(args.config)
    except SettingsError as err:
        print(err, file=sys.stderr)
        return 2
    key = dg.AssetKey("champion_model")
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            [*all_assets(settings), *all_asset_checks()],
            selection=dg.AssetSelection.assets(key) | dg.AssetSelection.checks_for_assets(key),
            resources=build_resources(settings),
            instance=instance,
            run_config={"ops": {"champion_model": {"config": {"rollback_to": args.to}}}},
            raise_on_error=False,
            tags={"aiinfra/action": "champion-rollback"},
        )
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        message = failure.step_failure_data.error.message.strip() if failure and failure.step_failure_data.error else "see the run's logs"
        print(f"rollback failed (run {result.run_id}): {message}", file=sys.stderr)
        return 1
    meta = next(e.materialization.metadata for e in result.get_asset_materialization_events() if e.asset_key == key)
    print(f"champion is now {meta['model_version'].value} (rolled back from {meta['previous_version'].value}; run {result.run_id})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aiinfra", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("settings", help="print the effective settings (file + AIINFRA_* env), or the error")
    show.add_argument("--config", help="settings file (default: $AIINFRA_CONFIG or ./aiinfra.yaml)")
    show.set_defaults(func=_settings)
    inst = sub.add_parser("instance", help="write a local dagster.yaml (telemetry off) into DAGSTER_HOME")
    inst.add_argument("dagster_home")
    inst.add_argument("--config", help="settings file (default: $AIINFRA_CONFIG or ./aiinfra.yaml)")
    inst.set_defaults(func=_instance)
    champion = sub.add_parser("champion", help="the served model's pointer (champion_model)")
    champion_sub = champion.add_subparsers(dest="champion_command", required=True)
    back = champion_sub.add_parser("rollback", help="point champion_model back at an earlier champion (a materialization in $DAGSTER_HOME)")
    back.add_argument("--to", default="previous", help="'previous' (default) or a model version from champion_history")
    back.add_argument("--config", help="settings file (default: $AIINFRA_CONFIG or ./aiinfra.yaml)")
    back.set_defaults(func=_champion_rollback)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
