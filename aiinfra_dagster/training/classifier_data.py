"""The topic classifier's inputs: the text of a chunk, and the split of labeled chunks by document.

The split is by a stable hash of the chunk's document, so no page has chunks on both sides, and
the human reference labels are kept only on the held-out side, for scoring (`classifier_predict`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from aiinfra_dagster.settings import ClassifierSettings

SPLIT_SALT = "topic-classifier-split"
"""Salted so the held-out documents are independent of other hash samples of the corpus (e.g. sources)."""

TRAIN_COLUMNS = ("chunk_id", "document_id", "text", "label")
EVAL_COLUMNS = ("chunk_id", "document_id", "text", "label", "reference_label")


def classifier_text(section: str | None, text: str) -> str:
    """The classifier's input for a chunk: its heading path, then its text.

    The heading path (e.g. ":mod:`socket` --- Low-level networking interface > Example") is part
    of what a reader sees and names the module being documented; callers of `predict_topics`
    must build inputs the same way.
    """
    return f"{section}\n{text}" if section else text


def _unit_hash(key: str) -> float:
    """A stable number in [0, 1) from a string, the same on every machine and run."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_held_out(document_id: str, validation_fraction: float) -> bool:
    """Whether a document belongs to the evaluation side of the split."""
    return _unit_hash(f"{SPLIT_SALT}:{document_id}") < validation_fraction


@dataclass(frozen=True)
class ClassifierData:
    """Train and evaluation rows, split by document.

    ``train``: chunk_id, document_id, text, label (what the model learns).
    ``eval``: chunk_id, document_id, text, label (chunk_labels' label, may be null),
    reference_label (the human label, never null here).
    """

    classes: list[str]
    train: pl.DataFrame
    eval: pl.DataFrame
    train_documents: int
    eval_documents: int
    """held-out documents, whether or not they have reference labels (only those are scored)"""
    skipped_low_confidence: int
    skipped_by_sample: int

    @property
    def unseen_reference_labels(self) -> list[str]:
        """Reference labels of evaluation rows the model cannot predict (no training row has them)."""
        known = set(self.classes)
        return sorted({r for r in self.eval["reference_label"].to_list() if r not in known})


def classifier_examples(chunk_labels: pl.DataFrame, chunks: pl.DataFrame, params: ClassifierSettings) -> ClassifierData:
    """Split labeled chunks into training and held-out evaluation rows.

    Train rows have a label with confidence >= ``min_label_confidence`` and come from training
    documents, stably sampled (by chunk-id hash, spread over documents) down to
    ``max_train_examples``. Evaluation rows are every chunk of a held-out document that has a
    reference label, whatever its chunk_labels label (null labels included, so the figure
    covers the whole held-out page set). Classes are the sorted labels of the training rows.
    """
    joined = chunks.select(
        "chunk_id",
        "document_id",
        pl.when(pl.col("section").fill_null("") != "")
        .then(pl.concat_str("section", pl.lit("\n"), "text"))
        .otherwise(pl.col("text"))
        .alias("text"),  # = classifier_text(section, text), vectorised
    ).join(chunk_labels.select("chunk_id", "label", "confidence", "reference_label"), on="chunk_id", how="inner")
    documents = joined["document_id"].unique().to_list()
    held_out = {d for d in documents if is_held_out(d, params.validation_fraction)}
    joined = joined.with_columns(pl.col("document_id").is_in(list(held_out)).alias("_held_out"))

    candidates = joined.filter(~pl.col("_held_out") & pl.col("label").is_not_null())
    confident = candidates.filter(pl.col("confidence") >= params.min_label_confidence)
    train = _stable_sample(confident, params.max_train_examples, params.seed)
    evaluation = joined.filter(pl.col("_held_out") & pl.col("reference_label").is_not_null()).sort("chunk_id")
    return ClassifierData(
        classes=sorted(set(train["label"].to_list())),
        train=train.select(TRAIN_COLUMNS),
        eval=evaluation.select(EVAL_COLUMNS),
        train_documents=len(set(documents) - held_out),
        eval_documents=len(held_out),
        skipped_low_confidence=candidates.height - confident.height,
        skipped_by_sample=confident.height - train.height,
    )


def _stable_sample(frame: pl.DataFrame, limit: int | None, seed: int) -> pl.DataFrame:
    """At most ``limit`` rows, spread over as many documents as possible, chosen by hash.

    Chunks are ranked by hash inside their document and taken round-robin (every document's
    first pick, then every second pick, ...): the evaluation is on unseen pages, so page variety
    is worth more than many chunks of a long page. The order is a pure function of the ids, so
    a larger limit keeps every row of a smaller one and new chunks barely change the choice.
    """
    ranked = frame.with_columns(
        pl.col("chunk_id").map_elements(lambda c: _unit_hash(f"{seed}:{c}"), return_dtype=pl.Float64).alias("_hash")
    ).with_columns(pl.col("_hash").rank("ordinal").over("document_id").alias("_round"))
    ranked = ranked.sort("_round", "_hash")
    if limit is not None:
        ranked = ranked.head(limit)
    return ranked.drop("_hash", "_round")
