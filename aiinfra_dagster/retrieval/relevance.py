"""Which chunks answer a golden question: the relevance judgements retrieval metrics are scored against.

A chunk is relevant to a Q/A pair when it comes from the pair's page and sits in the section whose heading is
the question (FAQ pages are one section per question, and chunks never cross sections). Pairs from user files,
whose source is not a chunked page, fall back to text: chunks that contain the opening of the reference answer
(its first `lead_chars` characters, case and whitespace normalised, found in the chunk's plain text, i.e. what a
reader sees of its blocks, so Markdown emphasis or reST roles never hide a match). A pair with no relevant chunk
(its answer was not chunked, or deduplicated away) is left out of the metrics and counted, not scored as a miss.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from aiinfra_dagster.data.chunking import parse_blocks, plain_text
from aiinfra_dagster.retrieval.build import GoldenQueries


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _reader_text(text: str, blocks: str | None) -> str:
    """A chunk's plain text from its blocks (the raw text for chunks stored without blocks)."""
    return plain_text(parse_blocks(blocks)) or text


def _heading(section: str) -> str:
    return normalise(section.split(" > ")[-1]) if section else ""


def relevant_chunks(pairs: pl.DataFrame, chunks: pl.DataFrame, lead_chars: int = 60) -> dict[str, set[str]]:
    """qa_id -> relevant chunk ids; `pairs`: qa_id, question, answer, source; `chunks`: chunk_id, path, section, text"""
    by_page: dict[tuple[str, str], set[str]] = {}
    for row in chunks.select("chunk_id", "path", "section").iter_rows(named=True):
        by_page.setdefault((row["path"], _heading(row["section"] or "")), set()).add(row["chunk_id"])
    texts: list[tuple[str, str]] | None = None
    out: dict[str, set[str]] = {}
    for pair in pairs.select("qa_id", "question", "answer", "source").iter_rows(named=True):
        found = by_page.get((pair["source"], normalise(pair["question"])), set())
        if not found:
            lead = normalise(pair["answer"])[:lead_chars]
            lead = re.sub(r"\s\S*$", "", lead) if len(lead) == lead_chars else lead  # whole words only
            lead = lead.rstrip(".!?;:, ")  # a short answer's final stop may be a comma in the chunk
            if len(lead) >= 20:
                if texts is None:
                    has_blocks = "blocks" in chunks.columns
                    rows = chunks.select("chunk_id", "text", "blocks" if has_blocks else pl.lit(None).alias("blocks"))
                    texts = [(cid, normalise(_reader_text(text, blocks))) for cid, text, blocks in rows.iter_rows()]
                found = {cid for cid, text in texts if lead in text}
        out[pair["qa_id"]] = set(found)
    return out


def golden_queries(pairs: pl.DataFrame, chunks: pl.DataFrame, indexed: set[str], encoder) -> GoldenQueries:
    """Golden questions whose answer is in the index, embedded with the index's encoder; the rest counted left out."""
    judged = relevant_chunks(pairs, chunks)
    keep = [(r["qa_id"], r["question"], judged[r["qa_id"]] & indexed) for r in pairs.iter_rows(named=True)]
    keep = sorted((k for k in keep if k[2]), key=lambda k: k[0])
    questions = [k[1] for k in keep]
    vectors = encoder.encode(questions) if questions else np.zeros((0, 0), dtype=np.float32)
    return GoldenQueries(
        qa_ids=[k[0] for k in keep],
        questions=questions,
        vectors=np.asarray(vectors, dtype=np.float32),
        relevant=[k[2] for k in keep],
        left_out=pairs.height - len(keep),
    )
