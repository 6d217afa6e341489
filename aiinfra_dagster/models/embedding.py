"""Sentence embeddings with a BERT-style encoder, mean-pooled and L2-normalised.

This is the all-MiniLM-L6-v2 recipe (what sentence-transformers does for that
model) on plain transformers, so any local or hub encoder directory works and
texts are batched by length to waste little padding on CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from aiinfra_dagster.models.files import file_sha256


@dataclass
class TextEncoder:
    model_dir: Path
    max_length: int = 256
    batch_size: int = 64

    def __post_init__(self) -> None:
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
        self.model = AutoModel.from_pretrained(str(self.model_dir))
        self.model.eval()
        self.dimension = int(self.model.config.hidden_size)

    @property
    def model_id(self) -> str:
        """A content-derived id of the weights, so indexes and features record which model made them."""
        return model_fingerprint(self.model_dir)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text, in input order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        return out


@lru_cache(maxsize=8)
def model_fingerprint(model_dir: Path) -> str:
    """sha256 over the weight files' names and bytes (first 16 hex)."""
    return file_sha256(sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")))[:16]


@lru_cache(maxsize=2)
def load_encoder(model_dir: str, max_length: int = 256, batch_size: int = 64) -> TextEncoder:
    """One encoder per model directory per process (loading costs seconds)."""
    return TextEncoder(Path(model_dir), max_length=max_length, batch_size=batch_size)
