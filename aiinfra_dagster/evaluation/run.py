"""The evaluation stage's entries: one eval_report end to end (sample, ground, answer reusing stored rows, compare,
gate, render, record), and the champion pointer's change behind the gate (promote or roll back)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from deltalake.exceptions import CommitFailedError

from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS, GOLDEN_QA
from aiinfra_dagster.evaluation.champion import PromotionRefused, as_frame, promote, rollback
from aiinfra_dagster.evaluation.classifier import evaluate_classifier
from aiinfra_dagster.evaluation.grounding import retrieve_grounding
from aiinfra_dagster.evaluation.pipeline import (
    EvalModel,
    Grounding,
    evaluate,
    sample_questions,
)
from aiinfra_dagster.evaluation.report import (
    confusion_png,
    metrics_chart_png,
    to_html,
    to_markdown,
)
from aiinfra_dagster.evaluation.summary import EvalVerdict, build_summary, report_id
from aiinfra_dagster.evaluation.tables import CHAMPION_HISTORY, EVAL_HISTORY, EVAL_REPORTS
from aiinfra_dagster.labels.tables import CHUNK_LABELS
from aiinfra_dagster.lakehouse import DeltaStore, WriteResult
from aiinfra_dagster.models.embedding import TextEncoder
from aiinfra_dagster.settings import Settings
from aiinfra_dagster.settings.locations import location
from aiinfra_dagster.training.classifier_data import classifier_examples


@dataclass(frozen=True)
class EvalOutcome:
    """One produced report: its JSON summary (persisted and rendered), the typed verdict, and what was written."""

    summary: dict[str, Any]
    verdict: EvalVerdict
    markdown: str
    html_path: Path
    history_write: WriteResult
    report_write: WriteResult
    computed_rows: int
    reused_rows: int
    grounded: bool


def produce_report(
    settings: Settings,
    store: DeltaStore,
    models: Sequence[EvalModel],
    encoder: TextEncoder,
    *,
    classifier_dir: Path | None,
    inputs: Mapping[str, Any],
    dagster_run_id: str,
    log: Callable[[str], Any] = print,
) -> EvalOutcome:
    params = settings.evaluation
    system_prompt = settings.training_set.system_prompt
    golden = sample_questions(store.read(GOLDEN_QA), params.max_questions, params.sample_seed)
    if golden.height == 0:
        raise ValueError("golden_qa is empty: there is nothing to evaluate on (see golden.kind / golden.paths)")

    groundings: dict[str, Grounding | None] = {}
    for mode in params.modes:
        if mode == "closed_book":
            groundings[mode] = None
            continue
        grounding = retrieve_grounding(settings.qdrant, golden, encoder.encode, params.top_k)
        if grounding is None:
            log("grounded mode skipped: the vector index alias names no index yet")
        else:
            groundings[mode] = grounding
    if not groundings:
        raise ValueError(
            "no evaluation mode can run: grounded needs a vector index and closed_book is not in evaluation.modes"
        )

    history = store.read(EVAL_HISTORY)
    rows, new_rows = evaluate(
        models,
        golden,
        groundings,
        history,
        params=params,
        system_prompt=system_prompt,
        encode=encoder.encode,
        embedding_id=encoder.model_id,
        dagster_run_id=dagster_run_id,
        log=log,
    )
    history_write = store.merge(EVAL_HISTORY, new_rows)

    modes = list(groundings)
    summary = build_summary(rows, models, modes, params=params, promotion=settings.promotion)
    rid = report_id(models, golden["qa_id"].to_list(), rows["config_digest"].unique().to_list())
    grounding_inputs = {f"index_version_{m}": g.index_version for m, g in groundings.items() if g}
    summary.update(report_id=rid, inputs={**inputs, **grounding_inputs})

    confusion = None
    if classifier_dir is not None:
        held_out = classifier_examples(store.read(CHUNK_LABELS), store.read(DOCUMENT_CHUNKS), settings.classifier).eval
        if held_out.height:
            scored = evaluate_classifier(
                classifier_dir, held_out, resamples=params.bootstrap_resamples, confidence=params.confidence
            )
            summary["classifier"] = {
                "rows": scored.rows,
                "classes": scored.classes,
                "confusion": scored.confusion.tolist(),
                "accuracy": asdict(scored.accuracy),
                "macro_f1": scored.macro_f1,
                "label_model_accuracy": scored.label_model_accuracy,
                "label_model_macro_f1": scored.label_model_macro_f1,
            }
            confusion = confusion_png(scored.classes, scored.confusion.tolist())

    verdict = EvalVerdict.from_summary(summary)
    chart = metrics_chart_png(summary)
    html_path = location(params.reports_dir, "evaluation.reports_dir") / "eval_report" / f"{rid}.html"
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(to_html(summary, chart, confusion), encoding="utf-8")
    report_write = store.sync(
        EVAL_REPORTS,
        _report_row(summary, verdict, models, golden, html_path, dagster_run_id),
        delete_missing=False,
        compare=[c for c in EVAL_REPORTS.columns if c not in {"report_id", "created_at", "dagster_run_id"}],
    )
    return EvalOutcome(
        summary,
        verdict,
        to_markdown(summary, chart),
        html_path,
        history_write,
        report_write,
        new_rows.height,
        rows.height - new_rows.height,
        "grounded" in groundings,
    )


def _report_row(
    summary: Mapping[str, Any],
    verdict: EvalVerdict,
    models: Sequence[EvalModel],
    golden: pl.DataFrame,
    html_path: Path,
    run_id: str,
) -> pl.DataFrame:
    by_role = {m.role: m for m in models}
    delta = verdict.headline_delta
    row = {
        "report_id": verdict.report_id,
        "created_at": datetime.now(UTC),
        "dagster_run_id": run_id,
        "candidate_version": by_role["candidate"].version,
        "candidate_path": str(by_role["candidate"].path),
        "incumbent_role": verdict.incumbent_role,
        "incumbent_version": verdict.incumbent_version,
        "base_version": by_role["base"].version,
        "champion_version": by_role["champion"].version if "champion" in by_role else None,
        "headline_metric": verdict.headline_metric,
        "headline_mode": verdict.headline_mode,
        "headline_delta": delta.mean,
        "headline_delta_low": delta.low,
        "headline_delta_high": delta.high,
        "gate_passed": verdict.gate.passed,
        "gate_reason": verdict.gate.reason,
        "slices_passed": verdict.slices_gate.passed,
        "slices_reason": verdict.slices_gate.reason,
        "questions": golden.height,
        "qa_ids": golden["qa_id"].to_list(),
        "inputs": json.dumps(summary["inputs"], sort_keys=True, default=str),
        "summary": json.dumps(summary, sort_keys=True, default=str),
        "html_path": str(html_path),
    }
    return EVAL_REPORTS.conform([row])


def read_report(store: DeltaStore, rid: str) -> dict[str, Any]:
    found = store.read(EVAL_REPORTS).filter(pl.col("report_id") == rid)
    if not found.height:
        raise LookupError(f"eval report {rid} is not in {EVAL_REPORTS.name}")
    return found.row(0, named=True)


@dataclass(frozen=True)
class ChampionUpdate:
    """The champion after this step, whether it changed, the champion_history write and its latest rows."""

    current: dict[str, Any]
    changed: bool
    write: WriteResult
    recent: pl.DataFrame


CHAMPION_ATTEMPTS = 5


def update_champion(
    store: DeltaStore, *, rollback_to: str, eval_report_id: str | None, dagster_run_id: str, recent: int = 10
) -> ChampionUpdate:
    """Promote the candidate of eval report `eval_report_id` through its gate, or roll back to `rollback_to`.

    Raises PromotionRefused (with the reason) when the gate did not pass or there is nothing to promote.
    """
    for _ in range(CHAMPION_ATTEMPTS):
        history = store.read(CHAMPION_HISTORY)
        if rollback_to:
            change = rollback(history, rollback_to, dagster_run_id=dagster_run_id)
        else:
            if eval_report_id is None:
                raise PromotionRefused("no eval_report has been materialized: nothing has passed the gate")
            change = promote(history, read_report(store, eval_report_id), dagster_run_id=dagster_run_id)
        if change.row is None:
            write = store.no_change(CHAMPION_HISTORY)
            break
        try:
            # Serialised by `sequence`: a concurrent change (a rollback during a promotion) that took this sequence
            # first makes this insert a no-op, and the change is decided again against the new history.
            write = store.insert_new(CHAMPION_HISTORY, as_frame(change.row), on=["sequence"])
        except CommitFailedError:
            continue
        if write.inserted:
            break
    else:
        raise PromotionRefused(f"champion_history kept changing under {CHAMPION_ATTEMPTS} attempts; run again")
    latest = (
        (pl.concat([history, as_frame(change.row)]) if change.row else history)
        .sort("sequence", descending=True)
        .head(recent)
    )
    return ChampionUpdate(change.current, change.row is not None, write, latest)
