"""`aiinfra`: small operator commands around the code location."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from aiinfra_dagster.instance import write_instance_yaml
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.serving.retention import forget
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
    import dagster as dg  # local import: dagster costs ~0.4 s; `aiinfra settings` and `init` do not need it

    from aiinfra_dagster.definitions import (  # local import: builds every asset (~7 s), only this command needs it
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
        message = (
            failure.step_failure_data.error.message.strip()
            if failure and failure.step_failure_data.error
            else "see the run's logs"
        )
        print(f"rollback failed (run {result.run_id}): {message}", file=sys.stderr)
        return 1
    meta = next(e.materialization.metadata for e in result.get_asset_materialization_events() if e.asset_key == key)
    print(
        f"champion is now {meta['model_version'].value} "
        f"(rolled back from {meta['previous_version'].value}; run {result.run_id})"
    )
    return 0


def _traffic(args: argparse.Namespace) -> int:
    """Send in-distribution or shifted questions to the deployed service; exit 1 when any request failed."""
    from aiinfra_dagster.monitoring import traffic  # local import: the HTTP sender, only this command needs it

    try:
        settings = load_settings(args.config)
        limits = settings.monitoring.traffic
        count = args.count if args.count is not None else limits.count
        rate = args.rate if args.rate is not None else limits.rate_per_second
        traffic.check_bounds(count, rate, limits)
        url = args.url or traffic.deployed_url(settings.storage)
        pool = traffic.question_pool(args.kind, storage=settings.storage, traffic=limits)
        questions = traffic.sample_questions(pool, count, limits.seed)
        done = {"n": 0, "ok": 0}

        def progress(result: traffic.RequestResult) -> None:
            done["n"] += 1
            done["ok"] += result.ok
            print(
                f"\r{args.kind} traffic: {done['n']}/{count} sent, {done['ok']} ok, {done['n'] - done['ok']} failed",
                end="",
                file=sys.stderr,
                flush=True,
            )

        summary = traffic.send_traffic(
            url,
            questions,
            count=count,
            rate_per_second=rate,
            endpoint=args.endpoint,
            api_key=settings.serving.api_key.get_secret_value() if settings.serving.api_key else None,
            timeout_s=limits.timeout_s,
            on_response=progress,
            limits=limits,
        )
    except (SettingsError, traffic.TrafficError) as err:
        print(err, file=sys.stderr)
        return 2
    print(file=sys.stderr)
    print(traffic.summary_table(summary, args.kind))
    return 0 if summary.failed == 0 else 1


def _audit(args: argparse.Namespace) -> int:
    """The lineage audit of $DAGSTER_HOME's instance: the deployed Bento's inputs, or one document's reach."""
    import dagster as dg  # local import: dagster costs ~0.4 s; `aiinfra settings` and `init` do not need it

    from aiinfra_dagster.lineage.audit import (  # local import: reads the instance (~1.2 s), only `audit` needs it
        DeploymentLineage,
        NothingDeployedError,
        UnknownDocumentError,
        audit_deployment,
        audit_document,
    )
    from aiinfra_dagster.lineage.document import DocumentImpact  # local import: as lineage.audit above
    from aiinfra_dagster.lineage.render import report_name, write_report  # local import: as lineage.audit above

    try:
        settings = load_settings(args.config)
        store = DeltaStore.for_storage(settings.storage)
        report: DeploymentLineage | DocumentImpact
        with dg.DagsterInstance.get() as instance:
            if args.document:
                report = audit_document(instance, store, args.document)
                subject = f"document_{report.document_id}"
            else:
                report = audit_deployment(instance, store)
                subject = report.bento_tag
    except (SettingsError, NothingDeployedError, UnknownDocumentError) as err:
        print(err, file=sys.stderr)
        return 2
    if isinstance(report, DeploymentLineage) and not report.deployed:
        print(f"note: {report.bento_tag} is built but has never been deployed; auditing the build", file=sys.stderr)
    markdown, data = report.to_markdown(), report.to_dict()
    print(json.dumps(data, indent=2) if args.json else markdown, end="\n" if args.json else "")
    if args.out:
        paths = write_report(Path(args.out), report_name(report.audited_at, subject), markdown, data)
        print(f"written: {paths[0]} and {paths[1]}", file=sys.stderr)
    return 0


def _forget(args: argparse.Namespace) -> int:
    """Right to erasure: delete matching inference-log rows from the raw and compacted tables, vacuum, record it."""
    try:
        settings = load_settings(args.config)
        audit_dir = Path(settings.monitoring.audit_dir or ".")  # filled in at validation (settings.locations)
        erasure = forget(
            DeltaStore.for_storage(settings.storage),
            audit_dir,
            request_ids=args.request_id or (),
            matching=args.matching,
        )
    except (SettingsError, ValueError) as err:
        print(err, file=sys.stderr)
        return 2
    for table, rows in erasure.rows_deleted.items():
        print(f"{table}: {rows} row(s) deleted, {erasure.files_vacuumed.get(table, 0)} file(s) vacuumed")
    print(f"{len(erasure.request_ids)} request id(s) erased ({erasure.criterion}); recorded in {erasure.record}")
    return 0


def _init(args: argparse.Namespace) -> int:
    """Write a starter aiinfra.yaml for the user's folders."""
    from aiinfra_dagster.onboarding.init import init  # local import: scans folders with the parsers (~0.2 s)

    try:
        path, scans = init([Path(p) for p in args.paths], [Path(g) for g in args.golden], Path(args.output), args.force)
    except (FileExistsError, FileNotFoundError) as err:
        print(err, file=sys.stderr)
        return 2
    for scan in scans:
        formats = ", ".join(f"{fmt} {n}" for fmt, n in sorted(scan.formats.items())) or "no documents"
        print(f"{scan.path}: {scan.documents} documents ({formats})")
    print(f"written: {path}\nnext: aiinfra check --config {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    """Dry-run the data stage, template Q/A filters and golden set on the current settings."""
    from aiinfra_dagster.onboarding.check import run_check  # local import: the data stage's libraries (~3.3 s)

    try:
        settings = load_settings(args.config)
        report = run_check(settings, embed=args.embed)
    except (SettingsError, ValueError, OSError) as err:
        print(err, file=sys.stderr)
        return 2
    print(report.render())
    return 1 if report.problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aiinfra", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser(
        "init", help="write a starter aiinfra.yaml for your document folders (formats, classes, golden)"
    )
    start.add_argument(
        "paths", nargs="+", metavar="PATH", help="folders of documents (Markdown, reST, HTML, PDF, text)"
    )
    start.add_argument(
        "--golden",
        action="append",
        default=[],
        metavar="FILE",
        help="golden Q/A file (JSONL/CSV: question, answer, source); repeatable",
    )
    start.add_argument("--output", default="aiinfra.yaml", help="settings file to write (default ./aiinfra.yaml)")
    start.add_argument("--force", action="store_true", help="overwrite an existing settings file")
    start.set_defaults(func=_init)
    dry = sub.add_parser("check", help="dry-run the current settings: documents, quarantine, chunks, Q/A, golden")
    dry.add_argument(
        "--embed",
        action="store_true",
        help="also run decontamination and round-trip retrieval with the embedding model (slower)",
    )
    dry.add_argument("--config", help="settings file (default: $AIINFRA_CONFIG or ./aiinfra.yaml)")
    dry.set_defaults(func=_check)
    show = sub.add_parser("settings", help="print the effective settings (file + AIINFRA_* env), or the error")
    show.add_argument("--config", help="settings file (default: $AIINFRA_CONFIG or ./aiinfra.yaml)")
    show.set_defaults(func=_settings)
    inst = sub.add_parser("instance", help="write a local dagster.yaml (telemetry off) into DAGSTER_HOME")
    inst.add_argument("dagster_home")
    inst.add_argument("--config", help="settings file (default: $AIINFRA_CONFIG or ./aiinfra.yaml)")
    inst.set_defaults(func=_instance)
    champion = sub.add_parser("champion", help="the served model's pointer (champion_model)")
    champion_sub = champion.add_subparsers(dest="champion_command", required=True)
    back = champion_sub.add_parser(
        "rollback", help="point champion_model back at an earlier champion (a materialization in $DAGSTER_HOME)"
    )
    back.add_argument("--to", default="previous", help="'previous' (default) or a model version from champion_history")
    back.add_argument("--config", help="settings file (default: $AIINFRA_CONFIG or ./aiinfra.yaml)")
    back.set_defaults(func=_champion_rollback)
    send = sub.add_parser(
        "traffic", help="send bounded, paced requests to the deployed service (demos and drift tests)"
    )
    send.add_argument(
        "--kind",
        required=True,
        choices=["in-distribution", "shifted"],
        help="questions like the training set, or from other domains (monitoring.traffic.shifted_questions_path)",
    )
    send.add_argument("--count", type=int, help="requests to send (default monitoring.traffic.count)")
    send.add_argument(
        "--rate", type=float, help="requests per second at most (default monitoring.traffic.rate_per_second)"
    )
    send.add_argument("--url", help="the service (default: where this storage home's bento_deployment serves)")
    send.add_argument(
        "--endpoint",
        choices=["ask", "search"],
        default="ask",
        help="ask (default; on CPU an answer takes seconds) or search (fast); "
        "drift_report watches both (monitoring.endpoints)",
    )
    send.add_argument("--config", help="settings file (default: $AIINFRA_CONFIG or ./aiinfra.yaml)")
    send.set_defaults(func=_traffic)
    audit = sub.add_parser(
        "audit", help="lineage audit: what produced the deployed Bento, or what a raw document affects"
    )
    audit.add_argument(
        "--document", metavar="DOC_ID", help="a raw_documents document_id or path (source-relative): its reach"
    )
    audit.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    audit.add_argument("--out", metavar="DIR", help="also write <timestamp>_<subject>.md and .json into DIR")
    audit.add_argument("--config", help="settings file (default: $AIINFRA_CONFIG or ./aiinfra.yaml)")
    audit.set_defaults(func=_audit)
    erase = sub.add_parser(
        "forget",
        help="erase logged requests (right to erasure) from the raw and compacted inference logs, vacuum, record it",
    )
    erase.add_argument("--request-id", action="append", metavar="ID", help="a request id (X-Request-Id); repeatable")
    erase.add_argument("--matching", metavar="TEXT", help="every request whose query, answer or error contains TEXT")
    erase.add_argument("--config", help="settings file (default: $AIINFRA_CONFIG or ./aiinfra.yaml)")
    erase.set_defaults(func=_forget)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
