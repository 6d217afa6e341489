"""One prefill for scoring and answering gives what a plain forward pass and `generate` give, on a tiny Llama."""

from __future__ import annotations

import torch

from aiinfra_dagster.evaluation.answers import Question, fit_prompt, prompt_ids, reference_ids, score_and_answer
from aiinfra_dagster.synthetic.llm import generate_chat, load_causal_lm

SYSTEM = "You answer questions about Python."
QUESTIONS = [
    Question(
        "q1",
        "What is a list?",
        "A list is a mutable sequence.",
        "faq/a",
        (("c1", "Lists are mutable sequences of items."),),
    ),
    Question(
        "q2",
        "Are tuples mutable, and what are they used for in practice?",
        "No; tuples are immutable records.",
        "faq/a",
    ),
    Question(
        "q3",
        "Sets?",
        "Unordered collections of unique items.",
        "faq/b",
        (("c2", "A set holds unique elements."), ("c3", "Sets support union.")),
    ),
]


def _plain_nll(model, prompt: list[int], reference: list[int]) -> float:
    ids = torch.tensor([prompt + reference])
    with torch.inference_mode():
        logprobs = torch.log_softmax(model(input_ids=ids).logits.float(), dim=-1)[0]
    return float(-torch.stack([logprobs[len(prompt) - 1 + j, t] for j, t in enumerate(reference)]).mean())


def test_batched_score_and_answer_match_unbatched_forward_and_generate(tiny_causal_lm):
    model, tokenizer = load_causal_lm(tiny_causal_lm)
    prompts = [fit_prompt(tokenizer, q, SYSTEM, 512)[0] for q in QUESTIONS]
    encoded = [
        (prompt_ids(tokenizer, m), reference_ids(tokenizer, m, q.reference))
        for m, q in zip(prompts, QUESTIONS, strict=True)
    ]
    assert len({len(p) for p, _ in encoded}) == 3  # different prompt lengths: the batch is left-padded
    batch = score_and_answer(model, tokenizer, [p for p, _ in encoded], [r for _, r in encoded], max_new_tokens=10)
    for (prompt, reference), (answer, nll, count), messages in zip(encoded, batch, prompts, strict=True):
        assert count == len(reference) > 0
        assert abs(nll - _plain_nll(model, prompt, reference)) < 1e-4
        assert answer == generate_chat(model, tokenizer, [messages], max_new_tokens=10, batch_size=1)[0]


def test_prompt_fits_the_token_budget_by_dropping_then_cutting_context(tiny_causal_lm):
    model, tokenizer = load_causal_lm(tiny_causal_lm)
    long = Question(
        "q",
        "What is a dict?",
        "A mapping.",
        "s",
        (("c1", "Dictionaries map keys to values. " * 40), ("c2", "More text. " * 40)),
    )
    full = len(prompt_ids(tokenizer, fit_prompt(tokenizer, long, SYSTEM, 10_000)[0]))
    messages, used = fit_prompt(tokenizer, long, SYSTEM, full // 3)
    assert used == ("c1",) and len(prompt_ids(tokenizer, messages)) <= full // 3
    assert "Dictionaries map keys" in messages[-1]["content"] and messages[-1]["content"].endswith(
        "Question: What is a dict?"
    )
