"""The label stage's entry for chunk_labels: labeling functions, the zero-shot labeler and human labels, combined.

Returns a typed outcome the asset turns into metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS
from aiinfra_dagster.features.embeddings import embedding_matrix
from aiinfra_dagster.features.tables import CHUNK_EMBEDDINGS
from aiinfra_dagster.labels.pipeline import LabelingOutcome, ZeroShotInputs, label_chunks
from aiinfra_dagster.labels.setup import label_classes, labeling_functions
from aiinfra_dagster.labels.tables import CHUNK_LABELS, HUMAN_LABELS, REFERENCE_LABELS
from aiinfra_dagster.labels.zero_shot import label_descriptions
from aiinfra_dagster.lakehouse import DeltaStore, WriteResult
from aiinfra_dagster.models.embedding import TextEncoder
from aiinfra_dagster.settings import Settings


@dataclass(frozen=True)
class ChunkLabeling:
    """One chunk_labels run: the labeling outcome, its inputs, classes and labeling-function versions, the write."""

    outcome: LabelingOutcome
    inputs: dict[str, int | None]
    classes: list[str]
    function_versions: dict[str, str]
    write: WriteResult


def label_all_chunks(
    settings: Settings,
    store: DeltaStore,
    encoder: Callable[[], TextEncoder],
    *,
    warn: Callable[[str], Any] = print,
) -> ChunkLabeling:
    """A label per chunk synced into chunk_labels; `encoder` is called only when the zero-shot labeler runs."""
    inputs = {
        t.name: store.version(t.name) for t in (DOCUMENT_CHUNKS, CHUNK_EMBEDDINGS, REFERENCE_LABELS, HUMAN_LABELS)
    }
    reference = store.read(REFERENCE_LABELS)
    classes = label_classes(settings.labels, reference)
    chunks = store.read(DOCUMENT_CHUNKS).select("chunk_id", "path", "section", "text").sort("chunk_id")
    if not classes:
        warn("no label classes (set labels.classes or reference labels): chunks stay unlabeled")
    lfs = labeling_functions(classes, labels=settings.labels, sources=settings.sources)

    zero_shot = None
    if settings.labels.zero_shot and classes:
        loaded = encoder()
        aligned = chunks.select("chunk_id").join(store.read(CHUNK_EMBEDDINGS), on="chunk_id", how="left")
        if aligned["embedding"].null_count():
            raise RuntimeError("chunk_embeddings is missing chunks: materialize chunk_embeddings first")
        descriptions = [
            settings.labels.descriptions.get(c, d) for c, d in zip(classes, label_descriptions(classes), strict=True)
        ]
        zero_shot = ZeroShotInputs(
            chunk_embeddings=embedding_matrix(aligned),
            label_embeddings=loaded.encode(descriptions),
            model_id=loaded.model_id,
            min_similarity=settings.labels.zero_shot_min_similarity,
            min_margin=settings.labels.zero_shot_min_margin,
        )
    human = dict(store.read(HUMAN_LABELS).select("chunk_id", "label").iter_rows())
    outcome = label_chunks(
        chunks,
        classes,
        lfs,
        zero_shot=zero_shot,
        human=human,
        reference=dict(reference.select("path", "label").iter_rows()),
        max_iter=settings.labels.label_model_max_iter,
    )
    write = store.sync(CHUNK_LABELS, outcome.table)
    return ChunkLabeling(outcome, inputs, classes, {lf.name: lf.version for lf in lfs}, write)
