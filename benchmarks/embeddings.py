"""Embedding throughput: our encoder path vs bare sentence-transformers `encode`, same texts, same run.

    python benchmarks/embeddings.py [--texts 2000] [--repeat 2]

Texts are real chunks: the `document_chunks` table of the configured lake when it exists
(run the main job first), else paragraphs of the Python docs / pydoc topics.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import timed

from aiinfra_dagster.data import ingest
from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.models.embedding import TextEncoder
from aiinfra_dagster.models.locate import resolve_model_path
from aiinfra_dagster.settings import Settings, load_settings


def sample_texts(settings: Settings, n: int) -> list[str]:
    store = DeltaStore.for_storage(settings.storage)
    if store.exists(DOCUMENT_CHUNKS.name):
        texts = store.read(DOCUMENT_CHUNKS).sort("chunk_id")["text"].to_list()
    else:
        texts = [
            para
            for source in settings.sources
            for doc in ingest.iter_source_documents(source, settings.python_docs_dir)
            for para in doc.content.decode("utf-8", "replace").split("\n\n")
            if len(para.split()) > 20
        ]
    return texts[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="demo", choices=["quick", "demo", "full"])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    settings = load_settings(None, profile=args.profile)
    model_dir = resolve_model_path(settings.models.embedding, "models.embedding")
    texts = sample_texts(settings, args.texts)
    ours = TextEncoder(
        model_dir, max_length=settings.features.embedding_max_length, batch_size=settings.features.embedding_batch_size
    )

    from sentence_transformers import SentenceTransformer

    bare = SentenceTransformer(str(model_dir), device="cpu")
    bare.max_seq_length = settings.features.embedding_max_length
    ours.encode(texts[:16])
    bare.encode(texts[:16])
    ours_time = timed(lambda: ours.encode(texts), args.repeat)
    bare_time = timed(
        lambda: bare.encode(texts, batch_size=settings.features.embedding_batch_size, normalize_embeddings=True),
        args.repeat,
    )
    agreement = float(
        np.min(np.sum(ours.encode(texts[:64]) * bare.encode(texts[:64], normalize_embeddings=True), axis=1))
    )
    print(
        f"{len(texts)} texts, max_length {settings.features.embedding_max_length}, "
        f"batch {settings.features.embedding_batch_size}"
    )
    print(
        f"ours (TextEncoder)              {len(texts) / ours_time:8.1f} texts/s\n"
        f"bare sentence-transformers      {len(texts) / bare_time:8.1f} texts/s\n"
        f"ratio ours/bare throughput      {bare_time / ours_time:8.2f}x   (min cosine between the two: {agreement:.6f})"
    )


if __name__ == "__main__":
    main()
