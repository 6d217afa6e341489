"""Filters that decide which synthetic candidates may become training data.

Each filter returns ``{candidate_id: reason}`` for what it drops, and
``run_filters`` chains them so every candidate is either kept or dropped by
exactly one named reason: a run reports generated / kept / dropped-by-reason
and ``kept + dropped == generated`` always holds.  Reasons are
``<filter>.<detail>`` (``format.no_question_mark``, ``pii.email``) so reports
can be read per filter or in detail.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from aiinfra_dagster.data.dedup import near_duplicates
from aiinfra_dagster.data.pii import PII_TYPES, count_pii
from aiinfra_dagster.synthetic.generate import QACandidate

GoldenPair = tuple[str, str]  # (question, answer)


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


def words(text: str) -> list[str]:
    """Lowercased word tokens: punctuation and markup never hide a match."""
    return re.findall(r"\w+", text.lower())


def normalized(text: str) -> str:
    return " ".join(words(text))


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


# ----------------------------------------------------------------------------- format


def format_validity(
    candidates: Sequence[QACandidate],
    min_question_chars: int = 10,
    max_question_chars: int = 300,
    min_answer_chars: int = 10,
    max_answer_chars: int = 2000,
) -> dict[str, str]:
    """Drop pairs a model could not learn from: empty, not a question, wrong size, unfinished, or an echo."""
    dropped: dict[str, str] = {}
    for c in candidates:
        reason = _format_problem(c, min_question_chars, max_question_chars, min_answer_chars, max_answer_chars)
        if reason:
            dropped[c.candidate_id] = f"format.{reason}"
    return dropped


def _format_problem(c: QACandidate, min_q: int, max_q: int, min_a: int, max_a: int) -> str | None:
    question, answer = c.question.strip(), c.answer.strip()
    if not question and not answer:
        return "unparseable"
    if not question:
        return "empty_question"
    if not answer:
        return "empty_answer"
    if not question.endswith("?"):
        return "no_question_mark"
    if len(question) < min_q:
        return "question_too_short"
    if len(question) > max_q:
        return "question_too_long"
    if len(answer) < min_a:
        return "answer_too_short"
    if len(answer) > max_a:
        return "answer_too_long"
    if answer.endswith(":"):
        return "answer_incomplete"  # introduces something (code, a list) that is not there
    if _echoes(question, answer):
        return "answer_repeats_question"
    return None


def _echoes(question: str, answer: str) -> bool:
    """The answer adds (almost) no words the question did not already have."""
    q, a = set(words(question)), set(words(answer))
    return not a or len(a - q) <= max(1, len(a) // 10)


# ----------------------------------------------------------------------------- pii


def pii_check(
    candidates: Sequence[QACandidate], types: Sequence[str] = PII_TYPES, allowlist: Collection[str] = ()
) -> dict[str, str]:
    """Drop pairs whose question or answer contains PII: training data is readable back from the model."""
    dropped: dict[str, str] = {}
    for c in candidates:
        counts = count_pii(f"{c.question}\n{c.answer}", types, allowlist)
        found = [kind for kind, n in counts.items() if n]
        if found:
            dropped[c.candidate_id] = f"pii.{found[0]}"
    return dropped


# ----------------------------------------------------------------------------- near duplicates


def near_duplicate_questions(
    candidates: Sequence[QACandidate], threshold: float = 0.8, num_perm: int = 128, shingle_size: int = 3
) -> dict[str, str]:
    """Drop all but the first of each group of near-identical questions (MinHash over word shingles).

    Questions are short, so shingles are 3 words rather than the 5 used for
    chunks; text is normalised so case and punctuation do not separate copies.
    """
    items = [(str(i), normalized(c.question)) for i, c in enumerate(candidates)]
    removed = near_duplicates(items, threshold=threshold, num_perm=num_perm, shingle_size=shingle_size)
    return {candidates[int(i)].candidate_id: "near_duplicate.question" for i in removed}


# ----------------------------------------------------------------------------- decontamination


def decontaminate(
    candidates: Sequence[QACandidate],
    question_embeddings: np.ndarray,
    golden_pairs: Sequence[GoldenPair],
    golden_question_embeddings: np.ndarray,
    threshold: float = 0.85,
    ngram_size: int = 8,
) -> dict[str, str]:
    """Drop anything too close to an evaluation item, so eval scores measure generalisation.

    Three checks, cheapest first: the normalised question or answer equals a
    golden question or answer; the pair shares a word ``ngram_size``-gram with
    a golden question or answer; the question's embedding has cosine
    similarity >= ``threshold`` with a golden question's (catches paraphrases).
    Embeddings must be L2-normalised rows aligned with their sequences.
    """
    _check_rows(question_embeddings, len(candidates), "question_embeddings")
    _check_rows(golden_question_embeddings, len(golden_pairs), "golden_question_embeddings")
    golden_texts = {normalized(t) for pair in golden_pairs for t in pair} - {""}
    golden_grams: set[tuple[str, ...]] = set()
    for question, answer in golden_pairs:
        golden_grams |= word_ngrams(question, ngram_size) | word_ngrams(answer, ngram_size)
    if len(golden_pairs) and len(candidates):
        best = (question_embeddings @ golden_question_embeddings.T).max(axis=1)
    else:
        best = np.zeros(len(candidates), dtype=np.float32)
    dropped: dict[str, str] = {}
    for c, similarity in zip(candidates, best, strict=True):
        if normalized(c.question) in golden_texts or normalized(c.answer) in golden_texts:
            dropped[c.candidate_id] = "contamination.exact"
        elif golden_grams and (word_ngrams(c.question, ngram_size) | word_ngrams(c.answer, ngram_size)) & golden_grams:
            dropped[c.candidate_id] = "contamination.ngram"
        elif similarity >= threshold:
            dropped[c.candidate_id] = "contamination.embedding"
    return dropped


# ----------------------------------------------------------------------------- round trip


def round_trip(
    candidates: Sequence[QACandidate],
    question_embeddings: np.ndarray,
    chunk_ids: Sequence[str],
    chunk_embeddings: np.ndarray,
    k: int = 5,
    block_size: int = 4096,
) -> dict[str, str]:
    """Keep a pair only if its question retrieves its own source chunk in the top ``k``.

    A question that does not lead back to its chunk is vague, or about
    something else; training on it teaches the assistant to answer from the
    wrong context.  Exact search: a chunk's rank is the number of chunks
    scoring strictly higher than it, counted block by block so 16k x 384
    chunk matrices never need a full score matrix.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    _check_rows(question_embeddings, len(candidates), "question_embeddings")
    _check_rows(chunk_embeddings, len(chunk_ids), "chunk_embeddings")
    position: dict[str, int] = {}
    for i, cid in enumerate(chunk_ids):
        position.setdefault(cid, i)
    dropped: dict[str, str] = {}
    known = [i for i, c in enumerate(candidates) if c.chunk_id in position]
    for c in candidates:
        if c.chunk_id not in position:
            dropped[c.candidate_id] = "round_trip.unknown_chunk"
    if not known:
        return dropped
    queries = np.asarray(question_embeddings[known], dtype=np.float32)
    chunks = np.asarray(chunk_embeddings, dtype=np.float32)
    own = np.einsum("ij,ij->i", queries, chunks[[position[candidates[i].chunk_id] for i in known]])
    higher = np.zeros(len(known), dtype=np.int64)
    for start in range(0, len(chunks), block_size):
        scores = queries @ chunks[start : start + block_size].T
        higher += (scores > own[:, None] + 1e-6).sum(axis=1)
    for i, rank in zip(known, higher, strict=True):
        if rank >= k:
            dropped[candidates[i].candidate_id] = "round_trip.not_retrieved"
    return dropped


def _check_rows(matrix: np.ndarray, expected: int, name: str) -> None:
    if matrix.ndim != 2 or matrix.shape[0] != expected:
        raise ValueError(f"{name}: expected {expected} rows, got shape {matrix.shape}")


# ----------------------------------------------------------------------------- pipeline


@dataclass(frozen=True)
class FilterParams:
    """Every threshold of the filter chain (the settings map onto this one-to-one)."""

    min_question_chars: int = 10
    max_question_chars: int = 300
    min_answer_chars: int = 10
    max_answer_chars: int = 2000
    pii_types: tuple[str, ...] = PII_TYPES
    pii_allowlist: tuple[str, ...] = ()
    dedup_threshold: float = 0.8
    dedup_num_perm: int = 128
    dedup_shingle_size: int = 3
    decontamination_threshold: float = 0.85
    decontamination_ngram: int = 8
    round_trip_k: int = 5


@dataclass
class FilterReport:
    """Counts for the run's metadata; ``survivors`` is how many remain after each stage, in order."""

    generated: int
    kept: int
    dropped: dict[str, int]
    survivors: dict[str, int] = field(default_factory=dict)

    def dropped_by_filter(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for reason, n in self.dropped.items():
            totals[reason.split(".", 1)[0]] += n
        return dict(totals)


STAGES = ("duplicate_id", "format", "pii", "contamination", "round_trip", "near_duplicate")


def run_filters(
    candidates: Sequence[QACandidate],
    *,
    encoder: Encoder | None,
    chunk_ids: Sequence[str],
    golden_pairs: Sequence[GoldenPair],
    chunk_embeddings: np.ndarray | None = None,
    chunk_texts: Sequence[str] | None = None,
    golden_question_embeddings: np.ndarray | None = None,
    params: FilterParams = FilterParams(),
) -> tuple[list[QACandidate], list[tuple[QACandidate, str]], FilterReport]:
    """Apply every filter; each candidate is dropped by the first one that rejects it.

    Order: repeated ids, format, PII (text only, cheap), then one embedding
    pass over the surviving questions for decontamination and round-trip
    retrieval, and near-duplicate questions last, so a duplicate is only
    removed in favour of a copy that passed everything else.  Pass
    ``chunk_embeddings`` (e.g. from the vector index, same encoder) or
    ``chunk_texts`` to have them encoded here. With ``encoder=None`` only the text filters run (format, PII,
    near duplicates): what `aiinfra check` does in seconds without loading a model.
    """
    if encoder is not None and chunk_embeddings is None:
        if chunk_texts is None:
            raise ValueError("run_filters needs chunk_embeddings or chunk_texts")
        if len(chunk_texts) != len(chunk_ids):
            raise ValueError("chunk_texts and chunk_ids must have the same length")
        chunk_embeddings = encoder.encode(list(chunk_texts))
    if encoder is not None and golden_question_embeddings is None:
        golden_question_embeddings = encoder.encode([q for q, _ in golden_pairs])

    dropped: list[tuple[QACandidate, str]] = []
    first: dict[str, QACandidate] = {}
    for c in candidates:  # verdicts are keyed by id, so ids must be unique from here on
        if c.candidate_id in first:
            dropped.append((c, "duplicate_id.repeated"))
        else:
            first[c.candidate_id] = c
    alive = list(first.values())
    survivors: dict[str, int] = {"duplicate_id": len(alive)}

    def apply(stage: str, verdicts: dict[str, str]) -> None:
        nonlocal alive
        dropped.extend((c, verdicts[c.candidate_id]) for c in alive if c.candidate_id in verdicts)
        alive = [c for c in alive if c.candidate_id not in verdicts]
        survivors[stage] = len(alive)

    lengths = (params.min_question_chars, params.max_question_chars, params.min_answer_chars, params.max_answer_chars)
    apply("format", format_validity(alive, *lengths))
    apply("pii", pii_check(alive, params.pii_types, params.pii_allowlist))

    if encoder is not None:
        assert chunk_embeddings is not None and golden_question_embeddings is not None
        embeddings = encoder.encode([c.question for c in alive])
        row = {c.candidate_id: i for i, c in enumerate(alive)}
        verdicts = decontaminate(
            alive,
            embeddings,
            golden_pairs,
            golden_question_embeddings,
            params.decontamination_threshold,
            params.decontamination_ngram,
        )
        apply("contamination", verdicts)
        rows = [row[c.candidate_id] for c in alive]
        apply("round_trip", round_trip(alive, embeddings[rows], chunk_ids, chunk_embeddings, params.round_trip_k))
    apply(
        "near_duplicate",
        near_duplicate_questions(alive, params.dedup_threshold, params.dedup_num_perm, params.dedup_shingle_size),
    )

    report = FilterReport(
        generated=len(candidates),
        kept=len(alive),
        dropped=dict(Counter(reason for _, reason in dropped)),
        survivors=survivors,
    )
    if report.kept + len(dropped) != report.generated:
        raise RuntimeError("filter accounting broken: a candidate was neither kept nor dropped")
    return alive, dropped, report
