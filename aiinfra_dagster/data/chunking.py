"""Structure-aware chunking of parsed documents for retrieval and training.

Chunks that respect headings and blocks retrieve better than fixed-size windows,
and every chunk must fit the embedding model's context or its tail is silently
truncated. So a document's sections (from the document model, whatever its format)
are packed block by block up to ``max_tokens`` as counted by the real tokenizer
(`token_counters`), a block too long alone is split by sentences, lines, words, then
characters, and every chunk's final count is verified.

Chunk texts are exact slices of ``Document.text`` from a chunk's first block to its
last (the source a person wrote for text formats, the extracted text for HTML/PDF);
only what lies between chunks (whitespace, comments, targets) is dropped. Each chunk
carries its blocks (kind, plain text, API entry) so readers never re-parse markup.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from aiinfra_dagster.data.token_counters import TokenCounter, count_all
from aiinfra_dagster.documents.model import Block, Document

SECTION_SEPARATOR = " > "


@dataclass(frozen=True)
class ChunkBlock:
    """A block (or the part of an oversized block) inside a chunk; offsets relative to the chunk text."""

    kind: str
    start: int
    end: int
    plain: str
    api: tuple[str, str, str] | None = None  # (kind, name, signature) of the API entry it documents


@dataclass(frozen=True)
class Chunk:
    """One retrievable unit; ``section`` is the heading path joined by ' > '."""

    chunk_id: str
    position: int
    section: str
    text: str
    n_tokens: int
    blocks: tuple[ChunkBlock, ...] = ()


def chunk_id_for(text: str) -> str:
    """Content-derived id, so re-chunking unchanged text yields the same ids (idempotent upserts)."""
    normalised = " ".join(text.split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:32]


def blocks_json(blocks: Sequence[ChunkBlock]) -> str:
    """The ``blocks`` column of ``document_chunks``: compact JSON, read back by ``parse_blocks``."""
    return json.dumps(
        [[b.kind, b.start, b.end, b.plain, list(b.api) if b.api else None] for b in blocks],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def parse_blocks(data: str | None) -> list[ChunkBlock]:
    if not data:
        return []
    return [ChunkBlock(k, s, e, p, tuple(a) if a else None) for k, s, e, p, a in json.loads(data)]


def plain_text(blocks: Sequence[ChunkBlock]) -> str:
    """What a reader sees of a chunk: its blocks' plain text, one paragraph each."""
    return "\n\n".join(b.plain for b in blocks if b.plain.strip())


_SENTENCE_END_RE = re.compile(r"[.!?][\"')\]]*\s+")
_LINE_SEP_RE = re.compile(r"\s*\n\s*")
_WORD_RE = re.compile(r"\S+")

# Split levels, coarsest first: paragraph, sentence, line, word, characters.
_SENTENCE, _LINE, _WORD, _CHAR = 1, 2, 3, 4


@dataclass
class _Piece:
    sec: int
    start: int
    end: int
    level: int
    para: int  # index of the block it came from (blocks never share an index)
    n: int = 0
    lines_first: bool = False  # code, lists, tables: split by lines before sentences


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Shrink a span to its non-whitespace extent."""
    seg = text[start:end]
    stripped = seg.lstrip()
    if not stripped:
        return None
    s = start + len(seg) - len(stripped)
    return s, s + len(stripped.rstrip())


def _spans_between(text: str, start: int, end: int, sep: re.Pattern[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = start
    for m in sep.finditer(text, start, end):
        t = _trimmed(text, pos, m.end() if sep is _SENTENCE_END_RE else m.start())
        if t:
            spans.append(t)
        pos = m.end()
    t = _trimmed(text, pos, end)
    if t:
        spans.append(t)
    return spans


def _sub_spans(text: str, start: int, end: int, level: int) -> list[tuple[int, int]]:
    if level == _SENTENCE:
        return _spans_between(text, start, end, _SENTENCE_END_RE)
    if level == _LINE:
        return _spans_between(text, start, end, _LINE_SEP_RE)
    if level == _WORD:
        return [(m.start(), m.end()) for m in _WORD_RE.finditer(text, start, end)]
    mid = (start + end) // 2  # characters: halve until it fits
    return [(start, mid), (mid, end)]


def _atomize(
    texts: list[str], spans: list[tuple[int, int, int, int, bool]], counter: TokenCounter, max_tokens: int
) -> list[_Piece]:
    """Block pieces ``(sec, block, start, end, lines_first)``; split further only where one block exceeds max_tokens.

    Prose splits by sentences first; code, lists and tables by lines first.
    """
    pieces = [_Piece(sec, start, end, 0, para, lines_first=lines) for sec, para, start, end, lines in spans]
    for p, n in zip(pieces, count_all(counter, [texts[p.sec][p.start : p.end] for p in pieces]), strict=True):
        p.n = n
    while any(p.n > max_tokens for p in pieces):
        refined: list[_Piece] = []
        fresh: list[_Piece] = []
        for p in pieces:
            if p.n <= max_tokens:
                refined.append(p)
                continue
            if p.level == _CHAR and p.end - p.start <= 1:
                raise ValueError(f"max_tokens={max_tokens} is smaller than a single character's token count")
            level = _LINE if p.level == 0 and p.lines_first else min(p.level + 1, _CHAR)
            subs = _sub_spans(texts[p.sec], p.start, p.end, level)
            if len(subs) == 1 and subs[0] == (p.start, p.end):
                refined.append(
                    _Piece(p.sec, p.start, p.end, level, p.para, p.n, p.lines_first)
                )  # same text, same count
                continue
            for s, e in subs:
                q = _Piece(p.sec, s, e, level, p.para)
                refined.append(q)
                fresh.append(q)
        for q, n in zip(fresh, count_all(counter, [texts[q.sec][q.start : q.end] for q in fresh]), strict=True):
            q.n = n
        pieces = refined
    return pieces


def _pack(pieces: list[_Piece], max_tokens: int) -> list[list[_Piece]]:
    """Greedy packing by summed piece counts; an oversized paragraph starts a fresh chunk."""
    groups: list[list[_Piece]] = []
    cur: list[_Piece] = []
    total = 0
    for p in pieces:
        starts_split_para = p.level > 0 and (not cur or cur[-1].para != p.para)
        if cur and (p.sec != cur[-1].sec or total + p.n > max_tokens or starts_split_para):
            groups.append(cur)
            cur, total = [], 0
        cur.append(p)
        total += p.n
    if cur:
        groups.append(cur)
    return groups


def _enforce_max(
    groups: list[list[_Piece]], texts: list[str], counter: TokenCounter, max_tokens: int
) -> list[tuple[list[_Piece], int]]:
    """Count the real chunk texts; halve any group the tokenizer says is still too long."""
    pending = groups
    done: dict[int, tuple[list[_Piece], int]] = {}
    order: list[list[_Piece]] = []
    while pending:
        counts = count_all(counter, [texts[g[0].sec][g[0].start : g[-1].end] for g in pending])
        nxt: list[list[_Piece]] = []
        for g, n in zip(pending, counts, strict=True):
            if n <= max_tokens or len(g) == 1:  # a single piece was already counted <= max
                done[id(g)] = (g, n)
                order.append(g)
            else:
                half = len(g) // 2
                nxt.extend([g[:half], g[half:]])
        pending = nxt
    order.sort(key=lambda g: (g[0].sec, g[0].start))
    return [done[id(g)] for g in order]


def _merge_small(
    chunks: list[tuple[int, int, int, int]], texts: list[str], counter: TokenCounter, max_tokens: int, min_tokens: int
) -> list[tuple[int, int, int, int]]:
    """Merge chunks under min_tokens into a neighbour of the same section when the result fits.

    Small chunks join the previous chunk; a small first chunk of a section joins
    the next one instead.  A small chunk that fits nowhere is kept as is: text
    is never dropped for being short.
    """
    out: list[tuple[int, int, int, int]] = []
    for sec, start, end, n in chunks:
        if n < min_tokens and out and out[-1][0] == sec:
            pstart = out[-1][1]
            merged = counter.count(texts[sec][pstart:end])
            if merged <= max_tokens:
                out[-1] = (sec, pstart, end, merged)
                continue
        if out and out[-1][3] < min_tokens and out[-1][0] == sec and (len(out) == 1 or out[-2][0] != sec):
            pstart = out[-1][1]
            merged = counter.count(texts[sec][pstart:end])
            if merged <= max_tokens:
                out[-1] = (sec, pstart, end, merged)
                continue
        out.append((sec, start, end, n))
    return out


_SPLIT_BY_LINES = frozenset({"code", "list", "table"})


def chunk_document(doc: Document, counter: TokenCounter, max_tokens: int, min_tokens: int = 0) -> list[Chunk]:
    """Chunk one document: sections, then blocks, then sentences/lines/words/characters.

    Every chunk has ``n_tokens <= max_tokens`` by ``counter``'s count of the final
    chunk text. Block counts are summed to pack (subword counts are nearly additive
    across whitespace) and the packed chunks are then counted once more in a batch;
    the rare chunk that still exceeds the limit is split.
    """
    return chunk_documents([doc], counter, max_tokens, min_tokens)[0]


def chunk_documents(
    docs: Sequence[Document], counter: TokenCounter, max_tokens: int, min_tokens: int = 0
) -> list[list[Chunk]]:
    """``chunk_document`` for many documents at once: one tokenizer batch per pass
    instead of one per document, which keeps every CPU core busy."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be >= 1")
    if min_tokens > max_tokens:
        raise ValueError("min_tokens must not exceed max_tokens")
    owners: list[int] = []
    headings: list[str] = []
    texts: list[str] = []
    blocks: list[Block] = []
    spans: list[tuple[int, int, int, int, bool]] = []
    for d, doc in enumerate(docs):
        for section in doc.sections:
            sec = len(owners)
            owners.append(d)
            headings.append(SECTION_SEPARATOR.join(section.heading_path))
            texts.append(doc.text)
            for block in section.blocks:
                trimmed = _trimmed(doc.text, block.start, block.end)
                if trimmed is None:
                    continue
                spans.append((sec, len(blocks), trimmed[0], trimmed[1], block.kind in _SPLIT_BY_LINES))
                blocks.append(block)
    pieces = _atomize(texts, spans, counter, max_tokens)
    counted = _enforce_max(_pack(pieces, max_tokens), texts, counter, max_tokens)
    groups = [(g[0].sec, g[0].start, g[-1].end, n) for g, n in counted]
    if min_tokens > 0:
        groups = _merge_small(groups, texts, counter, max_tokens, min_tokens)
    by_sec: dict[int, list[_Piece]] = {}
    for p in pieces:
        by_sec.setdefault(p.sec, []).append(p)
    starts = {sec: [p.start for p in section] for sec, section in by_sec.items()}
    out: list[list[Chunk]] = [[] for _ in docs]
    for sec, start, end, n in groups:
        body = texts[sec][start:end]
        chunks = out[owners[sec]]
        chunks.append(
            Chunk(
                chunk_id=chunk_id_for(body),
                position=len(chunks),
                section=headings[sec],
                text=body,
                n_tokens=n,
                blocks=_chunk_blocks(by_sec[sec], starts[sec], start, end, blocks, texts[sec]),
            )
        )
    return out


def _chunk_blocks(
    pieces: list[_Piece], starts: list[int], start: int, end: int, blocks: list[Block], text: str
) -> tuple[ChunkBlock, ...]:
    """The blocks inside ``text[start:end]``: whole blocks keep their plain text, parts of a split block get theirs.

    ``pieces`` are a section's pieces in text order (``starts`` their start offsets), so the chunk's are one slice.
    """
    out: list[ChunkBlock] = []
    inside = pieces[bisect_left(starts, start) : bisect_left(starts, end)]
    i = 0
    while i < len(inside):
        para = inside[i].para
        j = i
        while j < len(inside) and inside[j].para == para:
            j += 1
        block = blocks[para]
        s, e = inside[i].start, inside[j - 1].end
        whole = _trimmed(text, block.start, block.end) == (s, e)
        plain = block.plain if whole else _plain_part(text[s:e], block.kind)
        api = (block.api.kind, block.api.name, block.api.signature) if block.api else None
        out.append(ChunkBlock(block.kind, s - start, e - start, plain, api))
        i = j
    return tuple(out)


def _plain_part(source: str, kind: str) -> str:
    """Plain text of part of a split block: code keeps its lines, prose its words."""
    return source if kind in _SPLIT_BY_LINES else " ".join(source.split())
