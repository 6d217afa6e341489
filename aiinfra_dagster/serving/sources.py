"""Which models and index a Bento serves, read from the latest materializations of their assets.

`llm_to_serve` is the one place that decides the LLM: the champion chosen by
evaluation (`champion_model`), never an unvetted fine-tune.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from aiinfra_dagster.materializations import latest_metadata
from aiinfra_dagster.serving.bento import ModelSource

LLM_ASSET = "champion_model"


class MissingInputError(LookupError):
    """An upstream asset was never materialized; the message names it."""


def llm_to_serve(instance: dg.DagsterInstance) -> ModelSource:
    """The champion: `model_path` (a directory transformers loads, with a chat template) and `model_version`."""
    meta = latest_metadata(instance, LLM_ASSET)
    if not meta or not meta.get("model_path"):
        raise MissingInputError(f"no LLM to serve: materialize {LLM_ASSET} first (evaluation promotes it)")
    return ModelSource(
        "aiinfra-llm", str(meta.get("model_version") or "unversioned"), str(meta["model_path"]), LLM_ASSET
    )


def classifier_to_serve(instance: dg.DagsterInstance) -> ModelSource:
    meta = latest_metadata(instance, "topic_classifier")
    if not meta or not meta.get("model_path"):
        raise MissingInputError("no topic classifier to serve: materialize topic_classifier first")
    return ModelSource(
        "aiinfra-topic-classifier", str(meta["model_version"]), str(meta["model_path"]), "topic_classifier"
    )


def index_alias_to_serve(instance: dg.DagsterInstance, default_alias: str) -> tuple[str, str | None]:
    """(alias, index version it named at materialization) from vector_index, else the configured alias."""
    meta: Mapping[str, Any] = latest_metadata(instance, "vector_index") or {}
    return str(meta.get("alias") or default_alias), (str(meta["index_version"]) if meta.get("index_version") else None)
