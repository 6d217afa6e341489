"""Golden-set answering + scoring: our one-prefill `answer_and_score` (what eval_report runs) vs the bare
way (`generate` for the answer, then a second forward pass over prompt + reference for its perplexity),
on the same model, prompts and references in the same run.

    python benchmarks/evaluation.py [--model tiny|base] [--questions 16] [--context-tokens 400]

`tiny` is a small Llama built offline; `base` is the configured base LLM (SmolLM2-135M by default,
converted into the model store first). Prompts carry a synthetic context of about --context-tokens
tokens, like grounded mode. Figures: seconds per question for both, and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from aiinfra_dagster.evaluation.answers import Question, answer_and_score, fit_prompt, prompt_ids, reference_ids
from aiinfra_dagster.settings import load_settings
from aiinfra_dagster.synthetic.llm import generate_chat, load_causal_lm
from aiinfra_dagster.testing.tiny_models import build_tiny_causal_lm, sample_texts
from aiinfra_dagster.training.base_model import configured_base_model

SYSTEM = "You are a documentation assistant. Answer the question using the context."


def questions(n: int, context_tokens: int) -> list[Question]:
    words = " ".join(sample_texts()).split()
    out = []
    for i in range(n):
        context = " ".join(words[i * 50 : i * 50 + context_tokens])
        out.append(
            Question(
                f"q{i}",
                f"What does passage {i} say about Python?",
                " ".join(words[i * 7 : i * 7 + 40]),
                "s",
                (("c", context),),
            )
        )
    return out


def bare(model_dir: Path, qs: list[Question], max_new_tokens: int, batch_size: int, budget: int) -> None:
    model, tokenizer = load_causal_lm(model_dir)
    prompts = [fit_prompt(tokenizer, q, SYSTEM, budget)[0] for q in qs]
    generate_chat(model, tokenizer, prompts, max_new_tokens, batch_size=batch_size)
    for start in range(0, len(qs), batch_size):
        rows = [
            prompt_ids(tokenizer, m) + reference_ids(tokenizer, m, q.reference)
            for m, q in zip(prompts[start : start + batch_size], qs[start : start + batch_size], strict=True)
        ]
        width = max(map(len, rows))
        ids = torch.tensor([r + [tokenizer.pad_token_id] * (width - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        with torch.inference_mode():
            model(input_ids=ids, attention_mask=mask)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["tiny", "base"], default="tiny")
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--context-tokens", type=int, default=400)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.model == "tiny":
            model_dir = build_tiny_causal_lm(Path(tmp) / "lm", sample_texts(), hidden_size=256, layers=4)
        else:
            model_dir = configured_base_model(load_settings().models).path
        qs = questions(args.questions, args.context_tokens)
        load_causal_lm(model_dir)  # load once, outside both timings
        budget = args.context_tokens * 2 + 128
        encode = lambda texts: np.ones((len(texts), 4), dtype=np.float32)  # noqa: E731 - embeddings are not timed here
        timings = {}
        for name, fn in [
            ("bare generate + forward", lambda: bare(model_dir, qs, args.max_new_tokens, args.batch_size, budget)),
            (
                "answer_and_score",
                lambda: answer_and_score(
                    model_dir,
                    qs,
                    system_prompt=SYSTEM,
                    encode=encode,
                    max_prompt_tokens=budget,
                    max_new_tokens=args.max_new_tokens,
                    batch_size=args.batch_size,
                ),
            ),
        ]:
            start = time.perf_counter()
            fn()
            timings[name] = (time.perf_counter() - start) / len(qs)
        base = timings["bare generate + forward"]
        print(
            f"model={args.model} questions={args.questions} context~{args.context_tokens} tokens, "
            f"{args.max_new_tokens} new tokens, batch {args.batch_size}"
        )
        for name, seconds in timings.items():
            print(f"  {name:<26} {seconds:7.3f} s/question   {seconds / base:5.2f}x bare")


if __name__ == "__main__":
    main()
