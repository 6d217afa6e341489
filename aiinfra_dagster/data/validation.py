"""Splitting raw documents into validated (PII-redacted) rows and quarantined rows.

Every raw row ends up in exactly one of the two tables, so raw = valid +
quarantined always holds and nothing is dropped silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from aiinfra_dagster.data.parsing import Parsed, parse_errors, parse_raw_documents, parsed_text_chars
from aiinfra_dagster.data.quality import SuiteOutcome, document_expectations, document_profile, run_suite
from aiinfra_dagster.data.tables import QUARANTINE, VALIDATED_DOCUMENTS
from aiinfra_dagster.settings import PiiSettings, ValidationSettings

SUITE_NAME = "raw_documents_suite"


@dataclass(frozen=True)
class ValidationSplit:
    valid: pl.DataFrame
    quarantined: pl.DataFrame
    suite: SuiteOutcome
    pii_counts: dict[str, int]

    @property
    def reasons(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for checks in self.quarantined["checks"].to_list():
            counts.update(checks)
        return dict(sorted(counts.items()))


def _reason(check: str, reason: str, row: dict[str, object]) -> str:
    """A failed check's reason, with the row's own detail where there is one (the parser's words, the original)."""
    if check == "parses" and row["parse_error"]:
        return f"could not be parsed: {row['parse_error']}"
    if check == "not_duplicate" and row["duplicate_of"]:
        return f"{reason} (duplicate_of={row['duplicate_of']})"
    if check == "within_size_limit":
        return f"{reason}: {row['bytes']} bytes (its size from stat; a file over the limit is never read)"
    return reason


def raw_profile(raw: pl.DataFrame, parsed: dict[str, Parsed], max_bytes: int) -> pl.DataFrame:
    """The suite's columns for raw rows; a file over ``max_bytes`` is judged by its size alone (ingestion never
    read its text, so no text check applies to it)."""
    profile = document_profile(raw, parsed_text_chars(parsed), parse_errors(parsed))
    oversized = pl.col("bytes") > max_bytes
    return profile.with_columns(pl.when(oversized).then(None).otherwise(pl.col("n_chars")).alias("n_chars"))


def split_documents(
    raw: pl.DataFrame,
    raw_version: int,
    validation: ValidationSettings,
    pii: PiiSettings,
    now: datetime,
) -> ValidationSplit:
    parsed = parse_raw_documents(raw, pii, validation.max_bytes)
    profile = raw_profile(raw, parsed, validation.max_bytes)
    suite = run_suite(SUITE_NAME, profile, document_expectations(validation))
    failures = suite.failures_by_id()

    quarantined_rows = []
    valid_rows = []
    pii_totals: Counter[str] = Counter({t: 0 for t in pii.types})
    for row in profile.iter_rows(named=True):
        failed = failures.get(row["document_id"])
        if failed:
            reason = "; ".join(_reason(o.name, o.reason, row) for o in failed)
            quarantined_rows.append(
                {
                    "document_id": row["document_id"],
                    "source": row["source"],
                    "path": row["path"],
                    "content_hash": row["content_hash"],
                    "bytes": row["bytes"],
                    "checks": [o.name for o in failed],
                    "reason": reason,
                    "raw_version": raw_version,
                    "quarantined_at": now,
                }
            )
            continue
        outcome = parsed[row["document_id"]]
        doc = outcome.document
        assert doc is not None  # a document without one failed `parses` or an earlier check
        pii_totals.update(outcome.pii_counts)
        valid_rows.append(
            {
                "document_id": row["document_id"],
                "source": row["source"],
                "path": row["path"],
                "format": doc.format,
                "content_hash": row["content_hash"],
                "title": doc.title,
                "text": doc.text,
                "structure": doc.to_json(),
                "n_chars": len(doc.text),
                "pii_redactions": sum(outcome.pii_counts.values()),
            }
        )
    valid = VALIDATED_DOCUMENTS.conform(valid_rows)
    return ValidationSplit(valid, QUARANTINE.conform(quarantined_rows), suite, dict(pii_totals))
