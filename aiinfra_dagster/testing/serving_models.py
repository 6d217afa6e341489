"""Helpers for serving tests and benchmarks: a small topic classifier built offline in a second."""

from __future__ import annotations

from pathlib import Path
from pydoc_data.topics import topics

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from aiinfra_dagster.models.embedding import load_encoder


def build_untrained_topic_classifier(
    encoder_dir: Path, directory: Path, classes: list[str], max_length: int = 64
) -> Path:
    """The embedding model with a fresh classification head: the same files `topic_classifier` writes.

    Untrained (its labels are arbitrary) but loadable exactly like a trained one, so the
    /classify path runs the real model without minutes of training.
    """
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(encoder_dir),
        num_labels=len(classes),
        id2label=dict(enumerate(classes)),
        label2id={c: i for i, c in enumerate(classes)},
    )
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir), model_max_length=max_length)
    directory = Path(directory)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


TEST_LABELS = ("statements", "types", "other")


def topic_rows(encoder_dir: Path, count: int = 30, offset: int = 0, suffix: str = "") -> list[dict]:
    """Index rows from the pydoc topics shipped with Python: real text, real embeddings, three labels."""
    keys = sorted(topics)[offset : offset + count]
    texts = [topics[k][:600] for k in keys]
    vectors = load_encoder(str(encoder_dir)).encode(texts)
    return [
        {
            "chunk_id": f"{k}{suffix}",
            "text": text,
            "document_path": f"pydoc_topics/{k}",
            "label": TEST_LABELS[i % len(TEST_LABELS)],
            "embedding": vector.tolist(),
        }
        for i, (k, text, vector) in enumerate(zip(keys, texts, vectors, strict=True))
    ]
