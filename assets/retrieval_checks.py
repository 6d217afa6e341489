"""Checks of the vector index; they read the live index and the latest materialization, so they re-run alone."""

import dagster as dg

from aiinfra_dagster.assets.keys import GOLDEN_QA_KEY, VECTOR_INDEX_KEY
from aiinfra_dagster.materializations import latest_metadata
from aiinfra_dagster.readiness import golden_readiness
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.retrieval.hits import IndexNotFoundError
from aiinfra_dagster.retrieval.index import open_index


def _latest_metadata(context: dg.AssetCheckExecutionContext) -> dict:
    return latest_metadata(context.instance, VECTOR_INDEX_KEY) or {}


@dg.asset_check(
    asset=VECTOR_INDEX_KEY,
    blocking=True,
    description="The serving alias names the version the last run verified, and it holds the expected points.",
)
def vector_index_alias_current(
    context: dg.AssetCheckExecutionContext, aiinfra: SettingsResource
) -> dg.AssetCheckResult:
    meta = _latest_metadata(context)
    expected_version, expected_points = meta.get("index_version"), meta.get("points")
    try:
        with open_index(aiinfra.value.qdrant) as index:
            version, points = index.version, index.count()
    except IndexNotFoundError as exc:
        return dg.AssetCheckResult(passed=False, metadata={"error": str(exc)})
    return dg.AssetCheckResult(
        passed=version == expected_version and points == expected_points,
        metadata={
            "alias_version": version,
            "verified_version": str(expected_version),
            "points": points,
            "expected_points": expected_points if expected_points is not None else -1,
        },
    )


@dg.asset_check(
    asset=VECTOR_INDEX_KEY,
    description="Golden-set recall@10 of the served index is at least qdrant.warn_recall_at_10 (warns).",
)
def vector_index_recall(context: dg.AssetCheckExecutionContext, aiinfra: SettingsResource) -> dg.AssetCheckResult:
    meta = _latest_metadata(context)
    threshold = aiinfra.value.qdrant.warn_recall_at_10
    recall, questions = meta.get("recall_at_10"), meta.get("questions_evaluated", 0)
    return dg.AssetCheckResult(
        passed=recall is not None and questions > 0 and recall >= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "recall_at_10": recall if recall is not None else -1.0,
            "threshold": threshold,
            "questions_evaluated": questions,
            "mrr": meta.get("mrr", -1.0),
            "note": "no golden question has a relevant chunk in this index (is the golden set's corpus indexed?)"
            if not questions
            else f"recall@10 {recall} vs warn_recall_at_10 {threshold}",
        },
    )


@dg.asset_check(
    asset=VECTOR_INDEX_KEY,
    blocking=True,
    additional_deps=[GOLDEN_QA_KEY],
    description=(
        "At least one golden answer occurs in the indexed chunks, so retrieval and the evaluation gate measure this "
        "corpus (blocks: a golden set about other documents would gate models on nothing)."
    ),
)
def golden_answers_in_index(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    meta = _latest_metadata(context)
    found, left_out = int(meta.get("questions_evaluated", 0)), int(meta.get("questions_left_out", 0))
    verdict = golden_readiness(found + left_out, found)
    return dg.AssetCheckResult(
        passed=verdict.usable,
        description=verdict.message(),
        metadata={"golden_pairs": found + left_out, "found_in_index": found, "reason": verdict.message()},
    )
