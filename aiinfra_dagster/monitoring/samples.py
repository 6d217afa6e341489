"""The two samples a drift report compares, built with the models the service uses.

Reference: training_set questions searched in the serving index (their best score) and
classified by the served topic classifier. Current: the window's queries with the scores
the service logged when it answered them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from aiinfra_dagster.monitoring.report import TrafficSample, top_scores
from aiinfra_dagster.retrieval.hits import IndexNotFoundError
from aiinfra_dagster.retrieval.index import open_index
from aiinfra_dagster.settings import QdrantSettings
from aiinfra_dagster.training.classifier_predict import predict_topics


def drift_samples(
    qdrant: QdrantSettings,
    questions: list[str],
    window: pl.DataFrame,
    encode: Callable[[list[str]], np.ndarray],
    classifier_path: str | None,
) -> tuple[TrafficSample, TrafficSample, str | None]:
    """(reference, current, index version searched); without two rows per side only the logged scores are kept."""
    texts = window.get_column("query").to_list()
    logged = top_scores(window.get_column("scores").to_list())
    if len(texts) < 2 or len(questions) < 2:
        empty = np.zeros((0, 1))
        return TrafficSample(questions, empty, [], []), TrafficSample(texts, empty, [], logged), None
    reference_vectors, current_vectors = encode(questions), encode(texts)
    reference_best, index_version = best_scores(qdrant, reference_vectors)
    topics = predicted_topics(classifier_path, [*questions, *texts])
    return (
        TrafficSample(questions, reference_vectors, topics[: len(questions)], reference_best),
        TrafficSample(texts, current_vectors, topics[len(questions) :], logged),
        index_version,
    )


def best_scores(qdrant: QdrantSettings, vectors: np.ndarray) -> tuple[list[float], str | None]:
    """Best score of each vector in the index the service reads (0 each while there is none), and its version."""
    try:
        index = open_index(qdrant)
    except IndexNotFoundError:
        return [0.0] * len(vectors), None
    try:
        return [row[0].score if row else 0.0 for row in index.search(vectors, k=1)], index.version
    finally:
        index.close()


def predicted_topics(model_path: str | None, texts: list[str]) -> list[str | None]:
    """Predicted topic per text; all None (one class) while no classifier exists."""
    if not model_path:
        return [None] * len(texts)
    return [label for label, _ in predict_topics(Path(model_path), texts)]
