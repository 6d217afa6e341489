"""Checks a trained LoRA model must pass: the merge is faithful, and the loss went down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

PROBES = ("What is a list comprehension?", "How do I open a file for reading?")


@dataclass(frozen=True)
class MergeReport:
    max_abs_difference: float
    tolerance: float
    prompts: int

    @property
    def matches(self) -> bool:
        return self.max_abs_difference <= self.tolerance


def adapter_matches_merged(
    base_dir: Path, adapter_dir: Path, merged_dir: Path, prompts: Sequence[str] = PROBES, tolerance: float = 1e-3
) -> MergeReport:
    """Largest logit difference between base+adapter and the merged weights on `prompts`."""
    tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir))
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base_dir)), str(adapter_dir)).eval()
    merged = AutoModelForCausalLM.from_pretrained(str(merged_dir)).eval()
    worst = 0.0
    with torch.inference_mode():
        for prompt in prompts:
            inputs = tokenizer(prompt, return_tensors="pt")
            diff = (adapted(**inputs).logits - merged(**inputs).logits).abs().max().item()
            worst = max(worst, float(diff))
    return MergeReport(worst, tolerance, len(prompts))


def loss_trend(history: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """Mean training loss of the first and the last quarter of logged steps."""
    losses = [float(e["loss"]) for e in history if "loss" in e]
    if not losses:
        raise ValueError("no training loss was logged")
    quarter = max(1, len(losses) // 4)
    return sum(losses[:quarter]) / quarter, sum(losses[-quarter:]) / quarter
