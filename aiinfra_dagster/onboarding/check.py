"""``aiinfra check``: a dry run of the current settings, in seconds, before the first main job.

It runs the real code of the first stages on the configured sources, without Dagster
and without writing anything: ingestion and sniffing, the Great Expectations suite and
the parsers (what would be quarantined, and why), chunking with the embedding model's
tokenizer, the template Q/A generator with the text filters (format, PII, near-duplicate;
``--embed`` adds decontamination and round-trip retrieval with the real encoder), and the
golden set (pairs whose answer is found in the chunks). Printed per format.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from aiinfra_dagster import python_docs
from aiinfra_dagster.data import ingest
from aiinfra_dagster.data.chunk_set import build_chunk_set, embedding_token_counter
from aiinfra_dagster.data.golden_source import load_golden_set
from aiinfra_dagster.data.tables import GOLDEN_QA
from aiinfra_dagster.data.validation import split_documents
from aiinfra_dagster.models.locate import resolve_model_path
from aiinfra_dagster.readiness import Readiness, golden_readiness
from aiinfra_dagster.retrieval.relevance import relevant_chunks
from aiinfra_dagster.settings import Settings
from aiinfra_dagster.synthetic.filters import run_filters
from aiinfra_dagster.synthetic.generate import QACandidate, TemplateGenerator
from aiinfra_dagster.synthetic.pipeline import chunk_inputs, filter_params
from aiinfra_dagster.synthetic.sampling import select_chunks

COLUMNS = ("format", "documents", "quarantined", "sections", "chunks", "template Q/A kept", "golden found")


@dataclass
class FormatRow:
    documents: int = 0
    quarantined: int = 0
    sections: int = 0
    chunks: int = 0
    candidates: int = 0
    kept: int = 0
    golden: int = 0
    golden_found: int = 0


@dataclass
class CheckReport:
    rows: dict[str, FormatRow] = field(default_factory=lambda: defaultdict(FormatRow))
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    quarantine_examples: list[tuple[str, str]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    golden_origin: str = ""
    golden_pairs: int = 0
    filters: str = ""
    seconds: float = 0.0
    problems: list[Readiness] = field(default_factory=list)

    def render(self) -> str:
        table: list[tuple[str, ...]] = [COLUMNS]
        total = FormatRow()
        for fmt, r in sorted(self.rows.items()):
            table.append(_cells(fmt, r))
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(r, name))
        table.append(_cells("all", total))
        widths = [max(len(str(row[i])) for row in table) for i in range(len(COLUMNS))]
        lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in table]
        lines.insert(1, "  ".join("-" * w for w in widths))
        out = [*lines, ""]
        if self.quarantine_reasons:
            out.append("would be quarantined:")
            out += [f"  {n:>4}  {reason}" for reason, n in self.quarantine_reasons.most_common()]
            out += [f"        e.g. {path}: {reason}" for path, reason in self.quarantine_examples[:5]]
        out.append(f"template Q/A filters: {self.filters}")
        if self.dropped:
            out.append("  dropped: " + ", ".join(f"{r} {n}" for r, n in self.dropped.most_common(6)))
        out.append(f"golden set: {self.golden_origin} ({self.golden_pairs} pairs)")
        for problem in self.problems:
            out.append(f"PROBLEM: {problem.message()}")
        out.append(
            f"checked in {self.seconds:.1f} s: "
            + ("no problem found" if not self.problems else f"{len(self.problems)} problem(s)")
        )
        return "\n".join(out)


def _cells(fmt: str, r: FormatRow) -> tuple[str, ...]:
    share = f" ({100 * r.kept / r.candidates:.0f}%)" if r.candidates else ""
    return (
        fmt,
        str(r.documents),
        str(r.quarantined),
        str(r.sections),
        str(r.chunks),
        f"{r.kept}/{r.candidates}{share}",
        f"{r.golden_found}/{r.golden}",
    )


def run_check(settings: Settings, *, embed: bool = False, encoder: object | None = None) -> CheckReport:
    """Everything `aiinfra check` prints; ``embed`` runs the embedding filters too (needs ``encoder`` or loads it)."""
    started = time.perf_counter()
    report = CheckReport()
    documents = [
        d
        for source in settings.sources
        for d in ingest.iter_source_documents(source, settings.python_docs_dir, max_bytes=settings.validation.max_bytes)
    ]
    raw = ingest.raw_rows(documents, datetime.now(UTC))
    split = split_documents(raw, 0, settings.validation, settings.pii, datetime.now(UTC))
    fmt_of = dict(raw.select("document_id", "format").iter_rows())
    for row in raw.select("format").iter_rows():
        report.rows[row[0]].documents += 1
    for doc_id, path, reason in split.quarantined.select("document_id", "path", "reason").iter_rows():
        report.rows[fmt_of[doc_id]].quarantined += 1
        report.quarantine_examples.append((path, reason))
    report.quarantine_reasons.update(c for checks in split.quarantined["checks"].to_list() for c in checks)
    valid_fmt = dict(split.valid.select("document_id", "format").iter_rows())
    for doc_id, structure in split.valid.select("document_id", "structure").iter_rows():
        report.rows[valid_fmt[doc_id]].sections += len(json.loads(structure)["sections"])

    chunks = build_chunk_set(split.valid, embedding_token_counter(settings.models), settings.chunking).chunks
    chunk_fmt = {cid: valid_fmt[d] for cid, d in chunks.select("chunk_id", "document_id").iter_rows()}
    for cid in chunks["chunk_id"].to_list():
        report.rows[chunk_fmt[cid]].chunks += 1

    pairs, report.golden_origin = load_golden_set(
        golden=settings.golden, sources=settings.sources, python_docs_dir=settings.python_docs_dir
    )
    report.golden_pairs = len(pairs)
    golden = GOLDEN_QA.conform([vars(p) for p in pairs])
    judged = relevant_chunks(golden, chunks)
    found = 0
    for relevant in judged.values():
        formats = {chunk_fmt[c] for c in relevant}
        fmt = min(formats) if formats else "(not found)"
        report.rows[fmt].golden += 1
        if relevant:
            report.rows[fmt].golden_found += 1
            found += 1

    sample = select_chunks(chunks, settings.synthetic.max_chunks, settings.synthetic.seed)
    titles = dict(split.valid.select("document_id", "title").iter_rows())
    candidates = TemplateGenerator(settings.synthetic.questions_per_chunk).generate(
        chunk_inputs(sample, titles, set(python_docs.pack_sources(settings.sources)))
    )
    dropped = _filter(candidates, chunks, [(p.question, p.answer) for p in pairs], settings, embed, encoder, report)
    for c in candidates:
        counts = report.rows[chunk_fmt[c.chunk_id]]
        counts.candidates += 1
        counts.kept += c.candidate_id not in dropped
    report.dropped.update(dropped.values())

    if chunks.is_empty():
        report.problems.append(Readiness(False, "No chunk: every document was quarantined or empty.", ("sources",)))
    kept = sum(r.kept for r in report.rows.values())
    if candidates and not kept:
        report.problems.append(
            Readiness(False, "No template Q/A pair survives the filters.", ("synthetic.max_chunks", "sources"))
        )
    verdict = golden_readiness(len(pairs), found, report.golden_origin)
    if not verdict.usable:
        report.problems.append(verdict)
    report.seconds = time.perf_counter() - started
    return report


def _filter(
    candidates: list[QACandidate],
    chunks: pl.DataFrame,
    golden: list[tuple[str, str]],
    settings: Settings,
    embed: bool,
    encoder: object | None,
    report: CheckReport,
) -> dict[str, str]:
    """candidate id -> drop reason, by the text filters or (``embed``) the whole chain the run uses."""
    if embed and encoder is None:
        from aiinfra_dagster.models.embedding import load_encoder  # local import: torch (~1.5 s), only with --embed

        models = settings.models
        path = resolve_model_path(models.embedding, "models.embedding", allow_hub_downloads=models.allow_hub_downloads)
        encoder = load_encoder(
            str(path), settings.features.embedding_max_length, settings.features.embedding_batch_size
        )
    _, dropped, _ = run_filters(
        candidates,
        encoder=encoder if embed else None,  # type: ignore[arg-type]
        chunk_ids=chunks["chunk_id"].to_list(),
        chunk_texts=chunks["text"].to_list(),
        golden_pairs=golden,
        params=filter_params(synthetic=settings.synthetic, pii=settings.pii),
    )
    report.filters = (
        "all (format, PII, decontamination, round-trip retrieval, near duplicates)"
        if embed
        else "format, PII and near duplicates (add --embed for decontamination and round-trip retrieval)"
    )
    return {c.candidate_id: reason for c, reason in dropped}
