"""Retrieval metrics over ranked chunk ids, as pure functions.

recall@k here is the share of questions whose top k holds at least one relevant chunk (a question is answered
once any chunk of its answer is retrieved; an answer that spans several chunks does not cap recall@1 below 1).
MRR is the mean reciprocal rank of the first relevant chunk, 0 when none is in the ranking (MRR@len(ranking)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

KS = (1, 5, 10)


@dataclass(frozen=True)
class RetrievalMetrics:
    questions: int
    recall: dict[int, float]
    mrr: float

    def as_metadata(self) -> dict[str, float | int]:
        recall = {f"recall_at_{k}": round(v, 4) for k, v in self.recall.items()}
        return {**recall, "mrr": round(self.mrr, 4), "questions_evaluated": self.questions}


def first_relevant_rank(ranked: Sequence[str], relevant: set[str]) -> int | None:
    """1-based rank of the first relevant id, None when absent."""
    for rank, chunk_id in enumerate(ranked, start=1):
        if chunk_id in relevant:
            return rank
    return None


def retrieval_metrics(
    rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]], ks: Sequence[int] = KS
) -> RetrievalMetrics:
    """recall@k for each k and MRR; questions with an empty relevant set must be left out by the caller."""
    if len(rankings) != len(relevant):
        raise ValueError(f"{len(rankings)} rankings for {len(relevant)} relevance sets")
    if any(not r for r in relevant):
        raise ValueError("every question needs at least one relevant chunk (leave the others out)")
    n = len(rankings)
    if n == 0:
        return RetrievalMetrics(0, {k: 0.0 for k in ks}, 0.0)
    ranks = [first_relevant_rank(r, rel) for r, rel in zip(rankings, relevant, strict=True)]
    recall = {k: sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    mrr = sum(1.0 / r for r in ranks if r is not None) / n
    return RetrievalMetrics(n, recall, mrr)
