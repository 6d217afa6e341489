"""Data-preparation assets: raw documents to validated, redacted, deduplicated chunks."""

from datetime import UTC, datetime
from typing import cast

import dagster as dg

from aiinfra_dagster.assets.common import DELTA, GREAT_EXPECTATIONS, OWNERS, POLARS, markdown_table
from aiinfra_dagster.assets.keys import (
    CHUNK_DUPLICATES_KEY,
    DOCUMENT_CHUNKS_KEY,
    GOLDEN_QA_KEY,
    QUARANTINE_KEY,
    RAW_DOCUMENTS_KEY,
    VALIDATED_DOCUMENTS_KEY,
)
from aiinfra_dagster.data.chunk_set import build_chunk_set, embedding_token_counter
from aiinfra_dagster.data.golden_source import load_golden_set
from aiinfra_dagster.data.render import quarantine_metadata, validated_documents_metadata
from aiinfra_dagster.data.run import ingest_raw_documents
from aiinfra_dagster.data.tables import (
    CHUNK_DUPLICATES,
    DOCUMENT_CHUNKS,
    GOLDEN_QA,
    QUARANTINE,
    RAW_DOCUMENTS,
    VALIDATED_DOCUMENTS,
)
from aiinfra_dagster.data.validation import split_documents
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.settings import SettingsResource

GROUP = "data"


@dg.asset(
    key=RAW_DOCUMENTS_KEY,
    group_name=GROUP,
    kinds={DELTA, POLARS},
    owners=OWNERS,
    description=(
        "Every document of every configured source, one row each with its original bytes. "
        "Incremental: only new or changed documents are written; removed ones are deleted."
    ),
)
def raw_documents(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource, aiinfra: SettingsResource
) -> dg.MaterializeResult:
    settings = aiinfra.value
    raw = ingest_raw_documents(
        lakehouse.store,
        settings.sources,
        settings.python_docs_dir,
        datetime.now(UTC),
        max_bytes=settings.validation.max_bytes,
        warn=context.log.warning,
    )
    return dg.MaterializeResult(
        metadata=lakehouse.table_metadata(
            RAW_DOCUMENTS,
            raw.write,
            documents_seen=raw.documents_seen,
            megabytes_seen=round(raw.bytes_seen / 1e6, 3),
            documents_not_read=raw.unread,
            sources=dg.MetadataValue.md(
                markdown_table(
                    ["source", "kind", "location", "documents", "over max_bytes (not read)", "no longer listed"],
                    [[c.name, c.kind, c.location, c.documents, c.unread, c.removed] for c in raw.sources],
                )
            ),
        )
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            VALIDATED_DOCUMENTS_KEY,
            deps=[raw_documents],
            group_name=GROUP,
            kinds={DELTA, GREAT_EXPECTATIONS},
            owners=OWNERS,
            description=(
                "Raw documents that pass the Great Expectations suite, with PII (emails, phone numbers, "
                "IP addresses, credentials) redacted. Nothing downstream sees the original text."
            ),
        ),
        dg.AssetSpec(
            QUARANTINE_KEY,
            deps=[raw_documents],
            group_name=GROUP,
            kinds={DELTA, GREAT_EXPECTATIONS},
            owners=OWNERS,
            description="Raw documents that failed the suite, each with the checks that caught it and why.",
        ),
    ],
)
def validated_documents(context: dg.AssetExecutionContext, lakehouse: LakehouseResource, aiinfra: SettingsResource):
    settings = aiinfra.value
    store = lakehouse.store
    raw_version = store.version(RAW_DOCUMENTS.name)
    raw = store.read(RAW_DOCUMENTS)
    split = split_documents(raw, raw_version or 0, settings.validation, settings.pii, datetime.now(UTC))
    valid_result = store.sync(VALIDATED_DOCUMENTS, split.valid)
    quarantine_result = store.sync(QUARANTINE, split.quarantined, compare=["content_hash", "checks", "reason"])
    lineage = {"input_raw_documents_version": raw_version}
    yield dg.MaterializeResult(
        asset_key=VALIDATED_DOCUMENTS_KEY,
        metadata=lakehouse.table_metadata(
            VALIDATED_DOCUMENTS, valid_result, **lineage, **validated_documents_metadata(split, raw.height)
        ),
    )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_KEY,
        metadata=lakehouse.table_metadata(QUARANTINE, quarantine_result, **lineage, **quarantine_metadata(split)),
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            DOCUMENT_CHUNKS_KEY,
            deps=[VALIDATED_DOCUMENTS_KEY],
            group_name=GROUP,
            kinds={DELTA, POLARS},
            owners=OWNERS,
            description=(
                "Structure-aware chunks (headings first, then token bounds measured with the embedding "
                "model's tokenizer), with content-derived ids; exact and near duplicates removed."
            ),
        ),
        dg.AssetSpec(
            CHUNK_DUPLICATES_KEY,
            deps=[VALIDATED_DOCUMENTS_KEY],
            group_name=GROUP,
            kinds={DELTA},
            owners=OWNERS,
            description="Every chunk occurrence removed as an exact or near duplicate, and the chunk it duplicates.",
        ),
    ],
)
def document_chunks(context: dg.AssetExecutionContext, lakehouse: LakehouseResource, aiinfra: SettingsResource):
    settings = aiinfra.value
    store = lakehouse.store
    validated_version = store.version(VALIDATED_DOCUMENTS.name)
    documents = store.read(VALIDATED_DOCUMENTS)
    chunk_set = build_chunk_set(documents, embedding_token_counter(settings.models), settings.chunking)
    chunks_result = store.sync(DOCUMENT_CHUNKS, chunk_set.chunks)
    duplicates_result = store.sync(CHUNK_DUPLICATES, chunk_set.duplicates)
    tokens = chunk_set.chunks["n_tokens"]
    lineage = {"input_validated_documents_version": validated_version}
    yield dg.MaterializeResult(
        asset_key=DOCUMENT_CHUNKS_KEY,
        metadata=lakehouse.table_metadata(
            DOCUMENT_CHUNKS,
            chunks_result,
            **lineage,
            documents=chunk_set.documents,
            chunks_produced=chunk_set.produced,
            exact_duplicates_removed=chunk_set.exact_duplicates,
            near_duplicates_removed=chunk_set.near_duplicates,
            tokens=dg.MetadataValue.md(
                markdown_table(
                    ["max_tokens setting", "mean", "p50", "max"],
                    [
                        [
                            settings.chunking.max_tokens,
                            round(float(cast(float, tokens.mean() or 0)), 1),
                            int(cast(float, tokens.median() or 0)),
                            int(cast(int, tokens.max() or 0)),
                        ]
                    ],
                )
            ),
        ),
    )
    yield dg.MaterializeResult(
        asset_key=CHUNK_DUPLICATES_KEY,
        metadata=lakehouse.table_metadata(CHUNK_DUPLICATES, duplicates_result, **lineage),
    )


@dg.asset(
    key=GOLDEN_QA_KEY,
    group_name=GROUP,
    kinds={DELTA, POLARS},
    owners=OWNERS,
    tags={"aiinfra/usage": "evaluation-only"},
    description=(
        "Human-written question/answer pairs for evaluation (the Python FAQ by default, or the user's "
        "JSONL/CSV). Evaluation only: never an input to training."
    ),
)
def golden_qa(context: dg.AssetExecutionContext, lakehouse: LakehouseResource, aiinfra: SettingsResource):
    settings = aiinfra.value
    pairs, origin = load_golden_set(
        golden=settings.golden, sources=settings.sources, python_docs_dir=settings.python_docs_dir
    )
    if not pairs:
        context.log.warning(f"golden set is empty ({origin})")
    frame = GOLDEN_QA.conform([vars(p) for p in pairs])
    result = lakehouse.store.sync(GOLDEN_QA, frame)
    return dg.MaterializeResult(
        metadata=lakehouse.table_metadata(
            GOLDEN_QA,
            result,
            origin=origin,
            by_section=dg.MetadataValue.md(
                markdown_table(
                    ["section", "pairs"],
                    frame.group_by("section").len().sort("section").rows(),
                )
            ),
            sample=dg.MetadataValue.md(
                markdown_table(["question", "answer (start)"], [[p.question, p.answer[:120]] for p in pairs[:5]])
            ),
        )
    )
