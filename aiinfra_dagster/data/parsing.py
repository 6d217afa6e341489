"""Raw rows -> parsed documents, PII redacted before any offset is taken.

Parsing happens once, in validation: a document that cannot be parsed (an
encrypted PDF, an image, bytes no parser reads) is quarantined with the parser's
reason, and everything downstream reads the stored document model instead of
parsing again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from aiinfra_dagster.data.pii import redact_pii
from aiinfra_dagster.documents.model import Document, UnparseableDocument
from aiinfra_dagster.documents.parse import parse_document
from aiinfra_dagster.settings import PiiSettings


@dataclass(frozen=True)
class Parsed:
    """One raw row's outcome: a document (with the PII it had removed) or the reason it has none."""

    document: Document | None
    error: str | None = None
    pii_counts: dict[str, int] = field(default_factory=dict)


def parse_raw(fmt: str, content: bytes, path: str, pii: PiiSettings) -> Parsed:
    counts: Counter[str] = Counter()

    def redact(text: str) -> str:
        redaction = redact_pii(text, types=pii.types, allowlist=pii.allowlist)
        counts.update(redaction.counts)
        return redaction.text

    try:
        doc = parse_document(content, fmt, path, redact=redact)  # type: ignore[arg-type]
    except UnparseableDocument as exc:
        return Parsed(None, str(exc))
    except Exception as exc:  # noqa: BLE001 - a parser bug on one odd file must quarantine it, not stop the corpus
        return Parsed(None, f"the {fmt} parser failed on this file ({type(exc).__name__}: {exc})")
    return Parsed(doc, None, {k: v for k, v in counts.items() if v})


def parse_raw_documents(raw: pl.DataFrame, pii: PiiSettings, max_bytes: int) -> dict[str, Parsed]:
    """document_id -> Parsed; files over ``max_bytes`` are not parsed (ingestion did not read them; the size check
    quarantines them)."""
    out: dict[str, Parsed] = {}
    for row in raw.select("document_id", "path", "format", "bytes", "content").iter_rows(named=True):
        if row["bytes"] > max_bytes or not row["bytes"]:
            out[row["document_id"]] = Parsed(None, None)
            continue
        out[row["document_id"]] = parse_raw(row["format"], row["content"], row["path"], pii)
    return out


def nonspace_chars(text: str) -> int:
    """Non-whitespace characters: what ``enough_text`` judges."""
    return len("".join(text.split()))


def parsed_text_chars(parsed: dict[str, Parsed]) -> dict[str, int]:
    """Non-whitespace characters of each parsed document's text."""
    return {i: nonspace_chars(p.document.text) for i, p in parsed.items() if p.document is not None}


def parse_errors(parsed: dict[str, Parsed]) -> dict[str, str]:
    return {i: p.error for i, p in parsed.items() if p.error is not None}
