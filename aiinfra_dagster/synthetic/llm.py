"""Loading a causal LM (HF directory or GGUF file) and batched chat generation on CPU.

The default base model ships as a quantised GGUF; transformers dequantises it
to float32 on load (seconds), so one model per process is cached.  Generation
is greedy by default so that the same chunks always yield the same synthetic
data, and prompts are left-padded and batched because a batch of 8 costs
about as much wall time as a single prompt on a small model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria


def load_causal_lm(path: Path, gguf_file: str | None = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` in eval mode, loaded once per process.

    ``path`` is a directory with HF weights, the directory holding
    ``gguf_file``, or the ``.gguf`` file itself.
    """
    path = Path(path)
    if gguf_file is None and path.suffix == ".gguf":
        path, gguf_file = path.parent, path.name
    if not path.is_dir():
        raise FileNotFoundError(f"model directory {path} does not exist")
    if gguf_file is not None and not (path / gguf_file).is_file():
        raise FileNotFoundError(f"GGUF file {path / gguf_file} does not exist")
    return _load(str(path.resolve()), gguf_file)


@lru_cache(maxsize=2)
def _load(directory: str, gguf_file: str | None) -> tuple[Any, Any]:
    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(directory, **kwargs)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, **kwargs)
    model.eval()
    return model, tokenizer


def render_prompt(tokenizer: Any, messages: list[dict[str, str]], assistant_prefix: str = "") -> str:
    """The chat-template text the model sees, optionally with the reply already begun."""
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return str(text) + assistant_prefix


def generate_chat(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[list[dict[str, str]]],
    max_new_tokens: int,
    seed: int = 0,
    batch_size: int = 8,
    *,
    temperature: float = 0.0,
    repetition_penalty: float = 1.0,
    assistant_prefix: str = "",
    stop_strings: Sequence[str] = (),
    stop_when: Callable[[str], bool] | None = None,
) -> list[str]:
    """Generated continuations (without the prompt), in prompt order.

    ``temperature == 0`` is greedy decoding; otherwise sampling is seeded per
    batch from ``seed`` inside a forked RNG, so results repeat without
    touching the caller's global torch RNG.  Prompts are sorted by length
    before batching to waste little padding.  ``assistant_prefix`` starts the
    reply (e.g. ``"Question:"``) to hold small models to a format; it is not
    part of the returned text.  Generation of a row ends at EOS or at any of
    ``stop_strings`` (which stay in the returned text), so a model that starts
    a second answer does not burn the whole token budget; ``stop_when`` ends a
    row once it returns True for the text generated so far (format-aware stops).
    """
    if max_new_tokens < 1 or batch_size < 1:
        raise ValueError("max_new_tokens and batch_size must be >= 1")
    texts = [render_prompt(tokenizer, list(p), assistant_prefix) for p in prompts]
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []
    order = sorted(range(len(texts)), key=lambda i: (lengths[i], i))
    out: list[str] = [""] * len(texts)
    sampling = temperature > 0.0
    for batch_no, start in enumerate(range(0, len(order), batch_size)):
        idx = order[start : start + batch_size]
        enc = tokenizer(
            [texts[i] for i in idx], return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
        )
        options: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "do_sample": sampling,
            "pad_token_id": tokenizer.pad_token_id,
            "repetition_penalty": repetition_penalty,
        }
        if stop_strings:
            options.update(stop_strings=list(stop_strings), tokenizer=tokenizer)
        if stop_when is not None:
            options["stopping_criteria"] = [_TextCriterion(tokenizer, enc["input_ids"].shape[1], stop_when)]
        if sampling:
            options.update(temperature=temperature, top_p=0.95, top_k=50)
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(seed + batch_no)
            generated = model.generate(**enc, **options)
        new_tokens = generated[:, enc["input_ids"].shape[1] :]
        for row, i in enumerate(idx):
            out[i] = tokenizer.decode(new_tokens[row], skip_special_tokens=True)
    return out


class _TextCriterion(StoppingCriteria):
    """Per-row stop decided on the decoded continuation (decoding 8 short rows per step is cheap)."""

    def __init__(self, tokenizer: Any, prompt_length: int, predicate: Callable[[str], bool]) -> None:
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.predicate = predicate

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_length :], skip_special_tokens=True)
        return torch.tensor([self.predicate(t) for t in texts], dtype=torch.bool, device=input_ids.device)
