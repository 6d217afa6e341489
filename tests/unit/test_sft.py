"""Chat tokenization, padding and checkpoint discovery of the LoRA trainer."""

from __future__ import annotations

import json

import pytest
from transformers import AutoTokenizer

from aiinfra_dagster.training.sft import IGNORE_INDEX, PadCollator, last_checkpoint, tokenize_chat

MESSAGES = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "Context: lists are mutable sequences. Question: are lists mutable?"},
    {"role": "assistant", "content": "Yes, lists are mutable."},
]


@pytest.fixture(scope="module")
def tokenizer(tiny_causal_lm):
    return AutoTokenizer.from_pretrained(str(tiny_causal_lm))


def test_only_the_reply_is_learned(tokenizer):
    ex = tokenize_chat(tokenizer, MESSAGES, max_length=512)
    learned = [t for t, label in zip(ex.input_ids, ex.labels, strict=True) if label != IGNORE_INDEX]
    assert not ex.truncated
    assert tokenizer.decode(learned).strip().startswith("Yes, lists are mutable.")
    assert tokenizer.decode(ex.input_ids) == tokenizer.apply_chat_template(MESSAGES, tokenize=False)


def test_long_prompts_lose_their_middle_not_the_reply(tokenizer):
    long = [
        dict(MESSAGES[0]),
        {"role": "user", "content": "filler " * 400 + "Question: are lists mutable?"},
        MESSAGES[2],
    ]
    ex = tokenize_chat(tokenizer, long, max_length=64)
    assert ex.truncated and len(ex.input_ids) == 64
    assert "Yes, lists are mutable." in tokenizer.decode(
        [t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab != IGNORE_INDEX]
    )
    assert "mutable?" in tokenizer.decode(ex.input_ids[: 64 - sum(lab != IGNORE_INDEX for lab in ex.labels)])


def test_examples_must_end_with_the_assistant(tokenizer):
    with pytest.raises(ValueError, match="assistant"):
        tokenize_chat(tokenizer, MESSAGES[:2], max_length=64)


def test_padding_masks_labels_and_attention():
    batch = PadCollator(pad_token_id=0)(
        [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8], "labels": [8]}]
    )
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_a_checkpoint_cut_short_is_never_resumed_from(tmp_path):
    for step, complete in ((2, True), (4, True), (6, False)):
        ckpt = tmp_path / f"checkpoint-{step}"
        ckpt.mkdir()
        (ckpt / "adapter_model.safetensors").write_bytes(b"x")
        if complete:
            (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    assert last_checkpoint(tmp_path) == tmp_path / "checkpoint-4"
    assert not (tmp_path / "checkpoint-6").exists()
    assert last_checkpoint(tmp_path / "missing") is None
