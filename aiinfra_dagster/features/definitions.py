"""Feature definitions, declared once, each versioned by a hash of its code.

Changing a definition changes its version and the feature-set version recorded
with every feature row, so a model trained on features knows exactly which
definitions produced them.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from aiinfra_dagster.lakehouse.schema import PolarsDataType


@dataclass(frozen=True)
class FeatureDefinition:
    name: str
    dtype: PolarsDataType
    description: str
    expression: Callable[[], pl.Expr]
    helpers: tuple[Callable[..., object], ...] = ()
    params: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        """Hash of the expression's code, the helpers it calls, its parameters and dtype."""
        parts = [inspect.getsource(fn) for fn in (self.expression, *self.helpers)]
        source = "\n".join([*parts, *self.params, repr(self.dtype)])
        return hashlib.sha256(source.encode()).hexdigest()[:12]


def n_chars() -> pl.Expr:
    return pl.col("text").str.len_chars().cast(pl.Int64)


def n_words() -> pl.Expr:
    return pl.col("text").str.count_matches(r"\S+").cast(pl.Int64)


def mean_word_length() -> pl.Expr:
    words = pl.col("text").str.extract_all(r"\S+")
    return (words.list.eval(pl.element().str.len_chars()).list.mean().fill_null(0.0)).cast(pl.Float64)


def n_lines() -> pl.Expr:
    return (pl.col("text").str.count_matches("\n") + 1).cast(pl.Int64)


def code_block_ratio() -> pl.Expr:
    return pl.col("blocks").map_elements(_code_block_ratio_of, return_dtype=pl.Float64)


def heading_depth() -> pl.Expr:
    section = pl.col("section").fill_null("")
    return pl.when(section == "").then(0).otherwise(section.str.count_matches(" > ") + 1).cast(pl.Int64)


def _code_block_ratio_of(blocks: str) -> float:
    """Share of the chunk's block characters that are code, by the parser's block kinds (any format)."""
    sizes = [(kind, end - start) for kind, start, end, *_ in json.loads(blocks or "[]")]
    total = sum(n for _, n in sizes)
    return sum(n for kind, n in sizes if kind == "code") / total if total else 0.0


FEATURES: tuple[FeatureDefinition, ...] = (
    FeatureDefinition("n_chars", pl.Int64, "characters in the chunk", n_chars),
    FeatureDefinition("n_words", pl.Int64, "whitespace-separated words", n_words),
    FeatureDefinition("mean_word_length", pl.Float64, "mean characters per word", mean_word_length),
    FeatureDefinition("n_lines", pl.Int64, "lines in the chunk", n_lines),
    FeatureDefinition(
        "code_block_ratio",
        pl.Float64,
        "share of the chunk's block characters in code blocks",
        code_block_ratio,
        helpers=(_code_block_ratio_of,),
    ),
    FeatureDefinition("heading_depth", pl.Int64, "depth of the chunk's section heading (0 = none)", heading_depth),
)


def feature_set_version(features: Sequence[FeatureDefinition], *extra: str) -> str:
    """One version for the whole set plus anything else that shapes the values (e.g. the embedding model id)."""
    parts = [f"{f.name}:{f.version}" for f in features] + list(extra)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def compute_text_features(chunks: pl.DataFrame, features: Sequence[FeatureDefinition] = FEATURES) -> pl.DataFrame:
    """chunk_id plus one column per definition, from chunk_id/section/text/blocks columns."""
    return chunks.select("chunk_id", *[f.expression().alias(f.name) for f in features])
