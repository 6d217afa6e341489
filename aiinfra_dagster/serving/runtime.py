"""The assistant itself, without HTTP: retrieve, answer with citations, classify.

The Bento service wraps one `Assistant`; the benchmark calls it in-process as
the baseline.  Models are loaded once; each model is used under its own lock so
concurrent requests on a small CPU queue instead of oversubscribing the cores.
The index alias is re-resolved at most every `refresh_seconds`, so a blue/green
switch of the index is picked up without a restart and without an empty result.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from aiinfra_dagster.models.embedding import load_encoder
from aiinfra_dagster.rag import answer_messages
from aiinfra_dagster.retrieval.index import open_index
from aiinfra_dagster.settings import Settings
from aiinfra_dagster.synthetic.llm import generate_chat, load_causal_lm
from aiinfra_dagster.training.classifier_data import classifier_text
from aiinfra_dagster.training.classifier_predict import predict_proba


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    score: float
    text: str
    document_path: str
    label: str | None

    def public(self, with_text: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "chunk_id": self.chunk_id,
            "score": self.score,
            "document_path": self.document_path,
            "label": self.label,
        }
        if with_text:
            out["text"] = self.text
        return out


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    index_version: str


@dataclass(frozen=True)
class Answer:
    answer: str
    citations: list[str]
    hits: list[Hit]
    index_version: str


@dataclass(frozen=True)
class Topic:
    label: str
    probability: float


@dataclass
class Assistant:
    settings: Settings
    llm_dir: Path
    classifier_dir: Path
    encoder_dir: Path
    index_alias: str
    refresh_seconds: float = 1.0
    _locks: dict[str, threading.Lock] = field(
        default_factory=lambda: {k: threading.Lock() for k in ("llm", "cls", "enc", "idx")}
    )

    def __post_init__(self) -> None:
        torch.set_num_threads(self.settings.serving.torch_threads)
        self.llm, self.tokenizer = load_causal_lm(Path(self.llm_dir))
        self.cls_tokenizer = AutoTokenizer.from_pretrained(str(self.classifier_dir))
        self.cls_model = AutoModelForSequenceClassification.from_pretrained(
            str(self.classifier_dir), dtype=torch.float32
        ).eval()
        self.encoder = load_encoder(
            str(self.encoder_dir),
            self.settings.features.embedding_max_length,
            self.settings.features.embedding_batch_size,
        )
        self.index = open_index(self.settings.qdrant, alias=self.index_alias)
        self._refreshed = time.monotonic()

    @property
    def index_version(self) -> str:
        return str(self.index.version)

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._refreshed >= self.refresh_seconds:
            self.index.refresh()
            self._refreshed = time.monotonic()

    def search(self, query: str, k: int, label: str | None = None) -> SearchResult:
        with self._locks["enc"]:
            vectors = self.encoder.encode([query])
        with self._locks["idx"]:
            self._maybe_refresh()
        # The index keeps a search on the version it started on while refresh() swaps versions.
        version = self.index_version
        rows = self.index.search(vectors, k, label=label)[0]
        hits = [Hit(h.chunk_id, float(h.score), h.text, h.document_path, h.label) for h in rows]
        return SearchResult(hits, version)

    def ask(self, question: str, k: int) -> Answer:
        found = self.search(question, k)
        chunks = self._context(found.hits)
        messages = answer_messages(question, chunks, self.settings.training_set.system_prompt)
        cited = [chunk_id for chunk_id, _ in chunks]
        with self._locks["llm"]:
            answer = generate_chat(
                self.llm,
                self.tokenizer,
                [messages],
                self.settings.serving.max_new_tokens,
                repetition_penalty=self.settings.serving.repetition_penalty,
            )[0]
        return Answer(answer.strip(), cited, found.hits, found.index_version)

    def _context(self, hits: list[Hit]) -> list[tuple[str, str]]:
        """(chunk_id, text) of the retrieved chunks, best first, up to serving.max_context_chars: the citations."""
        budget = self.settings.serving.max_context_chars
        chunks: list[tuple[str, str]] = []
        for hit in hits:
            text = hit.text[: max(budget, 0)]
            if not text:
                break
            chunks.append((hit.chunk_id, text))
            budget -= len(text)
        return chunks

    def classify(self, text: str, section: str | None = None) -> Topic:
        with self._locks["cls"]:
            proba = predict_proba(
                self.cls_model,
                self.cls_tokenizer,
                [classifier_text(section, text)],
                int(self.cls_tokenizer.model_max_length),
            )[0]
        best = int(proba.argmax())
        return Topic(str(self.cls_model.config.id2label[best]), float(proba[best]))

    def close(self) -> None:
        self.index.close()
