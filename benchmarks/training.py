"""LoRA training speed: our `train_lora` (the lora_checkpoint asset's trainer) vs a bare Trainer loop,
on the same model and data in the same run (DeepSpeed ZeRO-2 vs plain: benchmarks/deepspeed_zero2.py).

    python benchmarks/training.py [--model tiny|base] [--steps 12]

`tiny` is a small Llama built offline (4 layers, hidden 256); `base` is the configured base LLM
(SmolLM2-135M by default, converted into the model store first). Data: the lake's training_set
when it exists (run the main job first), else generated Q/A conversations. Figures are the
median step time after two warm-up steps, tokens/s, and ratios to the bare loop.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.settings import Settings, TrainingSettings, load_settings
from aiinfra_dagster.synthetic.tables import TRAINING_SET
from aiinfra_dagster.synthetic.training import chat_messages
from aiinfra_dagster.testing.tiny_models import build_tiny_causal_lm, sample_texts
from aiinfra_dagster.training.checkpoints import split_messages
from aiinfra_dagster.training.sft import ChatDataset, PadCollator, lora_config, tokenize_chat, train_lora


class StepTimer(TrainerCallback):
    def __init__(self) -> None:
        self.durations: list[float] = []
        self._start = 0.0

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._start = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.durations.append(time.perf_counter() - self._start)

    @property
    def median(self) -> float:
        return statistics.median(self.durations[2:] or self.durations)


def conversations(settings: Settings, n: int) -> list[list[dict[str, str]]]:
    store = DeltaStore.for_storage(settings.storage)
    if store.exists(TRAINING_SET.name):
        train, evaluation = split_messages(store.read(TRAINING_SET))
        if train:
            return (train + evaluation)[:n]
    topics = sample_texts()
    return [
        chat_messages(text[:600], f"What does section {i} describe?", text[:200], settings.training_set.system_prompt)
        for i, text in enumerate(topics[:n])
    ]


def bare_trainer(base_dir: Path, data: list[list[dict[str, str]]], params: TrainingSettings, out: Path) -> StepTimer:
    """The baseline: the same model, LoRA and tokens through a plain Trainer, nothing saved or evaluated."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments, set_seed

    set_seed(params.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    dataset = ChatDataset([tokenize_chat(tokenizer, m, params.max_seq_length) for m in data])
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(base_dir)), lora_config(params))
    timer = StepTimer()
    args = TrainingArguments(
        output_dir=str(out),
        max_steps=params.max_steps,
        per_device_train_batch_size=params.per_device_batch_size,
        learning_rate=params.learning_rate,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        remove_unused_columns=False,
        seed=params.seed,
    )
    Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=PadCollator(tokenizer.pad_token_id),
        callbacks=[timer],
    ).train()
    return timer


def ours(base_dir: Path, data: list, params: TrainingSettings, out: Path) -> tuple[StepTimer, float, int]:
    timer = StepTimer()
    start = time.perf_counter()
    result = train_lora(base_dir, data, [], params, out, callbacks=[timer])
    return timer, time.perf_counter() - start, result.tokens_seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="demo", choices=["quick", "demo", "full"])
    parser.add_argument("--model", default="tiny", choices=["tiny", "base"])
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    settings = load_settings(None, profile=args.profile)
    params = settings.training.model_copy(
        update={"max_steps": args.steps, "save_steps": max(1, args.steps // 2), "merge": False}
    )
    work = Path(tempfile.mkdtemp(prefix="aiinfra-bench-"))
    if args.model == "tiny":
        base_dir = build_tiny_causal_lm(work / "tiny", sample_texts(), vocab_size=2048, hidden_size=256, layers=4)
    else:
        from aiinfra_dagster.training.base_model import configured_base_model

        base_dir = configured_base_model(settings.models).path
    data = conversations(settings, params.per_device_batch_size * args.steps)
    print(f"model={args.model} steps={args.steps} batch={params.per_device_batch_size} examples={len(data)}")

    bare = bare_trainer(base_dir, data, params, work / "bare")
    mine, wall, tokens = ours(base_dir, data, params, work / "ours")
    rows = [
        ("bare Trainer loop", bare.median, 1.0),
        ("train_lora (checkpoints, history)", mine.median, mine.median / bare.median),
    ]
    print(f"tokens/s (train_lora, incl. checkpoint saves): {tokens / sum(mine.durations):.0f}; whole call {wall:.1f} s")
    print(json.dumps({"work_dir": str(work)}))
    print(f"{'path':45} {'median step s':>14} {'ratio':>8}")
    for name, step, ratio in rows:
        print(f"{name:45} {step:14.3f} {ratio:8.2f}x")
    print("ratio: train_lora step time / bare Trainer loop step time (same model, LoRA, tokens)")


if __name__ == "__main__":
    main()
