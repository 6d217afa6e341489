"""Model resources: configured in settings, resolved offline when a step first needs them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from aiinfra_dagster.models.embedding import TextEncoder, load_encoder, model_fingerprint
from aiinfra_dagster.models.locate import resolve_model_path
from aiinfra_dagster.settings import ModelRef


class EmbeddingModelResource(dg.ConfigurableResource):
    """The sentence encoder (all-MiniLM-L6-v2 from its package by default)."""

    model_ref_json: str = Field(description="models.embedding from the settings, as JSON")
    allow_hub_downloads: bool = False
    batch_size: int = 64
    max_length: int = 256

    @property
    def model_ref(self) -> ModelRef:
        return ModelRef.model_validate_json(self.model_ref_json)

    def model_dir(self) -> Path:
        return resolve_model_path(self.model_ref, "models.embedding", allow_hub_downloads=self.allow_hub_downloads)

    def encoder(self) -> TextEncoder:
        return load_encoder(str(self.model_dir()), self.max_length, self.batch_size)

    def encoder_id(self) -> str:
        """Content hash of the encoder's weights (what embeddings and fine-tunes of it record)."""
        return model_fingerprint(self.model_dir())
