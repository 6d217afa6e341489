"""topic_classifier: the document split, scoring against reference labels, and a real LoRA fine-tune."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest
import torch

from aiinfra_dagster.models.locate import resolve_model_path
from aiinfra_dagster.settings import ClassifierSettings, LoraSettings, ModelSettings
from aiinfra_dagster.training.classifier import load_adapter_model, train_topic_classifier
from aiinfra_dagster.training.classifier_data import ClassifierData, classifier_examples, classifier_text, is_held_out
from aiinfra_dagster.training.classifier_predict import label_model_baseline, predict_topics, score

NET, TEXT, MATH, CRYPTO = "Networking", "Text Processing", "Mathematics", "Cryptography"
VOCAB = {
    NET: "socket tcp udp port host connect listen packet router bind server client ipv6 address".split(),
    TEXT: "string regex pattern unicode format substring match split replace character encoding".split(),
    MATH: "integer fraction sine cosine logarithm square root decimal matrix sum factorial".split(),
    CRYPTO: "hash digest encrypt cipher key sha256 secret token signature".split(),
}
VALIDATION_FRACTION = 0.3
CHUNKS_PER_DOC = 4


def _documents(cls: str, n_train: int, n_eval: int) -> tuple[list[str], list[str]]:
    """The first document names of a class that land on each side of the hash split."""
    train, held = [], []
    i = 0
    while len(train) < n_train or len(held) < n_eval:
        doc = f"{cls.lower().replace(' ', '-')}-{i}"
        side = held if is_held_out(doc, VALIDATION_FRACTION) else train
        if len(side) < (n_eval if side is held else n_train):
            side.append(doc)
        i += 1
    return train, held


def _text(cls: str, rng: random.Random) -> str:
    return "The " + " ".join(rng.choices(VOCAB[cls], k=10)) + "."


@pytest.fixture(scope="module")
def corpus() -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """Clearly separable chunks of three trained classes, with planted disagreements.

    Returns (chunk_labels, chunks, planted) where planted names the chunk ids of special rows.
    """
    rng = random.Random(7)
    chunk_rows, label_rows, planted = [], [], {}

    def add(doc: str, text: str, label: str | None, reference: str | None, confidence: float = 0.9) -> str:
        chunk_id = f"{doc}#{sum(r['document_id'] == doc for r in chunk_rows)}"
        # A neutral heading, so only the text tells the classes apart.
        chunk_rows.append({"chunk_id": chunk_id, "document_id": doc, "section": "Usage > Details", "text": text})
        label_rows.append(
            {
                "chunk_id": chunk_id,
                "label": label,
                "confidence": confidence,
                "reference_label": reference,
                "decided_by": "none" if label is None else "label_model",
            }
        )
        return chunk_id

    for cls in (NET, TEXT, MATH):
        train_docs, eval_docs = _documents(cls, n_train=3, n_eval=2)
        for doc in train_docs + eval_docs:
            for _ in range(CHUNKS_PER_DOC):
                add(doc, _text(cls, rng), cls, cls)
    # A held-out networking chunk the label model got wrong: accuracy must use the reference.
    planted["mislabeled_eval"] = add(_documents(NET, 0, 1)[1][0], _text(NET, rng), MATH, NET)
    # A held-out chunk of a class no training row has: it must count as wrong.
    _, crypto_eval = _documents(CRYPTO, 0, 1)
    planted["unseen_class"] = add(crypto_eval[0], _text(CRYPTO, rng), None, CRYPTO)
    # A held-out page without a reference label (e.g. the FAQ): neither trained on nor scored.
    _, faq_eval = _documents("faq", 0, 1)
    planted["unscored"] = add(faq_eval[0], _text(TEXT, rng), TEXT, None)
    # Training-side rows: a label that disagrees with its reference, one undecided, one unsure.
    train_net = _documents(NET, 1, 0)[0][0]
    planted["train_disagrees"] = add(train_net, _text(NET, rng), NET, TEXT)
    planted["train_null"] = add(train_net, _text(NET, rng), None, NET)
    planted["train_unsure"] = add(train_net, _text(NET, rng), MATH, NET, confidence=0.1)
    chunks = pl.DataFrame(chunk_rows)
    labels = pl.DataFrame(label_rows, schema_overrides={"label": pl.String, "reference_label": pl.String})
    return labels, chunks, planted


def params(**overrides: object) -> ClassifierSettings:
    base: dict[str, object] = {
        "validation_fraction": VALIDATION_FRACTION,
        "min_label_confidence": 0.5,
        "learning_rate": 5e-3,
        "epochs": 3.0,
        "batch_size": 8,
        "max_length": 32,
        "lora": LoraSettings(r=8, alpha=16, dropout=0.0, target_modules=["query", "value"]),
    }
    return ClassifierSettings(**{**base, **overrides})


def test_split_is_by_document_and_trains_on_labels_not_references(corpus):
    labels, chunks, planted = corpus
    data = classifier_examples(labels, chunks, params())

    train_docs, eval_docs = set(data.train["document_id"]), set(data.eval["document_id"])
    held = {d for d in chunks["document_id"] if is_held_out(d, VALIDATION_FRACTION)}
    assert eval_docs <= held and not train_docs & held  # no page on both sides, held-out pages never trained on
    assert data.eval_documents == len(held) and data.train_documents == chunks["document_id"].n_unique() - len(held)
    assert data.classes == sorted([MATH, NET, TEXT])

    train_ids = set(data.train["chunk_id"])
    assert planted["train_disagrees"] in train_ids
    assert data.train.filter(pl.col("chunk_id") == planted["train_disagrees"])["label"].item() == NET
    assert "reference_label" not in data.train.columns
    assert planted["train_null"] not in train_ids and planted["train_unsure"] not in train_ids
    assert data.skipped_low_confidence == 1

    eval_ids = set(data.eval["chunk_id"])
    assert {planted["mislabeled_eval"], planted["unseen_class"]} <= eval_ids
    assert planted["unscored"] not in eval_ids and planted["unscored"] not in train_ids
    assert data.unseen_reference_labels == [CRYPTO]
    # The model reads the heading path too.
    row = chunks.filter(pl.col("chunk_id") == planted["mislabeled_eval"]).row(0, named=True)
    model_input = data.eval.filter(pl.col("chunk_id") == row["chunk_id"])["text"].item()
    assert model_input == classifier_text(row["section"], row["text"])


def test_stable_sample_keeps_old_choices_when_rows_are_added(corpus):
    labels, chunks, _ = corpus
    small = classifier_examples(labels, chunks, params(max_train_examples=10))
    assert small.train.height == 10 and small.skipped_by_sample > 0
    shuffled = chunks.sample(fraction=1.0, shuffle=True, seed=3)
    again = classifier_examples(labels.reverse(), shuffled, params(max_train_examples=10))
    assert small.train["chunk_id"].to_list() == again.train["chunk_id"].to_list()  # input order does not matter
    larger = classifier_examples(labels, chunks, params(max_train_examples=20))
    assert set(small.train["chunk_id"]) <= set(larger.train["chunk_id"])


def _eval_data(rows: list[tuple[str, str | None]], classes: list[str]) -> ClassifierData:
    """Evaluation rows of (reference_label, chunk_labels label)."""
    frame = pl.DataFrame(
        {
            "chunk_id": [str(i) for i in range(len(rows))],
            "document_id": ["d"] * len(rows),
            "text": ["t"] * len(rows),
            "label": [label for _, label in rows],
            "reference_label": [ref for ref, _ in rows],
        },
        schema_overrides={"label": pl.String},
    )
    return ClassifierData(classes, frame.head(0).drop("reference_label"), frame, 1, 1, 0, 0)


def test_scores_use_reference_labels_and_count_unseen_classes_wrong():
    data = _eval_data([("A", "A"), ("B", "A"), ("C", "B")], classes=["A", "B"])
    s = score(["A", "B", "A"], data)
    assert s.accuracy == pytest.approx(2 / 3)  # vs reference: right, right, wrong (C was never trainable)
    assert s.agreement_with_labels == pytest.approx(1 / 3)  # vs chunk_labels: A=A only
    # F1: A = 2*1/(2+1), B = 1, C = 0 (its class counts, with no way to score)
    assert s.macro_f1 == pytest.approx((2 / 3 + 1 + 0) / 3)
    rows = {r.name: r for r in s.per_class}
    assert (rows["C"].support, rows["C"].recall, rows["C"].seen_in_training) == (1, 0.0, False)
    assert (rows["A"].precision, rows["A"].recall) == (0.5, 1.0)

    baseline = label_model_baseline(_eval_data([("A", "A"), ("B", None), ("B", "B")], classes=["A", "B"]))
    assert baseline.accuracy == pytest.approx(2 / 3)  # the undecided row is an abstention, so wrong


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    labels, chunks, _ = corpus
    model_dir = resolve_model_path(ModelSettings().embedding, "models.embedding")
    data = classifier_examples(labels, chunks, params())
    out = tmp_path_factory.mktemp("topic_classifier")
    return model_dir, data, train_topic_classifier(model_dir, data, params(), out)


def test_training_learns_and_writes_a_loadable_merged_model(trained):
    _, data, result = trained
    losses = [e["loss"] for e in result.history if "loss" in e]
    assert len(losses) >= 3 and losses[-1] < 0.5 * losses[0]
    assert [e["step"] for e in result.history] == sorted(e["step"] for e in result.history)

    out = result.output_dir
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "metrics.json",
        "history.jsonl",
        "training_args.json",
        "adapter/adapter_config.json",
    ):
        assert (out / name).is_file(), name
    assert json.loads((out / "tokenizer_config.json").read_text())["model_max_length"] == 32
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {str(i): c for i, c in enumerate(data.classes)}
    assert config["label2id"] == {c: i for i, c in enumerate(data.classes)}
    assert len((out / "history.jsonl").read_text().splitlines()) == len(result.history)
    assert json.loads((out / "training_args.json").read_text())["seed"] == 0
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["accuracy"] == result.accuracy and stored["size_bytes"] == result.size_bytes
    artifacts = [p for p in out.rglob("*") if p.is_file() and p.name != "metrics.json"]
    assert result.size_bytes == sum(p.stat().st_size for p in artifacts) > (out / "model.safetensors").stat().st_size
    assert result.train_examples == data.train.height and result.eval_examples == data.eval.height
    assert result.scored_documents == data.eval["document_id"].n_unique() < data.eval_documents  # the FAQ page
    assert result.unseen_reference_labels == [CRYPTO]
    assert result.wall_seconds >= result.train_seconds > 0 and result.train_tokens_per_second > 0


def test_merged_model_predicts_like_the_adapter_model(trained):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model_dir, data, result = trained
    texts = data.eval.group_by("reference_label", maintain_order=True).head(3)["text"].to_list()
    tokenizer = AutoTokenizer.from_pretrained(str(result.output_dir))
    batch = tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
    merged = AutoModelForSequenceClassification.from_pretrained(str(result.output_dir)).eval()
    adapter = load_adapter_model(model_dir, result.output_dir)
    with torch.inference_mode():
        merged_logits, adapter_logits = merged(**batch).logits, adapter(**batch).logits
    assert torch.allclose(merged_logits, adapter_logits, atol=1e-4)
    # The head is trained: texts of different classes get different predictions.
    assert merged_logits.argmax(-1).unique().numel() == 3


def test_metrics_are_against_reference_labels(trained, corpus):
    model_dir, data, result = trained
    _, _, planted = corpus
    predictions = predict_topics(result.output_dir, data.eval["text"].to_list())
    assert all(label in data.classes and 0.0 < p <= 1.0 for label, p in predictions)
    predicted = [label for label, _ in predictions]
    reference = data.eval["reference_label"].to_list()
    given = data.eval["label"].to_list()
    assert result.accuracy == pytest.approx(
        sum(p == r for p, r in zip(predicted, reference, strict=True)) / len(reference)
    )
    assert result.agreement_with_labels == pytest.approx(
        sum(p == g for p, g in zip(predicted, given, strict=True)) / len(given)
    )

    by_id = dict(zip(data.eval["chunk_id"], predicted, strict=True))
    # The separable fixture is learned: the mislabeled networking chunk is predicted as networking,
    # which the reference counts as right and chunk_labels as wrong.
    assert by_id[planted["mislabeled_eval"]] == NET
    assert by_id[planted["unseen_class"]] != CRYPTO
    assert 0.8 <= result.accuracy < 1.0  # the unseen-class row can never be right
    assert result.agreement_with_labels < result.accuracy
    assert 0.0 <= result.macro_f1 < 1.0
    crypto = next(r for r in result.per_class if r["class"] == CRYPTO)
    assert (crypto["support"], crypto["f1"], crypto["seen_in_training"]) == (1, 0.0, False)
    assert result.label_model_accuracy < 1.0  # the planted wrong label and the undecided row
