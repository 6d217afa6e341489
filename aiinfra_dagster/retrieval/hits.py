"""Search results and the errors readers see."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchHit:
    chunk_id: str
    score: float
    text: str
    document_path: str
    label: str | None


class IndexNotFoundError(LookupError):
    """The alias names no index (nothing materialized yet, or the wrong store)."""


def hit_from_payload(payload: dict | None, score: float) -> SearchHit:
    payload = payload or {}
    return SearchHit(
        chunk_id=str(payload.get("chunk_id", "")),
        score=float(score),
        text=str(payload.get("text", "")),
        document_path=str(payload.get("document_path", "")),
        label=payload.get("label"),
    )
