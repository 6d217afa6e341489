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
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
