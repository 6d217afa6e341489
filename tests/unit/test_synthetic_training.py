"""Supervised fine-tuning examples: chat format, ids, splits and human pair files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aiinfra_dagster.synthetic.generate import make_candidate
from aiinfra_dagster.synthetic.training import assign_split, build_examples, chat_messages, load_human_pairs

SYSTEM = "You answer questions about the Python documentation."


def test_chat_messages_with_and_without_context() -> None:
    assert chat_messages("json.dumps serializes.", "What does dumps do?", "It serializes.", SYSTEM) == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Context:\njson.dumps serializes.\n\nQuestion: What does dumps do?"},
        {"role": "assistant", "content": "It serializes."},
    ]
    assert chat_messages("  ", "What is PEP 8?", "The style guide.", SYSTEM)[1] == {
        "role": "user",
        "content": "Question: What is PEP 8?",
    }


def test_assign_split_is_deterministic_and_close_to_the_fraction() -> None:
    ids = [hashlib.sha256(str(i).encode()).hexdigest()[:32] for i in range(1000)]
    splits = [assign_split(i, 0.2) for i in ids]
    assert splits == [assign_split(i, 0.2) for i in ids]
    assert set(splits) == {"train", "validation"}
    assert 150 <= splits.count("validation") <= 250
    assert all(assign_split(i, 0.0) == "train" for i in ids)
    # Growing the fraction only moves examples into validation, never out of it.
    assert all(assign_split(i, 0.5) == "validation" for i, s in zip(ids, splits, strict=True) if s == "validation")
    with pytest.raises(ValueError):
        assign_split(ids[0], 1.0)


def test_build_examples_from_synthetic_and_human_pairs() -> None:
    a = make_candidate("template-v1", "c1", "What does json.dumps() do?", "Serialize obj to a JSON str.")
    b = make_candidate("template-v1", "c2", "What is heapq for?", "Heap queue algorithms.")
    humans = [("What is PEP 8?", "The style guide.", None), ("What does dumps do?", "It serializes.", "json docs")]
    chunks = {"c1": "json chunk text", "c2": "heapq chunk text"}

    examples = build_examples([a, b, a], chunks, humans + [humans[0]], SYSTEM, validation_fraction=0.3)

    assert [(e.source, e.chunk_id, e.question) for e in examples] == [
        ("synthetic", "c1", a.question),
        ("synthetic", "c2", b.question),
        ("human", None, "What is PEP 8?"),
        ("human", None, "What does dumps do?"),
    ]
    first = examples[0]
    assert first.example_id == hashlib.sha256(f"synthetic\n{a.question}\n{a.answer}".encode()).hexdigest()[:32]
    assert first.context == "json chunk text"
    assert first.messages == chat_messages("json chunk text", a.question, a.answer, SYSTEM)
    assert examples[2].context == "" and examples[2].messages[1]["content"] == "Question: What is PEP 8?"
    assert examples[3].context == "json docs"
    assert all(e.split == assign_split(e.example_id, 0.3) for e in examples)
    assert build_examples([a, b], chunks, humans, SYSTEM, 0.3) == examples  # rebuilding changes nothing


def test_build_examples_refuses_candidates_without_their_chunk() -> None:
    orphan = make_candidate("template-v1", "gone", "What does X do?", "It does things.")
    with pytest.raises(ValueError, match="chunk gone"):
        build_examples([orphan], {}, [], SYSTEM, 0.1)


def test_load_human_pairs_jsonl_and_csv(tmp_path: Path) -> None:
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text(
        json.dumps({"question": " What is PEP 8? ", "answer": "The style guide."})
        + "\n\n"
        + json.dumps({"question": "What does dumps do?", "answer": "It serializes.", "context": "json docs"})
        + "\n"
    )
    assert load_human_pairs(jsonl) == [
        ("What is PEP 8?", "The style guide.", None),
        ("What does dumps do?", "It serializes.", "json docs"),
    ]
    csv_path = tmp_path / "pairs.csv"
    csv_path.write_text('question,answer,context\nWhat is PEP 8?,The style guide.,\n"Why, exactly?","Because.",ctx\n')
    assert load_human_pairs(csv_path) == [
        ("What is PEP 8?", "The style guide.", None),
        ("Why, exactly?", "Because.", "ctx"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "bad.jsonl",
            '{"question": "Q?", "answer": "A."}\n{"question": "Q?"}\n',
            r"bad\.jsonl: line 2: missing required field 'answer'",
        ),
        ("bad.jsonl", '{"question": "Q?", "answer": "A."}\n\n{not json\n', r"bad\.jsonl: line 3: invalid JSON"),
        ("bad.jsonl", '["Q?", "A."]\n', r"bad\.jsonl: line 1: expected an object"),
        ("bad.csv", "question,answer\nQ?,A.\n ,A.\n", r"bad\.csv: line 3 \(row 2\): missing required field 'question'"),
        ("bad.csv", "prompt,answer\nQ?,A.\n", r"bad\.csv: line 1: header lacks column\(s\) \['question'\]"),
        ("bad.txt", "Q? A.\n", r"bad\.txt: unsupported file type"),
    ],
)
def test_load_human_pairs_names_file_and_line_of_bad_rows(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_human_pairs(path)


def test_a_small_set_still_holds_out_one_validation_example() -> None:
    pairs = [(f"What does function number {i} do?", f"It returns the value {i}.", "ctx") for i in range(3)]
    examples = build_examples([], {}, pairs, validation_fraction=0.01)
    assert [e.split for e in examples].count("validation") == 1
    assert build_examples([], {}, pairs, validation_fraction=0.01) == examples
    assert all(e.split == "train" for e in build_examples([], {}, pairs, validation_fraction=0.0))
    assert [e.split for e in build_examples([], {}, pairs[:1], validation_fraction=0.01)] == ["train"]
