"""Asset checks of the data stage; they read the persisted tables, so they can be re-run alone."""

import dagster as dg
import polars as pl

from aiinfra_dagster.assets.common import markdown_table
from aiinfra_dagster.assets.keys import (
    CHUNK_DUPLICATES_KEY,
    DOCUMENT_CHUNKS_KEY,
    GOLDEN_QA_KEY,
    QUARANTINE_KEY,
    RAW_DOCUMENTS_KEY,
    VALIDATED_DOCUMENTS_KEY,
)
from aiinfra_dagster.data.chunking import chunk_id_for
from aiinfra_dagster.data.parsing import nonspace_chars, parse_raw_documents
from aiinfra_dagster.data.pii import count_pii
from aiinfra_dagster.data.quality import document_expectations, document_profile, run_suite
from aiinfra_dagster.data.tables import (
    CHUNK_DUPLICATES,
    DOCUMENT_CHUNKS,
    GOLDEN_QA,
    QUARANTINE,
    RAW_DOCUMENTS,
    VALIDATED_DOCUMENTS,
)
from aiinfra_dagster.data.validation import raw_profile
from aiinfra_dagster.materializations import latest_metadata
from aiinfra_dagster.readiness import golden_readiness
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.settings import SettingsResource


@dg.asset_check(
    asset=RAW_DOCUMENTS_KEY,
    description=(
        "The Great Expectations document suite over raw data. Failing rows are expected here: they are "
        "quarantined by validated_documents, so this check warns rather than blocks."
    ),
)
def raw_documents_expectations(lakehouse: LakehouseResource, aiinfra: SettingsResource) -> dg.AssetCheckResult:
    raw = lakehouse.store.read(RAW_DOCUMENTS)
    settings = aiinfra.value
    parsed = parse_raw_documents(raw, settings.pii, settings.validation.max_bytes)
    profile = raw_profile(raw, parsed, settings.validation.max_bytes)
    outcome = run_suite("raw_documents_suite", profile, document_expectations(settings.validation))
    failing = len(outcome.failures_by_id())
    return dg.AssetCheckResult(
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows": raw.height,
            "rows_failing": failing,
            "expectations": dg.MetadataValue.md(outcome.as_markdown()),
        },
    )


@dg.asset_check(
    asset=VALIDATED_DOCUMENTS_KEY,
    blocking=True,
    description="The same Great Expectations suite must pass on every validated row; protects all downstream assets.",
)
def validated_documents_expectations(lakehouse: LakehouseResource, aiinfra: SettingsResource) -> dg.AssetCheckResult:
    valid = lakehouse.store.read(VALIDATED_DOCUMENTS)
    frame = valid.with_columns(pl.col("text").str.len_bytes().cast(pl.Int64).alias("bytes"))
    chars = {i: nonspace_chars(t) for i, t in frame.select("document_id", "text").iter_rows()}
    profile = document_profile(frame, chars, {})
    outcome = run_suite("validated_documents_suite", profile, document_expectations(aiinfra.value.validation))
    return dg.AssetCheckResult(
        passed=outcome.success,
        metadata={"rows": valid.height, "expectations": dg.MetadataValue.md(outcome.as_markdown())},
    )


@dg.asset_check(
    asset=VALIDATED_DOCUMENTS_KEY,
    blocking=True,
    additional_deps=[RAW_DOCUMENTS_KEY, QUARANTINE_KEY],
    description="Every raw row is either valid or quarantined, never both, never neither.",
)
def raw_rows_accounted_for(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    store = lakehouse.store
    raw = set(store.read(RAW_DOCUMENTS)["document_id"].to_list())
    valid = set(store.read(VALIDATED_DOCUMENTS)["document_id"].to_list())
    quarantined = set(store.read(QUARANTINE)["document_id"].to_list())
    lost = raw - valid - quarantined
    both = valid & quarantined
    unknown = (valid | quarantined) - raw
    return dg.AssetCheckResult(
        passed=not (lost or both or unknown),
        metadata={
            "raw": len(raw),
            "valid": len(valid),
            "quarantined": len(quarantined),
            "lost": len(lost),
            "in_both": len(both),
            "not_in_raw": len(unknown),
            "examples": dg.MetadataValue.json(sorted(lost | both | unknown)[:10]),
        },
    )


@dg.asset_check(
    asset=VALIDATED_DOCUMENTS_KEY,
    blocking=True,
    description="No email, phone number, IP address or credential survives redaction.",
)
def no_pii_in_validated_documents(lakehouse: LakehouseResource, aiinfra: SettingsResource) -> dg.AssetCheckResult:
    pii = aiinfra.value.pii
    totals = {t: 0 for t in pii.types}
    offenders = []
    for doc_id, text in lakehouse.store.read(VALIDATED_DOCUMENTS).select("document_id", "text").iter_rows():
        counts = count_pii(text, types=pii.types, allowlist=pii.allowlist)
        for kind, n in counts.items():
            totals[kind] += n
        if any(counts.values()):
            offenders.append(doc_id)
    return dg.AssetCheckResult(
        passed=not offenders,
        metadata={
            "remaining": dg.MetadataValue.md(markdown_table(["PII type", "found"], totals.items())),
            "documents_with_pii": dg.MetadataValue.json(offenders[:20]),
        },
    )


@dg.asset_check(
    asset=DOCUMENT_CHUNKS_KEY,
    blocking=True,
    description="Every chunk respects chunking.max_tokens and its id is the hash of its text.",
)
def chunks_well_formed(lakehouse: LakehouseResource, aiinfra: SettingsResource) -> dg.AssetCheckResult:
    chunks = lakehouse.store.read(DOCUMENT_CHUNKS)
    max_tokens = aiinfra.value.chunking.max_tokens
    too_long = chunks.filter(pl.col("n_tokens") > max_tokens).height
    bad_ids = sum(cid != chunk_id_for(text) for cid, text in chunks.select("chunk_id", "text").iter_rows())
    empty = chunks.filter(pl.col("text").str.strip_chars() == "").height
    return dg.AssetCheckResult(
        passed=chunks.height > 0 and too_long == 0 and bad_ids == 0 and empty == 0,
        metadata={"chunks": chunks.height, "over_max_tokens": too_long, "id_mismatches": bad_ids, "empty": empty},
    )


@dg.asset_check(
    asset=DOCUMENT_CHUNKS_KEY,
    additional_deps=[VALIDATED_DOCUMENTS_KEY, CHUNK_DUPLICATES_KEY],
    description="Every validated document is represented by at least one chunk or a recorded duplicate.",
)
def chunks_cover_documents(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    store = lakehouse.store
    documents = set(store.read(VALIDATED_DOCUMENTS)["document_id"].to_list())
    covered = set(store.read(DOCUMENT_CHUNKS)["document_id"].to_list())
    covered |= set(store.read(CHUNK_DUPLICATES)["document_id"].to_list())
    missing = sorted(documents - covered)
    return dg.AssetCheckResult(
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "documents": len(documents),
            "uncovered": len(missing),
            "examples": dg.MetadataValue.json(missing[:10]),
        },
    )


@dg.asset_check(
    asset=GOLDEN_QA_KEY,
    description="The golden set is non-empty, no answer is empty and no page asks the same question twice.",
)
def golden_qa_usable(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    golden = lakehouse.store.read(GOLDEN_QA)
    duplicates = golden.height - golden.select("source", "question").n_unique() if golden.height else 0
    repeated_across_sources = golden.group_by("question").len().filter(pl.col("len") > 1)["question"].to_list()
    empty_answers = golden.filter(pl.col("answer").str.strip_chars() == "").height
    return dg.AssetCheckResult(
        passed=golden.height > 0 and duplicates == 0 and empty_answers == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "pairs": golden.height,
            "duplicate_questions_within_a_source": duplicates,
            "questions_asked_in_several_sources": dg.MetadataValue.json(repeated_across_sources),
            "empty_answers": empty_answers,
        },
    )


@dg.asset_check(
    asset=GOLDEN_QA_KEY,
    blocking=True,
    description=(
        "A golden set exists: without one nothing can be evaluated or gated, so the run stops here naming the "
        "settings (golden.paths) instead of failing later in evaluation."
    ),
)
def golden_qa_present(context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    pairs = lakehouse.store.read(GOLDEN_QA).height
    origin = (latest_metadata(context.instance, GOLDEN_QA_KEY) or {}).get("origin", "")
    verdict = golden_readiness(pairs, pairs, str(origin))
    return dg.AssetCheckResult(
        passed=verdict.usable, description=verdict.message(), metadata={"pairs": pairs, "reason": verdict.message()}
    )
