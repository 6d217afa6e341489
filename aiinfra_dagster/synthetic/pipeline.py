"""Choosing the configured generator and turning filter results into table rows."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from aiinfra_dagster.data.chunking import parse_blocks
from aiinfra_dagster.models.locate import resolve_model_path
from aiinfra_dagster.settings import ModelSettings, PiiSettings, SyntheticSettings
from aiinfra_dagster.synthetic.filters import FilterParams
from aiinfra_dagster.synthetic.generate import Generator, LLMGenerator, QACandidate, TemplateGenerator
from aiinfra_dagster.synthetic.tables import SYNTHETIC_QA
from aiinfra_dagster.synthetic.text import ChunkInput


def make_generator(*, synthetic: SyntheticSettings, models: ModelSettings) -> Generator:
    """Templates (cheap, the quick profile) or the configured base LLM (GGUF file or HF directory)."""
    if synthetic.generator == "template":
        return TemplateGenerator(questions_per_chunk=synthetic.questions_per_chunk)
    path = resolve_model_path(models.llm, "models.llm", allow_hub_downloads=models.allow_hub_downloads)
    gguf = path.name if path.suffix == ".gguf" else None
    return LLMGenerator(
        model_path=path.parent if gguf else path,
        gguf_file=gguf,
        max_new_tokens=synthetic.max_new_tokens,
        batch_size=synthetic.batch_size,
        seed=synthetic.seed,
    )


def filter_params(*, synthetic: SyntheticSettings, pii: PiiSettings) -> FilterParams:
    """The filter chain's thresholds from the synthetic and PII settings."""
    return FilterParams(
        min_question_chars=synthetic.min_question_chars,
        max_question_chars=synthetic.max_question_chars,
        min_answer_chars=synthetic.min_answer_chars,
        max_answer_chars=synthetic.max_answer_chars,
        pii_types=tuple(pii.types),
        pii_allowlist=tuple(pii.allowlist),
        dedup_threshold=synthetic.near_duplicate_threshold,
        decontamination_threshold=synthetic.decontamination_threshold,
        round_trip_k=synthetic.round_trip_k,
    )


def chunk_inputs(chunks: pl.DataFrame, titles: dict[str, str], pack_sources: set[str]) -> list[ChunkInput]:
    """Generator inputs from ``document_chunks`` rows, with their document's title; ``pack_sources``
    are the sources the Python docs pack applies to."""
    return [
        ChunkInput(
            chunk_id=row["chunk_id"],
            section=row["section"],
            text=row["text"],
            blocks=tuple(parse_blocks(row["blocks"])),
            title=titles.get(row["document_id"], ""),
            python_docs=row["source"] in pack_sources,
        )
        for row in chunks.iter_rows(named=True)
    ]


def synthetic_rows(
    kept: Sequence[QACandidate], dropped: Sequence[tuple[QACandidate, str]], generation_version: str
) -> pl.DataFrame:
    """Every candidate, kept or dropped with its reason: nothing generated disappears.

    A repeated candidate id (same generator, chunk and question) is one row: the
    report's `duplicate_id` count says how many repeats there were.
    """
    rows, seen = [], set()
    for c, reason in [(c, None) for c in kept] + list(dropped):
        if c.candidate_id not in seen:
            seen.add(c.candidate_id)
            rows.append((c, reason))
    return SYNTHETIC_QA.conform(
        [
            {
                "candidate_id": c.candidate_id,
                "chunk_id": c.chunk_id,
                "question": c.question,
                "answer": c.answer,
                "generator": c.generator,
                "generation_version": generation_version,
                "kept": reason is None,
                "drop_reason": reason,
            }
            for c, reason in rows
        ]
    )
