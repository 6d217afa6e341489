"""Which chunks synthetic questions are generated from, and when earlier generations can be reused."""

from __future__ import annotations

import hashlib
import json

import polars as pl

from aiinfra_dagster.settings import SyntheticSettings

MIN_TOKENS = 32
"""Chunks shorter than this carry too little text to generate a question from."""


def select_chunks(
    chunks: pl.DataFrame, max_chunks: int | None, seed: int, min_tokens: int = MIN_TOKENS
) -> pl.DataFrame:
    """A stable sample: chunks with enough text, ordered by a seeded hash of their id.

    Adding chunks to the corpus only adds to the sample where they hash in; the
    rest of the sample (and its expensive generations) stays the same.
    """
    eligible = chunks.filter(pl.col("n_tokens") >= min_tokens)
    ranked = eligible.with_columns(
        pl.col("chunk_id")
        .map_elements(lambda cid: hashlib.sha256(f"{seed}:{cid}".encode()).hexdigest(), return_dtype=pl.String)
        .alias("__rank")
    ).sort("__rank")
    if max_chunks is not None:
        ranked = ranked.head(max_chunks)
    return ranked.drop("__rank")


def generation_version(generator_name: str, settings: SyntheticSettings) -> str:
    """Candidates with the same version are the same generations: reuse them instead of re-running a model."""
    shaping = {
        "generator": generator_name,
        "questions_per_chunk": settings.questions_per_chunk,
        "max_new_tokens": settings.max_new_tokens,
        "seed": settings.seed,
    }
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:12]


def with_focus(
    sample: pl.DataFrame, chunks: pl.DataFrame, focus_ids: list[str], min_tokens: int = MIN_TOKENS
) -> pl.DataFrame:
    """The stable sample plus the focus chunks that exist and have enough text (what drifted traffic is about)."""
    extra = chunks.filter(
        pl.col("chunk_id").is_in(focus_ids)
        & ~pl.col("chunk_id").is_in(sample["chunk_id"].implode())
        & (pl.col("n_tokens") >= min_tokens)
    ).sort("chunk_id")
    return pl.concat([sample, extra.select(sample.columns)]) if extra.height else sample
