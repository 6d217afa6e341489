"""Checks of the synthetic set and the training set."""

from typing import Any, cast

import dagster as dg
import polars as pl

from aiinfra_dagster.assets.keys import GOLDEN_QA_KEY, SYNTHETIC_QA_KEY, TRAINING_SET_KEY
from aiinfra_dagster.data.tables import GOLDEN_QA
from aiinfra_dagster.readiness import training_set_readiness
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.synthetic.filters import decontaminate
from aiinfra_dagster.synthetic.generate import make_candidate
from aiinfra_dagster.synthetic.tables import SYNTHETIC_QA, TRAINING_SET


@dg.asset_check(
    asset=SYNTHETIC_QA_KEY,
    description="Every candidate is kept or dropped with a reason; kept pairs have a question and an answer.",
)
def synthetic_qa_accounted_for(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    table = lakehouse.store.read(SYNTHETIC_QA)
    kept = table.filter(pl.col("kept"))
    unexplained = table.filter(~pl.col("kept") & pl.col("drop_reason").is_null()).height
    empty = kept.filter(
        (pl.col("question").str.strip_chars() == "") | (pl.col("answer").str.strip_chars() == "")
    ).height
    return dg.AssetCheckResult(
        passed=unexplained == 0 and empty == 0 and kept.height > 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "candidates": table.height,
            "kept": kept.height,
            "dropped_without_reason": unexplained,
            "kept_but_empty": empty,
        },
    )


@dg.asset_check(
    asset=TRAINING_SET_KEY,
    blocking=True,
    additional_deps=[GOLDEN_QA_KEY],
    description="No training example is a copy, an 8-gram overlap or a close paraphrase of a golden evaluation pair.",
)
def training_set_decontaminated(
    lakehouse: LakehouseResource, aiinfra: SettingsResource, embedding_model: EmbeddingModelResource
) -> dg.AssetCheckResult:
    store = lakehouse.store
    examples = store.read(TRAINING_SET)
    golden = list(store.read(GOLDEN_QA).select("question", "answer").iter_rows())
    candidates = [
        make_candidate(s, e, q, a)
        for s, e, q, a in examples.select("source", "example_id", "question", "answer").iter_rows()
    ]
    encoder = embedding_model.encoder()
    leaks = decontaminate(
        candidates,
        encoder.encode([c.question for c in candidates]),
        golden,
        encoder.encode([q for q, _ in golden]),
        aiinfra.value.synthetic.decontamination_threshold,
    )
    return dg.AssetCheckResult(
        passed=not leaks,
        metadata={
            "examples": examples.height,
            "golden_pairs": len(golden),
            "contaminated": len(leaks),
            "examples_by_reason": dg.MetadataValue.json(sorted(set(leaks.values()))),
        },
    )


@dg.asset_check(
    asset=TRAINING_SET_KEY,
    blocking=True,
    additional_deps=[SYNTHETIC_QA_KEY],
    description=(
        "The training set has at least one train example; if not, the run stops here with what the synthetic "
        "filters dropped and the settings to change (the served champion stays)."
    ),
)
def training_set_has_examples(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    store = lakehouse.store
    verdict = training_set_readiness(store.read(TRAINING_SET), store.read(SYNTHETIC_QA))
    return dg.AssetCheckResult(
        passed=verdict.usable,
        description=verdict.message(),
        metadata={
            "reason": verdict.message(),
            **{k: dg.MetadataValue.json(cast(Any, v)) for k, v in verdict.details.items()},
        },
    )
