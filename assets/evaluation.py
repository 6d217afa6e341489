"""Evaluation: the eval report comparing base, candidate and champion, and the champion pointer behind the gate.

`eval_report` is built by `evaluation_assets(settings)` because LLM inference is a
GPU-heavy step (k8s tag and pool from the settings), like training.
"""

from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from aiinfra_dagster.assets.common import DELTA, HTML, OWNERS, PYTORCH, markdown_table
from aiinfra_dagster.assets.keys import (
    BASE_MODEL_KEY,
    CHAMPION_MODEL_KEY,
    CHUNK_LABELS_KEY,
    DOCUMENT_CHUNKS_KEY,
    EVAL_REPORT_KEY,
    GOLDEN_QA_KEY,
    LORA_CHECKPOINT_KEY,
    TOPIC_CLASSIFIER_KEY,
    VECTOR_INDEX_KEY,
)
from aiinfra_dagster.data.tables import GOLDEN_QA
from aiinfra_dagster.evaluation.champion import (
    PromotionRefused,
    current,
)
from aiinfra_dagster.evaluation.pipeline import EvalModel
from aiinfra_dagster.evaluation.render import champion_metadata
from aiinfra_dagster.evaluation.run import EvalOutcome, produce_report, update_champion
from aiinfra_dagster.evaluation.summary import EvalVerdict
from aiinfra_dagster.evaluation.tables import CHAMPION_HISTORY
from aiinfra_dagster.k8s.placement import gpu_step
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.materializations import latest_metadata, require_latest_metadata
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.settings import PromotionSettings, Settings

GROUP = "evaluation"
GATE_CHECK = "candidate_beats_incumbent"
SLICE_CHECK = "no_slice_regression"


def _candidate(instance: dg.DagsterInstance) -> tuple[EvalModel, dict]:
    meta = require_latest_metadata(instance, LORA_CHECKPOINT_KEY, needed_by="eval_report")
    merged = str(meta.get("merged_model_path") or "")
    if not merged or not Path(merged).is_dir():
        raise dg.Failure(
            f"lora_checkpoint {meta['model_version']} has no merged model to evaluate (set training.merge: true)"
        )
    return EvalModel("candidate", str(meta["model_version"]), Path(merged)), meta


def _champion(store: DeltaStore) -> EvalModel | None:
    row = current(store.read(CHAMPION_HISTORY))
    return EvalModel("champion", row["model_version"], Path(row["model_path"])) if row else None


def _models_to_evaluate(
    instance: dg.DagsterInstance, store: DeltaStore
) -> tuple[list[EvalModel], dict[str, Any], Path | None]:
    """Base, candidate and (when there is one) champion, the input versions the report records, the classifier."""
    candidate, lora_meta = _candidate(instance)
    base = require_latest_metadata(instance, BASE_MODEL_KEY, needed_by="eval_report")
    # The materialized store entry: re-resolving the base here would hash ~600 MB of weights again.
    models = [EvalModel("base", f"base-{base['source_sha256'][:12]}", Path(base["model_path"])), candidate]
    champion = _champion(store)
    if champion is not None:
        models.append(champion)
    classifier_meta = latest_metadata(instance, TOPIC_CLASSIFIER_KEY)
    inputs = {
        "golden_qa_version": store.version(GOLDEN_QA.name),
        "training_set_version": lora_meta.get("input_training_set_version"),
        "base_model_sha256": base["source_sha256"],
        "topic_classifier_version": classifier_meta.get("model_version") if classifier_meta else None,
    }
    return models, inputs, Path(classifier_meta["model_path"]) if classifier_meta else None


def _report_metadata(outcome: EvalOutcome, models: list[EvalModel]) -> dict[str, Any]:
    verdict = outcome.verdict
    by_role = {m.role: m for m in models}
    champion = by_role.get("champion")
    classifier = verdict.classifier
    return {
        "report_id": verdict.report_id,
        "report": dg.MetadataValue.md(outcome.markdown),
        "html_report": dg.MetadataValue.path(str(outcome.html_path)),
        "candidate_version": by_role["candidate"].version,
        "incumbent": verdict.incumbent,
        "champion_version": champion.version if champion else "none yet",
        "headline": verdict.headline,
        "headline_improvement": verdict.headline_delta.mean,
        "headline_improvement_ci_low": verdict.headline_delta.low,
        "headline_improvement_ci_high": verdict.headline_delta.high,
        "gate_passed": verdict.passed,
        "questions": verdict.questions,
        "grounded": outcome.grounded,
        "answers_computed": outcome.computed_rows,
        "answers_reused": outcome.reused_rows,
        "eval_history_version": outcome.history_write.version,
        "eval_reports_version": outcome.report_write.version,
        **(
            {
                "classifier_accuracy": classifier.accuracy,
                "classifier_macro_f1": classifier.macro_f1,
                "label_model_accuracy": classifier.label_model_accuracy,
            }
            if classifier
            else {}
        ),
        **{f"input_{k}": v for k, v in verdict.inputs.items() if v is not None},
    }


def _gate_results(verdict: EvalVerdict, promotion: PromotionSettings) -> list[dg.AssetCheckResult]:
    """The two blocking checks eval_report yields itself: the promotion gate decided while the report was made."""
    delta = verdict.headline_delta
    return [
        dg.AssetCheckResult(
            check_name=GATE_CHECK,
            passed=verdict.gate.passed,
            description=verdict.gate.reason,
            metadata={
                "reason": verdict.gate.reason,
                "improvement": delta.mean,
                "ci_low": delta.low,
                "ci_high": delta.high,
                "margin": promotion.min_improvement,
                "criterion": promotion.criterion,
                "incumbent": verdict.incumbent,
            },
        ),
        dg.AssetCheckResult(
            check_name=SLICE_CHECK,
            passed=verdict.slices_gate.passed,
            description=verdict.slices_gate.reason,
            metadata={
                "reason": verdict.slices_gate.reason,
                "tolerance": promotion.slice_tolerance,
                "slices": dg.MetadataValue.md(
                    markdown_table(
                        ["slice", "questions", "improvement", "gated"],
                        [[s.slice, s.questions, f"{s.delta:+.3f}", s.gated] for s in verdict.slices],
                    )
                ),
            },
        ),
    ]


def evaluation_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """eval_report, placed by the settings (LLM inference: k8s tag, gpu pool)."""

    @dg.asset(
        key=EVAL_REPORT_KEY,
        group_name=GROUP,
        deps=[
            LORA_CHECKPOINT_KEY,
            BASE_MODEL_KEY,
            GOLDEN_QA_KEY,
            TOPIC_CLASSIFIER_KEY,
            CHUNK_LABELS_KEY,
            DOCUMENT_CHUNKS_KEY,
            VECTOR_INDEX_KEY,
        ],
        kinds={PYTORCH, DELTA, HTML},
        owners=OWNERS,
        description=(
            "The candidate checkpoint, the base model and the current champion answer the human-written golden_qa "
            "questions (never trained on), closed-book and grounded in chunks from the vector index: ROUGE-L, token "
            "F1, embedding similarity and reference perplexity with bootstrap confidence intervals, per-question rows "
            "in eval_history, the topic classifier against the reference labels, and an HTML report. Its blocking "
            "checks are the promotion gate champion_model passes through."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                GATE_CHECK,
                asset=EVAL_REPORT_KEY,
                blocking=True,
                description=(
                    "The candidate beats the incumbent (champion, else base) on the headline metric by "
                    "promotion.min_improvement, CI-aware."
                ),
            ),
            dg.AssetCheckSpec(
                SLICE_CHECK,
                asset=EVAL_REPORT_KEY,
                blocking=True,
                description="No golden-set slice (source page) regresses beyond promotion.slice_tolerance.",
            ),
        ],
        **gpu_step(k8s=settings.k8s, dagster=settings.dagster),
    )
    def eval_report(
        context: dg.AssetExecutionContext,
        lakehouse: LakehouseResource,
        aiinfra: SettingsResource,
        embedding_model: EmbeddingModelResource,
    ) -> dg.MaterializeResult:
        settings = aiinfra.value
        store = lakehouse.store
        models, inputs, classifier_dir = _models_to_evaluate(context.instance, store)
        outcome = produce_report(
            settings,
            store,
            models,
            embedding_model.encoder(),
            classifier_dir=classifier_dir,
            inputs=inputs,
            dagster_run_id=context.run_id,
            log=context.log.info,
        )
        verdict = outcome.verdict
        context.log.info(
            f"eval report {verdict.report_id}: gate {verdict.gate.reason}; slices {verdict.slices_gate.reason}"
        )
        return dg.MaterializeResult(
            data_version=dg.DataVersion(verdict.report_id),
            metadata=_report_metadata(outcome, models),
            check_results=_gate_results(verdict, settings.promotion),
        )

    return [eval_report]


class ChampionConfig(dg.Config):
    rollback_to: str = Field(
        default="",
        description=(
            "Empty: promote the latest eval report's candidate through the gate. "
            "'previous' or a model version: roll back."
        ),
    )


@dg.asset(
    key=CHAMPION_MODEL_KEY,
    group_name=GROUP,
    deps=[EVAL_REPORT_KEY],
    kinds={DELTA},
    owners=OWNERS,
    description=(
        "The champion pointer (champion_history): the model the deployment serves. Changes only when the latest "
        "eval report's gate passed for its candidate, or by an explicit rollback (`aiinfra champion rollback`); "
        "every change is a row naming the checkpoint, the eval report and the data versions."
    ),
)
def champion_model(
    context: dg.AssetExecutionContext, config: ChampionConfig, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    meta = latest_metadata(context.instance, EVAL_REPORT_KEY)  # None is refused below unless rolling back
    try:
        update = update_champion(
            lakehouse.store,
            rollback_to=config.rollback_to,
            eval_report_id=str(meta["report_id"]) if meta is not None else None,
            dagster_run_id=context.run_id,
        )
    except PromotionRefused as err:
        raise dg.Failure(str(err)) from err
    champion = update.current
    context.log.info(
        f"champion: {champion['model_version']} ({'changed: ' + champion['action'] if update.changed else 'unchanged'})"
    )
    return dg.MaterializeResult(
        data_version=dg.DataVersion(f"{champion['model_version']}-{champion['sequence']}"),
        metadata=champion_metadata(update),
    )
