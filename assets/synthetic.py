"""Synthetic Q/A pairs generated from chunks, filtered, and the supervised fine-tuning set built from them."""

import dagster as dg

from aiinfra_dagster.assets.common import DELTA, OWNERS, POLARS, PYTORCH, markdown_table
from aiinfra_dagster.assets.keys import (
    CHUNK_EMBEDDINGS_KEY,
    DOCUMENT_CHUNKS_KEY,
    GOLDEN_QA_KEY,
    SYNTHETIC_QA_KEY,
    TRAINING_SET_KEY,
    VALIDATED_DOCUMENTS_KEY,
)
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.synthetic.render import synthetic_qa_metadata
from aiinfra_dagster.synthetic.run import build_training_set, generate_synthetic_qa
from aiinfra_dagster.synthetic.tables import SYNTHETIC_QA, TRAINING_SET

GROUP = "synthetic"


class SyntheticQAConfig(dg.Config):
    """Set by the retraining sensor from the drift report that triggered the run."""

    focus_chunk_ids: list[str] = []
    """chunks the drifted traffic retrieved most: added to the sample now and in every later run"""
    drift_report_id: str = ""


@dg.asset(
    key=SYNTHETIC_QA_KEY,
    group_name=GROUP,
    deps=[DOCUMENT_CHUNKS_KEY, CHUNK_EMBEDDINGS_KEY, GOLDEN_QA_KEY, VALIDATED_DOCUMENTS_KEY],
    kinds={DELTA, PYTORCH},
    owners=OWNERS,
    description=(
        "Question/answer pairs generated from a stable sample of chunks by the base LLM (or templates in the "
        "quick profile), each kept or dropped by filters: format, PII, decontamination against golden_qa "
        "(which is read only to exclude it), round-trip retrieval of the source chunk, near duplicates. "
        "Generations are reused while the generator and its settings are unchanged. A retraining run started by "
        "drift adds the chunks the drifted traffic retrieved (table synthetic_focus), so the model learns what users "
        "now ask about."
    ),
)
def synthetic_qa(
    context: dg.AssetExecutionContext,
    config: SyntheticQAConfig,
    lakehouse: LakehouseResource,
    aiinfra: SettingsResource,
    embedding_model: EmbeddingModelResource,
) -> dg.MaterializeResult:
    generated = generate_synthetic_qa(
        aiinfra.value,
        lakehouse.store,
        embedding_model.encoder,
        focus_chunk_ids=config.focus_chunk_ids,
        drift_report_id=config.drift_report_id,
        dagster_run_id=context.run.run_id,
        log=context.log.info,
    )
    return dg.MaterializeResult(
        metadata=lakehouse.table_metadata(
            SYNTHETIC_QA, generated.write, **synthetic_qa_metadata(generated, config.drift_report_id)
        )
    )


@dg.asset(
    key=TRAINING_SET_KEY,
    group_name=GROUP,
    deps=[synthetic_qa, DOCUMENT_CHUNKS_KEY],
    kinds={DELTA, POLARS},
    owners=OWNERS,
    description=(
        "Chat-formatted supervised fine-tuning examples (retrieved context + question -> answer) from the kept "
        "synthetic pairs plus human-written pairs from settings, split train/validation by a hash of the example "
        "id. Every row records the Delta versions it was built from, so retraining is reproducible."
    ),
)
def training_set(lakehouse: LakehouseResource, aiinfra: SettingsResource) -> dg.MaterializeResult:
    settings = aiinfra.value
    built = build_training_set(settings, lakehouse.store)
    frame, examples = built.frame, built.examples
    return dg.MaterializeResult(
        metadata=lakehouse.table_metadata(
            TRAINING_SET,
            built.write,
            input_synthetic_qa_version=built.synthetic_qa_version,
            input_document_chunks_version=built.document_chunks_version,
            human_pair_files=dg.MetadataValue.json([str(p) for p in settings.training_set.human_pairs_paths]),
            composition=dg.MetadataValue.md(
                markdown_table(
                    ["source", "split", "examples"],
                    frame.group_by("source", "split").len().sort("source", "split").rows(),
                )
            ),
            sample=dg.MetadataValue.md(
                markdown_table(
                    ["split", "question", "answer (start)"],
                    [[e.split, e.question, e.answer[:100]] for e in examples[:5]],
                )
            ),
        )
    )
