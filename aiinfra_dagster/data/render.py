"""The validation split for people: validated_documents' and quarantine's Dagster metadata from the
`ValidationSplit` `validation.split_documents` returned (pure: the tables were synced by the caller)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from aiinfra_dagster.data.validation import ValidationSplit
from aiinfra_dagster.markdown import markdown_table

QUARANTINE_SAMPLE = 10


def validated_documents_metadata(split: ValidationSplit, raw_rows: int) -> dict[str, Any]:
    """validated_documents' metadata beyond the table's own: the accounting, PII redactions, the suite's results."""
    valid, quarantined = split.valid.height, split.quarantined.height
    return {
        "raw_rows": raw_rows,
        "valid_rows": valid,
        "quarantined_rows": quarantined,
        "accounting": dg.MetadataValue.md(f"raw **{raw_rows}** = valid **{valid}** + quarantined **{quarantined}**"),
        "pii_redactions": dg.MetadataValue.md(
            markdown_table(["PII type", "redactions"], sorted(split.pii_counts.items()))
        ),
        "expectations": dg.MetadataValue.md(split.suite.as_markdown()),
    }


def quarantine_metadata(split: ValidationSplit) -> dict[str, Any]:
    """quarantine's metadata beyond the table's own: documents per failed check, and a sample with reasons."""
    return {
        "reasons": dg.MetadataValue.md(markdown_table(["check", "documents"], split.reasons.items())),
        "sample": dg.MetadataValue.md(
            markdown_table(
                ["path", "reason"], split.quarantined.select("path", "reason").head(QUARANTINE_SAMPLE).rows()
            )
        ),
    }
