"""Checks of the evaluation stage that read what was persisted, so they can be re-run alone from the UI."""

import json
from pathlib import Path

import dagster as dg
import polars as pl

from aiinfra_dagster.assets.keys import CHAMPION_MODEL_KEY, EVAL_REPORT_KEY
from aiinfra_dagster.evaluation.tables import (
    CHAMPION_HISTORY,
    EVAL_HISTORY,
    EVAL_REPORTS,
)
from aiinfra_dagster.materializations import latest_metadata
from aiinfra_dagster.resources.lakehouse import LakehouseResource


@dg.asset_check(
    asset=EVAL_REPORT_KEY,
    description="Every evaluated model answered every sampled question in every mode, with finite scores.",
)
def eval_report_rows_complete(
    context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
) -> dg.AssetCheckResult:
    meta = latest_metadata(context.instance, EVAL_REPORT_KEY)
    if meta is None:
        return dg.AssetCheckResult(passed=False, metadata={"reason": "eval_report has no materialization"})
    store = lakehouse.store
    report = store.read(EVAL_REPORTS).filter(pl.col("report_id") == meta["report_id"]).row(0, named=True)
    summary = json.loads(report["summary"])
    rows = store.read(EVAL_HISTORY).filter(
        pl.col("model_version").is_in(list(summary["versions"].values())) & pl.col("qa_id").is_in(report["qa_ids"])
    )
    missing = []
    for role, version in summary["versions"].items():
        for mode in summary["modes"]:
            have = rows.filter((pl.col("model_version") == version) & (pl.col("mode") == mode))["qa_id"].n_unique()
            if have < len(report["qa_ids"]):
                missing.append(f"{role}/{mode}: {have} of {len(report['qa_ids'])}")
    scores = rows.select("rouge_l", "token_f1", "embedding_similarity", "reference_nll")
    non_finite = int(sum(scores[c].is_nan().sum() + scores[c].is_infinite().sum() for c in scores.columns))
    return dg.AssetCheckResult(
        passed=not missing and non_finite == 0,
        metadata={"missing": ", ".join(missing) or "none", "non_finite_scores": non_finite, "rows": rows.height},
    )


@dg.asset_check(
    asset=CHAMPION_MODEL_KEY,
    blocking=True,
    description="The champion's model directory exists with weights, config and tokenizer (what the deployment loads).",
)
def champion_model_files_present(
    context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
) -> dg.AssetCheckResult:
    history = lakehouse.store.read(CHAMPION_HISTORY).sort("sequence")
    path = Path(history.row(-1, named=True)["model_path"])
    present = {p.name for p in path.iterdir()} if path.is_dir() else set()
    needed = {"config.json", "tokenizer_config.json"}
    weights = any(n.endswith((".safetensors", ".bin")) for n in present)
    return dg.AssetCheckResult(
        passed=needed <= present and weights,
        metadata={
            "model_path": dg.MetadataValue.path(str(path)),
            "missing": ", ".join(sorted(needed - present)) or ("weights" if not weights else "none"),
        },
    )


@dg.asset_check(
    asset=CHAMPION_MODEL_KEY,
    description="champion_history is a gapless sequence and every promotion names an eval report whose gate passed.",
)
def champion_history_consistent(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    store = lakehouse.store
    history = store.read(CHAMPION_HISTORY).sort("sequence")
    reports = store.read(EVAL_REPORTS)
    passed = {r["report_id"] for r in reports.iter_rows(named=True) if r["gate_passed"] and r["slices_passed"]}
    gapless = history["sequence"].to_list() == list(range(1, history.height + 1))
    unjustified = [
        r["model_version"]
        for r in history.filter(pl.col("action") == "promote").iter_rows(named=True)
        if r["eval_report_id"] not in passed
    ]
    return dg.AssetCheckResult(
        passed=gapless and not unjustified,
        metadata={
            "changes": history.height,
            "gapless": gapless,
            "promotions_without_passing_report": ", ".join(unjustified) or "none",
        },
    )
