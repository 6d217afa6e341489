"""Counting tokens as the embedding model does, so chunk limits are exact (`chunking` packs by these counts)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from tokenizers import Tokenizer


class TokenCounter(Protocol):
    def count(self, text: str) -> int: ...


class HFTokenCounter:
    """Counts with the embedding model's own tokenizer, so limits are exact."""

    def __init__(self, tokenizer: object, batch_size: int = 4096) -> None:
        if not isinstance(tokenizer, Tokenizer):
            raise TypeError("HFTokenCounter needs a tokenizers.Tokenizer")
        tokenizer.no_truncation()  # a truncating tokenizer would under-count long texts
        tokenizer.no_padding()
        self._tok = tokenizer
        self.batch_size = batch_size

    @classmethod
    def from_file(cls, path: str | Path) -> HFTokenCounter:
        return cls(Tokenizer.from_file(str(path)))

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        counts: list[int] = []
        for i in range(0, len(texts), self.batch_size):  # bounded batches bound memory
            encodings = self._tok.encode_batch_fast(list(texts[i : i + self.batch_size]), add_special_tokens=False)
            counts.extend(len(e.ids) for e in encodings)
        return counts


class WhitespaceTokenCounter:
    """Whitespace word count: a dependency-free stand-in for tests and fallbacks."""

    def count(self, text: str) -> int:
        return len(text.split())

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


def count_all(counter: TokenCounter, texts: list[str]) -> list[int]:
    """Counts of every text, batched when the counter can (HFTokenCounter encodes a batch much faster)."""
    batch = getattr(counter, "count_batch", None)
    if callable(batch):
        return list(batch(texts))
    return [counter.count(t) for t in texts]
