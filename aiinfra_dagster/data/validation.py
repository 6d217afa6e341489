"""Splitting raw documents into validated (PII-redacted) rows and quarantined rows.

Every raw row ends up in exactly one of the two tables, so raw = valid +
quarantined always holds and nothing is dropped silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from aiinfra_dagster.data.pii import redact_pii
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


def split_documents(
    raw: pl.DataFrame,
    raw_version: int,
    validation: ValidationSettings,
    pii: PiiSettings,
    now: datetime,
) -> ValidationSplit:
    profile = document_profile(raw)
    suite = run_suite(SUITE_NAME, profile, document_expectations(validation))
    failures = suite.failures_by_id()

    quarantined_rows = []
    valid_rows = []
    pii_totals: Counter[str] = Counter({t: 0 for t in pii.types})
    for row in profile.iter_rows(named=True):
        failed = failures.get(row["document_id"])
        if failed:
            reason = "; ".join(o.reason for o in failed)
            if row["duplicate_of"] and any(o.name == "not_duplicate" for o in failed):
                reason += f" (duplicate_of={row['duplicate_of']})"
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
        redaction = redact_pii(row["text"], types=pii.types, allowlist=pii.allowlist)
        pii_totals.update(redaction.counts)
        valid_rows.append(
            {
                "document_id": row["document_id"],
                "source": row["source"],
                "path": row["path"],
                "format": row["format"],
                "content_hash": row["content_hash"],
                "text": redaction.text,
                "n_chars": len(redaction.text),
                "pii_redactions": sum(redaction.counts.values()),
            }
        )
    valid = VALIDATED_DOCUMENTS.conform(valid_rows)
    return ValidationSplit(valid, QUARANTINE.conform(quarantined_rows), suite, dict(pii_totals))

