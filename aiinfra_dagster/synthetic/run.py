"""The synthetic stage's entries: generate and filter Q/A pairs (synthetic_qa), build the SFT set (training_set).

Each returns a typed outcome the asset turns into metadata.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from aiinfra_dagster import python_docs
from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS, GOLDEN_QA, VALIDATED_DOCUMENTS
from aiinfra_dagster.features.embeddings import embedding_matrix
from aiinfra_dagster.features.tables import CHUNK_EMBEDDINGS
from aiinfra_dagster.lakehouse import DeltaStore, WriteResult
from aiinfra_dagster.settings import Settings
from aiinfra_dagster.synthetic.filters import Encoder, FilterReport, run_filters
from aiinfra_dagster.synthetic.generate import QACandidate
from aiinfra_dagster.synthetic.pipeline import chunk_inputs, filter_params, make_generator, synthetic_rows
from aiinfra_dagster.synthetic.sampling import generation_version, select_chunks, with_focus
from aiinfra_dagster.synthetic.tables import SYNTHETIC_FOCUS, SYNTHETIC_QA, TRAINING_SET
from aiinfra_dagster.synthetic.training import TrainingExample, build_examples, load_human_pairs


@dataclass(frozen=True)
class SyntheticQA:
    """One synthetic_qa run: what was sampled, generated, reused, kept and written."""

    inputs: dict[str, int | None]
    generator: str
    generation_version: str
    chunks_sampled: int
    focus_chunks_added: int
    focus_chunks_total: int
    newly_generated: int
    reused: int
    kept: list[QACandidate]
    report: FilterReport
    write: WriteResult


@dataclass(frozen=True)
class TrainingSet:
    """One training_set run: the examples built, the table rows, the input versions and the write."""

    examples: list[TrainingExample]
    frame: pl.DataFrame
    synthetic_qa_version: int | None
    document_chunks_version: int | None
    write: WriteResult


def generate_synthetic_qa(
    settings: Settings,
    store: DeltaStore,
    encoder: Callable[[], Encoder],
    *,
    focus_chunk_ids: Sequence[str],
    drift_report_id: str,
    dagster_run_id: str,
    log: Callable[[str], Any] = print,
) -> SyntheticQA:
    """Generate pairs for the sampled chunks (reusing stored generations), filter them and sync synthetic_qa.

    `encoder` is called once, after generation, for the round-trip retrieval and near-duplicate filters.
    """
    params = settings.synthetic
    inputs = {t.name: store.version(t.name) for t in (DOCUMENT_CHUNKS, CHUNK_EMBEDDINGS, GOLDEN_QA)}
    chunks = store.read(DOCUMENT_CHUNKS)
    focus = record_focus(store, focus_chunk_ids, drift_report_id, dagster_run_id)
    stable = select_chunks(chunks, params.max_chunks, params.seed)
    sample = with_focus(stable, chunks, focus)
    generator = make_generator(synthetic=settings.synthetic, models=settings.models)
    version = generation_version(generator.name, params)

    previous = store.read(SYNTHETIC_QA).filter(
        (pl.col("generation_version") == version) & pl.col("chunk_id").is_in(sample["chunk_id"].implode())
    )
    reused = [
        QACandidate(r["candidate_id"], r["chunk_id"], r["question"], r["answer"], r["generator"])
        for r in previous.iter_rows(named=True)
    ]
    todo = sample.join(previous.select("chunk_id").unique(), on="chunk_id", how="anti")
    log(f"{generator.name}: generating for {todo.height} chunks, reusing {len(reused)} candidates")
    titles = dict(store.read(VALIDATED_DOCUMENTS, columns=["document_id", "title"]).iter_rows())
    fresh = generator.generate(chunk_inputs(todo, titles, set(python_docs.pack_sources(settings.sources))))

    embeddings = store.read(CHUNK_EMBEDDINGS)
    golden = store.read(GOLDEN_QA)
    kept, dropped, report = run_filters(
        reused + fresh,
        encoder=encoder(),  # loaded only now: generation may hold the LLM until here
        chunk_ids=embeddings["chunk_id"].to_list(),
        chunk_embeddings=embedding_matrix(embeddings),
        golden_pairs=list(golden.select("question", "answer").iter_rows()),
        params=filter_params(synthetic=settings.synthetic, pii=settings.pii),
    )
    write = store.sync(SYNTHETIC_QA, synthetic_rows(kept, dropped, version))
    return SyntheticQA(
        inputs=inputs,
        generator=generator.name,
        generation_version=version,
        chunks_sampled=sample.height,
        focus_chunks_added=sample.height - stable.height,
        focus_chunks_total=len(focus),
        newly_generated=len(fresh),
        reused=len(reused),
        kept=kept,
        report=report,
        write=write,
    )


def record_focus(
    store: DeltaStore, focus_chunk_ids: Sequence[str], drift_report_id: str, dagster_run_id: str
) -> list[str]:
    """Merge this run's focus chunks into synthetic_focus (first drift report wins) and return every focus chunk."""
    known = set(store.read(SYNTHETIC_FOCUS, columns=["chunk_id"])["chunk_id"].to_list())
    new = [c for c in dict.fromkeys(focus_chunk_ids) if c not in known]
    if new:
        now = datetime.now(UTC)
        store.merge(
            SYNTHETIC_FOCUS,
            SYNTHETIC_FOCUS.conform(
                [
                    {
                        "chunk_id": c,
                        "drift_report_id": drift_report_id or "manual",
                        "added_at": now,
                        "dagster_run_id": dagster_run_id,
                    }
                    for c in new
                ]
            ),
        )
    return sorted(known | set(new))


def build_training_set(settings: Settings, store: DeltaStore) -> TrainingSet:
    """Chat-formatted SFT examples from the kept synthetic pairs and the human pairs, synced into training_set."""
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
    write = store.sync(TRAINING_SET, frame, compare=["source", "chunk_id", "context", "messages", "split"])
    return TrainingSet(examples, frame, synthetic_version, chunks_version, write)
