"""LoRA fine-tuning step time under DeepSpeed ZeRO-2 vs the plain Trainer, same model and data, same run.

    python benchmarks/deepspeed_zero2.py [--steps 20] [--repeat 2] [--hidden 128] [--layers 4] [--seq 256]

Both go through `train_lora` on a small Llama built offline (`build_tiny_causal_lm`) with chats
from the pydoc topics; ZeRO-2 runs in this process over gloo (`single_process_env`), as the
`lora_checkpoint` asset does on CPU. Runs alternate (plain, ZeRO-2, ...) and the median is kept.
No checkpoints are written inside the timed steps. "setup" is the wall time of the call outside
the training loop (model load, DeepSpeed engine, saving the adapter); the shm_comm op build is
cached in TORCH_EXTENSIONS_DIR (~/.cache/aiinfra-dagster/torch_extensions unless set) and timed
once on its own when the cache is cold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from aiinfra_dagster.settings import TrainingSettings
from aiinfra_dagster.testing.tiny_models import build_tiny_causal_lm, sample_texts
from aiinfra_dagster.training.deepspeed_checks import checked_deepspeed_config
from aiinfra_dagster.training.launch import single_process_env
from aiinfra_dagster.training.sft import train_lora

EXTENSIONS_DIR = Path(
    os.environ.get("TORCH_EXTENSIONS_DIR") or Path.home() / ".cache" / "aiinfra-dagster" / "torch_extensions"
)


@dataclass(frozen=True)
class Run:
    wall: float
    train: float
    steps: int
    tokens: int

    @property
    def step_seconds(self) -> float:
        return self.train / self.steps

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.train


def conversations(count: int) -> list[list[dict[str, str]]]:
    texts = [t for t in sample_texts() if len(t) > 600]
    picked = [texts[i % len(texts)] for i in range(count)]
    return [[{"role": "user", "content": t[:400]}, {"role": "assistant", "content": t[400:900]}] for t in picked]


def train_once(base: Path, params: TrainingSettings, output: Path, zero2: bool) -> Run:
    chats = conversations(params.max_steps * params.per_device_batch_size)
    start = time.perf_counter()
    if zero2:
        with single_process_env(EXTENSIONS_DIR):
            result = train_lora(base, chats, [], params, output, deepspeed_config=checked_deepspeed_config(params))
    else:
        result = train_lora(base, chats, [], params, output)
    return Run(time.perf_counter() - start, result.train_seconds, result.steps, result.tokens_seen)


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.step_seconds)[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-zero2-") as tmp:
        root = Path(tmp)
        base = build_tiny_causal_lm(root / "base", sample_texts(), hidden_size=args.hidden, layers=args.layers, heads=4)
        common = {"max_steps": args.steps, "save_steps": 10 * args.steps, "max_seq_length": args.seq, "merge": False}
        common["per_device_batch_size"] = args.batch
        plain = TrainingSettings(**common)
        zero2 = TrainingSettings(**common, deepspeed={"enabled": True, "stage": 2})

        cold = not any(EXTENSIONS_DIR.glob("deepspeed_shm_comm/*.so"))
        warmup = train_once(base, zero2.model_copy(update={"max_steps": 1}), root / "warmup", zero2=True)
        if cold:
            print(f"first use: shm_comm op build + 1 step took {warmup.wall:.1f} s (now cached in {EXTENSIONS_DIR})")

        runs: dict[str, list[Run]] = {"plain": [], "zero2": []}
        for i in range(args.repeat):
            runs["plain"].append(train_once(base, plain, root / f"plain-{i}", zero2=False))
            runs["zero2"].append(train_once(base, zero2, root / f"zero2-{i}", zero2=True))

    p, z = median_run(runs["plain"]), median_run(runs["zero2"])
    print(
        f"tiny Llama hidden {args.hidden} x {args.layers} layers, LoRA r=8 on q/k/v/o, {args.steps} steps of "
        f"batch {args.batch} x <= {args.seq} tokens, CPU, median of {args.repeat}"
    )
    for name, run in (("plain Trainer", p), ("DeepSpeed ZeRO-2", z)):
        print(
            f"{name:18} {run.step_seconds * 1000:8.1f} ms/step  {run.tokens_per_second:8.1f} tokens/s  "
            f"setup {run.wall - run.train:5.1f} s"
        )
    print(f"ratio ZeRO-2/plain step time   {z.step_seconds / p.step_seconds:6.2f}x")
    print(f"ratio ZeRO-2/plain tokens/s    {z.tokens_per_second / p.tokens_per_second:6.2f}x")
    print(f"ratio ZeRO-2/plain setup       {(z.wall - z.train) / max(p.wall - p.train, 1e-9):6.2f}x")
    print(
        f"spread: plain {statistics.pstdev([r.step_seconds for r in runs['plain']]) * 1000:.1f} ms, "
        f"zero2 {statistics.pstdev([r.step_seconds for r in runs['zero2']]) * 1000:.1f} ms (step time)"
    )


if __name__ == "__main__":
    main()
