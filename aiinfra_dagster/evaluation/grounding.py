"""Context for grounded evaluation: the serving index's top-k chunks for each golden question."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from aiinfra_dagster.evaluation.pipeline import Grounding
from aiinfra_dagster.retrieval.index import IndexNotFoundError, open_index
from aiinfra_dagster.settings import QdrantSettings


def retrieve_grounding(
    qdrant: QdrantSettings, golden: pl.DataFrame, encode: Callable[[list[str]], np.ndarray], k: int
) -> Grounding | None:
    """Top-k (chunk_id, text) per qa_id from the index the serving alias names; None while there is no index."""
    try:
        index = open_index(qdrant)
    except IndexNotFoundError:
        return None
    try:
        hits = index.search(encode(golden["question"].to_list()), k=k) if golden.height else []
        contexts = {
            qa: tuple((h.chunk_id, h.text) for h in row)
            for qa, row in zip(golden["qa_id"].to_list(), hits, strict=True)
        }
        return Grounding(index_version=index.version, contexts=contexts)
    finally:
        index.close()
