"""The Great Expectations suite that decides which documents are fit for use.

Every expectation carries the reason a person reads in the quarantine table, so
a failing row is explained by the check that caught it, not by ad-hoc code.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
import polars as pl  # noqa: E402

from aiinfra_dagster.settings import ValidationSettings  # noqa: E402

ID_COLUMN = "document_id"
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"

logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass(frozen=True)
class ExpectationOutcome:
    name: str
    reason: str
    success: bool
    evaluated: int
    failed_ids: tuple[str, ...]


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    outcomes: tuple[ExpectationOutcome, ...]

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    def failures_by_id(self) -> dict[str, list[ExpectationOutcome]]:
        failed: dict[str, list[ExpectationOutcome]] = {}
        for outcome in self.outcomes:
            for doc_id in outcome.failed_ids:
                failed.setdefault(doc_id, []).append(outcome)
        return failed

    def as_markdown(self) -> str:
        lines = ["| expectation | reason when failing | failed rows | result |", "|---|---|---|---|"]
        for o in self.outcomes:
            status = "pass" if o.success else "FAIL"
            lines.append(f"| `{o.name}` | {o.reason} | {len(o.failed_ids)} / {o.evaluated} | {status} |")
        return "\n".join(lines)


@dataclass(frozen=True)
class Expectation:
    name: str
    reason: str
    build: Any
    kwargs: dict[str, Any] = field(default_factory=dict)


def document_profile(raw: pl.DataFrame, parsed_chars: dict[str, int], parse_errors: dict[str, str]) -> pl.DataFrame:
    """Columns the suite inspects, derived once so every expectation is a plain column check.

    ``parsed_chars`` (non-whitespace characters of the parsed text) and ``parse_errors`` come
    from the parsers, keyed by document id: HTML and PDF are judged by the text they yield.
    """
    stripped_len = pl.col("text").str.strip_chars().str.len_chars().fill_null(0)
    first_path = pl.col("path").min().over("content_hash")
    first_id = pl.col("document_id").sort_by("path").first().over("content_hash")
    ids = pl.col(ID_COLUMN)
    return raw.select(
        ID_COLUMN,
        "source",
        "path",
        "format",
        "content_hash",
        "bytes",
        "text",
        # PDFs are binary by design: their text comes from the PDF parser, not from decoding.
        pl.when(pl.col("format") == "pdf").then(pl.lit("")).otherwise(pl.col("text")).alias("utf8_text"),
        # Unparseable documents are judged by `parses` alone: their text size says nothing more.
        pl.when(ids.is_in(list(parse_errors)))
        .then(None)
        .otherwise(ids.replace_strict(parsed_chars, default=None, return_dtype=pl.Int64).fill_null(stripped_len))
        .alias("n_chars"),
        ids.replace_strict(parse_errors, default=None, return_dtype=pl.String).alias("parse_error"),
        (pl.col("text").str.count_matches(_CONTROL) / pl.col("text").str.len_chars().clip(lower_bound=1))
        .fill_null(0.0)
        .alias("control_char_ratio"),
        pl.when(pl.col("path") != first_path).then(first_id).otherwise(None).alias("duplicate_of"),
    )


def document_expectations(settings: ValidationSettings) -> list[Expectation]:
    """The document suite, in the order reasons are reported."""
    ex = gx.expectations
    suite = [
        Expectation(
            "id_not_null", "missing document id", ex.ExpectColumnValuesToNotBeNull, kwargs={"column": ID_COLUMN}
        ),
        Expectation(
            "decodes_as_utf8",
            "content is not valid UTF-8",
            ex.ExpectColumnValuesToNotBeNull,
            kwargs={"column": "utf8_text"},
        ),
        Expectation(
            "not_empty",
            "file is empty",
            ex.ExpectColumnValuesToBeBetween,
            kwargs={"column": "bytes", "min_value": 1},
        ),
        Expectation(
            "within_size_limit",
            f"file is larger than validation.max_bytes={settings.max_bytes}",
            ex.ExpectColumnValuesToBeBetween,
            kwargs={"column": "bytes", "max_value": settings.max_bytes},
        ),
        Expectation(
            "not_binary",
            "control characters exceed validation.max_control_char_ratio="
            f"{settings.max_control_char_ratio} (binary content)",
            ex.ExpectColumnValuesToBeBetween,
            kwargs={"column": "control_char_ratio", "max_value": settings.max_control_char_ratio},
        ),
        Expectation(
            "parses",
            "the document could not be parsed (see the parser's reason)",
            ex.ExpectColumnValuesToBeNull,
            kwargs={"column": "parse_error"},
        ),
        Expectation(
            "enough_text",
            f"fewer than validation.min_chars={settings.min_chars} non-whitespace characters",
            ex.ExpectColumnValuesToBeBetween,
            kwargs={"column": "n_chars", "min_value": max(settings.min_chars, 1)},
        ),
        Expectation(
            "content_hash_well_formed",
            "content hash is not a sha256 hex digest",
            ex.ExpectColumnValuesToMatchRegex,
            kwargs={"column": "content_hash", "regex": r"^[0-9a-f]{64}$"},
        ),
    ]
    if settings.quarantine_duplicates:
        suite.append(
            Expectation(
                "not_duplicate",
                "same bytes as an earlier document (see duplicate_of)",
                ex.ExpectColumnValuesToBeNull,
                kwargs={"column": "duplicate_of"},
            )
        )
    return suite


@lru_cache(maxsize=1)
def _context() -> Any:
    """One ephemeral GE context per process (each one creates a temporary docs site)."""
    context = gx.get_context(mode="ephemeral")
    try:
        context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]  # a TypedDict in GE
    except Exception:  # progress-bar config moved between GE releases; purely cosmetic
        pass
    return context


def run_suite(name: str, frame: pl.DataFrame, expectations: list[Expectation]) -> SuiteOutcome:
    """Validate `frame` with a real GE suite; every failing row is reported by id."""
    if frame.is_empty():
        return SuiteOutcome(name, tuple(ExpectationOutcome(e.name, e.reason, True, 0, ()) for e in expectations))
    context = _context()
    batch_definition = (
        context.data_sources.add_or_update_pandas(f"{name}_source")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = gx.ExpectationSuite(name=name)
    for e in expectations:
        suite.add_expectation(e.build(**e.kwargs, meta={"check": e.name, "reason": e.reason}))
    suite = context.suites.add_or_update(suite)
    # Text columns are not needed by any expectation beyond null-ness; keep frames light.
    columns = sorted({e.kwargs["column"] for e in expectations} | {ID_COLUMN})
    pdf = frame.select(columns).to_pandas()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": pdf})
    result = batch.validate(
        suite,
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ID_COLUMN]},
    )
    by_check = {r.expectation_config.meta["check"]: r for r in result.results}
    outcomes = []
    for e in expectations:
        r = by_check[e.name]
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectation {e.name} raised: {r.exception_info.get('exception_message')}")
        ids = tuple(str(row[ID_COLUMN]) for row in (r.result.get("unexpected_index_list") or []))
        outcomes.append(ExpectationOutcome(e.name, e.reason, bool(r.success), frame.height, ids))
    return SuiteOutcome(name, tuple(outcomes))
