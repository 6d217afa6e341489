"""Synthetic Q/A pairs generated from chunks, filtered, and the supervised fine-tuning set built from them."""

import json
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from aiinfra_dagster import python_docs
from aiinfra_dagster.assets.common import OWNERS, markdown_table
from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS, GOLDEN_QA, VALIDATED_DOCUMENTS
from aiinfra_dagster.features.embeddings import embedding_matrix
from aiinfra_dagster.features.tables import CHUNK_EMBEDDINGS
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.synthetic.filters import run_filters
from aiinfra_dagster.synthetic.generate import QACandidate
from aiinfra_dagster.synthetic.pipeline import chunk_inputs, filter_params, make_generator, synthetic_rows
from aiinfra_dagster.synthetic.sampling import (
    generation_version,
    select_chunks,
    with_focus,
)
from aiinfra_dagster.synthetic.tables import SYNTHETIC_FOCUS, SYNTHETIC_QA, TRAINING_SET
from aiinfra_dagster.synthetic.training import build_examples, load_human_pairs

GROUP = "synthetic"


class SyntheticQAConfig(dg.Config):
    """Set by the retraining sensor from the drift report that triggered the run."""

    focus_chunk_ids: list[str] = []
    """chunks the drifted traffic retrieved most: added to the sample now and in every later run"""
    drift_report_id: str = ""


@dg.asset(
    group_name=GROUP,
    deps=["document_chunks", "chunk_embeddings", "golden_qa", "validated_documents"],
    kinds={"delta", "pytorch"},
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
    settings = aiinfra.value
    params = settings.synthetic
    store = lakehouse.store
    inputs = {t.name: store.version(t.name) for t in (DOCUMENT_CHUNKS, CHUNK_EMBEDDINGS, GOLDEN_QA)}
    chunks = store.read(DOCUMENT_CHUNKS)
    focus = _record_focus(lakehouse, config, context.run.run_id)
    stable = select_chunks(chunks, params.max_chunks, params.seed)
    sample = with_focus(stable, chunks, focus)
    generator = make_generator(settings)
    version = generation_version(generator.name, params)

    previous = store.read(SYNTHETIC_QA).filter(
        (pl.col("generation_version") == version) & pl.col("chunk_id").is_in(sample["chunk_id"].implode())
    )
    reused = [
        QACandidate(r["candidate_id"], r["chunk_id"], r["question"], r["answer"], r["generator"])
        for r in previous.iter_rows(named=True)
    ]
    todo = sample.join(previous.select("chunk_id").unique(), on="chunk_id", how="anti")
    context.log.info(f"{generator.name}: generating for {todo.height} chunks, reusing {len(reused)} candidates")
    titles = dict(store.read(VALIDATED_DOCUMENTS, columns=["document_id", "title"]).iter_rows())
    fresh = generator.generate(chunk_inputs(todo, titles, set(python_docs.pack_sources(settings.sources))))

    embeddings = store.read(CHUNK_EMBEDDINGS)
    golden = store.read(GOLDEN_QA)
    kept, dropped, report = run_filters(
        reused + fresh,
        encoder=embedding_model.encoder(),
        chunk_ids=embeddings["chunk_id"].to_list(),
        chunk_embeddings=embedding_matrix(embeddings),
        golden_pairs=list(golden.select("question", "answer").iter_rows()),
        params=filter_params(settings),
    )
    table = synthetic_rows(kept, dropped, version)
    result = store.sync(SYNTHETIC_QA, table)
    return dg.MaterializeResult(
        metadata=lakehouse.table_metadata(
            SYNTHETIC_QA,
            result,
            **{f"input_{name}_version": v for name, v in inputs.items()},
            generator=generator.name,
            generation_version=version,
            chunks_sampled=sample.height,
            focus_chunks_added=sample.height - stable.height,
            focus_chunks_total=len(focus),
            drift_report_id=config.drift_report_id or "none (not started by drift)",
            generated=report.generated,
            newly_generated=len(fresh),
            reused=len(reused),
            kept=report.kept,
            dropped=dg.MetadataValue.md(
                markdown_table(["filter", "dropped"], sorted(report.dropped_by_filter().items()))
            ),
            dropped_by_reason=dg.MetadataValue.md(
                markdown_table(["reason", "dropped"], sorted(report.dropped.items()))
            ),
            sample_kept=dg.MetadataValue.md(
                markdown_table(["question", "answer (start)"], [[c.question, c.answer[:140]] for c in kept[:8]])
            ),
        )
    )


def _record_focus(lakehouse: LakehouseResource, config: SyntheticQAConfig, run_id: str) -> list[str]:
    """Merge this run's focus chunks into synthetic_focus (first drift report wins) and return every focus chunk."""
    store = lakehouse.store
    known = set(store.read(SYNTHETIC_FOCUS, columns=["chunk_id"])["chunk_id"].to_list())
    new = [c for c in dict.fromkeys(config.focus_chunk_ids) if c not in known]
    if new:
        now = datetime.now(UTC)
        store.merge(
            SYNTHETIC_FOCUS,
            SYNTHETIC_FOCUS.conform(
                [
                    {
                        "chunk_id": c,
                        "drift_report_id": config.drift_report_id or "manual",
                        "added_at": now,
                        "dagster_run_id": run_id,
                    }
                    for c in new
                ]
            ),
        )
    return sorted(known | set(new))


@dg.asset(
    group_name=GROUP,
    deps=[synthetic_qa, "document_chunks"],
    kinds={"delta", "polars"},
    owners=OWNERS,
    description=(
        "Chat-formatted supervised fine-tuning examples (retrieved context + question -> answer) from the kept "
        "synthetic pairs plus human-written pairs from settings, split train/validation by a hash of the example "
        "id. Every row records the Delta versions it was built from, so retraining is reproducible."
    ),
)
def training_set(lakehouse: LakehouseResource, aiinfra: SettingsResource) -> dg.MaterializeResult:
    settings = aiinfra.value
    store = lakehouse.store
    synthetic_version = store.version(SYNTHETIC_QA.name)
    chunks_version = store.version(DOCUMENT_CHUNKS.name)
    kept = [
        QACandidate(r["candidate_id"], r["chunk_id"], r["question"], r["answer"], r["generator"])
        for r in store.read(SYNTHETIC_QA).filter(pl.col("kept")).sort("candidate_id").iter_rows(named=True)
    ]
    chunk_text = dict(store.read(DOCUMENT_CHUNKS).select("chunk_id", "text").iter_rows())
    human = [pair for path in settings.training_set.human_pairs_paths for pair in load_human_pairs(path)]
    examples = build_examples(
        kept, chunk_text, human, settings.training_set.system_prompt, settings.training_set.validation_fraction
    )
    frame = TRAINING_SET.conform(
        [
            {
                "example_id": e.example_id,
                "source": e.source,
                "chunk_id": e.chunk_id,
                "question": e.question,
                "answer": e.answer,
                "context": e.context,
                "messages": json.dumps(e.messages, ensure_ascii=False),
                "split": e.split,
                "synthetic_qa_version": synthetic_version or 0,
                "document_chunks_version": chunks_version or 0,
            }
            for e in examples
        ]
    )
    result = store.sync(TRAINING_SET, frame, compare=["source", "chunk_id", "context", "messages", "split"])
    return dg.MaterializeResult(
        metadata=lakehouse.table_metadata(
            TRAINING_SET,
            result,
            input_synthetic_qa_version=synthetic_version,
            input_document_chunks_version=chunks_version,
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
