"""Schemas of the data-stage Delta tables: the contract between stages."""

from __future__ import annotations

import polars as pl

from aiinfra_dagster.lakehouse import UTC_TS, TableSchema

RAW_DOCUMENTS = TableSchema(
    name="raw_documents",
    columns={
        "document_id": pl.String,
        "source": pl.String,
        "path": pl.String,
        "format": pl.String,
        "content_hash": pl.String,
        "bytes": pl.Int64,
        "content": pl.Binary,
        "text": pl.String,
        "ingested_at": UTC_TS,
    },
    key=("document_id",),
    nullable=frozenset({"text"}),
    descriptions={
        "document_id": "sha256(source, path), stable across runs",
        "path": "path relative to the source root",
        "format": "markdown, rst, html, pdf, text, or binary (not parseable): "
        "the extension corrected by content sniffing",
        "content_hash": "sha256 of the original bytes",
        "content": "original bytes, kept verbatim (raw keeps PII; nothing downstream reads it)",
        "text": "UTF-8 decoded content, null when the bytes are not valid UTF-8",
        "ingested_at": "when this content version was first ingested",
    },
)

VALIDATED_DOCUMENTS = TableSchema(
    name="validated_documents",
    columns={
        "document_id": pl.String,
        "source": pl.String,
        "path": pl.String,
        "format": pl.String,
        "content_hash": pl.String,
        "title": pl.String,
        "text": pl.String,
        "structure": pl.String,
        "n_chars": pl.Int64,
        "pii_redactions": pl.Int64,
    },
    key=("document_id",),
    descriptions={
        "format": "the parser used: markdown, rst, html, pdf or text (extension corrected by content sniffing)",
        "title": "document title: first heading, front matter, HTML title or PDF metadata, else the file name",
        "text": "the document text with PII replaced by [TYPE] placeholders: the source for text formats, the "
        "extracted main content for HTML and PDF",
        "structure": "the parsed document model as JSON: sections (heading paths) with typed blocks (kind, offsets "
        "into text, plain text, API entry); see aiinfra_dagster.documents.model",
        "pii_redactions": "number of PII spans redacted in this document",
    },
)

QUARANTINE = TableSchema(
    name="quarantine",
    columns={
        "document_id": pl.String,
        "source": pl.String,
        "path": pl.String,
        "content_hash": pl.String,
        "bytes": pl.Int64,
        "checks": pl.List(pl.String),
        "reason": pl.String,
        "raw_version": pl.Int64,
        "quarantined_at": UTC_TS,
    },
    key=("document_id",),
    descriptions={
        "checks": "every Great Expectations expectation the document failed",
        "reason": "human-readable reason, one clause per failed check",
        "raw_version": "raw_documents Delta version the row was judged on",
    },
)

DOCUMENT_CHUNKS = TableSchema(
    name="document_chunks",
    columns={
        "chunk_id": pl.String,
        "document_id": pl.String,
        "source": pl.String,
        "path": pl.String,
        "section": pl.String,
        "position": pl.Int64,
        "text": pl.String,
        "n_tokens": pl.Int64,
        "n_chars": pl.Int64,
        "blocks": pl.String,
    },
    key=("chunk_id",),
    descriptions={
        "chunk_id": "sha256 of the whitespace-normalised chunk text (stable, content-derived)",
        "blocks": "the chunk's typed blocks as JSON [kind, start, end, plain text, API entry] (offsets into text); "
        "read with aiinfra_dagster.data.chunking.parse_blocks",
        "section": "heading path, ' > ' separated",
        "n_tokens": "tokens by the embedding model's tokenizer",
    },
)

CHUNK_DUPLICATES = TableSchema(
    name="chunk_duplicates",
    columns={
        "document_id": pl.String,
        "position": pl.Int64,
        "chunk_id": pl.String,
        "kept_chunk_id": pl.String,
        "kind": pl.String,
        "path": pl.String,
    },
    key=("document_id", "position"),
    descriptions={"kind": "'exact' or 'near' duplicate of kept_chunk_id"},
)

GOLDEN_QA = TableSchema(
    name="golden_qa",
    columns={
        "qa_id": pl.String,
        "question": pl.String,
        "answer": pl.String,
        "source": pl.String,
        "section": pl.String,
    },
    key=("qa_id",),
    descriptions={"qa_id": "stable id of a human-written evaluation pair; never used for training"},
)
