"""LoRA fine-tuning under DeepSpeed ZeRO-2 on CPU, in one process over gloo, on a tiny Llama built offline.

DeepSpeed compiles its shm_comm op on first use (about a minute on 2 cores); the build is
cached in TORCH_EXTENSIONS_DIR, here a directory outside the checkout so a fresh clone (CI)
on the same machine reuses it: $AIINFRA_TEST_CACHE/torch_extensions, else
~/.cache/aiinfra-dagster/torch_extensions. An exported TORCH_EXTENSIONS_DIR wins.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest
import torch.distributed as dist
from safetensors.torch import load_file

from aiinfra_dagster.settings import TrainingSettings
from aiinfra_dagster.testing.tiny_models import build_tiny_causal_lm, sample_texts
from aiinfra_dagster.training.deepspeed_checks import checked_deepspeed_config
from aiinfra_dagster.training.launch import LAUNCHER_ENV, free_port, single_process_env, torchrun_command
from aiinfra_dagster.training.sft import is_complete, read_result, train_lora
from aiinfra_dagster.training.worker import WorkerSpec

pytestmark = pytest.mark.slow

# Read at import: the autouse settings fixture strips AIINFRA_* variables while tests run.
CACHE = Path(os.environ.get("AIINFRA_TEST_CACHE") or Path.home() / ".cache" / "aiinfra-dagster")
EXTENSIONS_DIR = CACHE / "torch_extensions"


def conversations(count: int) -> list[list[dict[str, str]]]:
    texts = sample_texts()
    return [
        [{"role": "user", "content": text[:80]}, {"role": "assistant", "content": text[80:200]}]
        for text in texts[:count]
    ]


def lora_b_weights(adapter_dir: Path) -> dict[str, float]:
    """Sum of |lora_B| per module; PEFT initialises lora_B to zeros, so non-zero means training changed it."""
    weights = load_file(adapter_dir / "adapter_model.safetensors")
    return {name: float(tensor.abs().sum()) for name, tensor in weights.items() if "lora_B" in name}


def test_zero2_trains_lora_on_cpu_in_one_process_then_a_plain_run_is_unaffected(tmp_path: Path) -> None:
    base = build_tiny_causal_lm(tmp_path / "base", sample_texts())
    train, evaluation = conversations(16), conversations(20)[16:]
    params = TrainingSettings(
        max_steps=3, save_steps=3, max_seq_length=96, learning_rate=1e-2, deepspeed={"enabled": True, "stage": 2}
    )
    config = checked_deepspeed_config(params)
    environ = dict(os.environ)

    with single_process_env(EXTENSIONS_DIR):
        result = train_lora(base, train, evaluation, params, tmp_path / "zero2", deepspeed_config=config)

    checkpoint = tmp_path / "zero2" / "checkpoints" / "checkpoint-3"
    logged = json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]
    losses = [entry["loss"] for entry in logged if "loss" in entry]
    assert result.steps == 3 and len(losses) == 3
    assert all(math.isfinite(loss) for loss in losses)
    assert result.eval_loss is not None and math.isfinite(result.eval_loss)
    assert (checkpoint / "global_step3").is_dir(), "the DeepSpeed engine writes its ZeRO state per step"
    changed = lora_b_weights(result.adapter_dir)
    assert len(changed) == 2 * 4 and all(total > 0 for total in changed.values())
    assert result.merged_dir is not None and (result.merged_dir / "model.safetensors").is_file()
    assert dict(os.environ) == environ
    assert not dist.is_initialized()

    plain = TrainingSettings(max_steps=2, save_steps=2, max_seq_length=96, merge=False)
    train_lora(base, train, [], plain, tmp_path / "plain")
    plain_checkpoint = tmp_path / "plain" / "checkpoints" / "checkpoint-2"
    assert (plain_checkpoint / "optimizer.pt").is_file()
    assert not list(plain_checkpoint.glob("global_step*")), "the plain run must not run under DeepSpeed"


def test_torchrun_worker_trains_zero2_over_two_cpu_ranks(tmp_path: Path) -> None:
    """The multi-GPU pod path (torchrun + worker.py) run on CPU: two gloo ranks, ZeRO-2, one adapter from rank 0."""
    base = build_tiny_causal_lm(tmp_path / "base", sample_texts())
    params = TrainingSettings(max_steps=3, save_steps=3, max_seq_length=96, deepspeed={"enabled": True, "stage": 2})
    config = checked_deepspeed_config(params, world_size=2)
    assert config["train_batch_size"] == 2 * params.per_device_batch_size
    output = tmp_path / "run"
    spec = WorkerSpec.build(
        base,
        conversations(16),
        conversations(20)[16:],
        params,
        output,
        deepspeed_config=config,
        extensions_dir=EXTENSIONS_DIR,
    ).write(tmp_path / "spec.json")
    env = {key: value for key, value in os.environ.items() if key not in LAUNCHER_ENV}

    done = subprocess.run(torchrun_command(2, spec, free_port()), env=env, capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stderr[-4000:]
    assert is_complete(output) and read_result(output).steps == 3
    checkpoint = output / "checkpoints" / "checkpoint-3"
    assert {p.name for p in checkpoint.glob("rng_state_*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}
    assert (checkpoint / "global_step3").is_dir()
    adapter = output / "adapter"
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= {p.name for p in adapter.iterdir()}
    assert all(total > 0 for total in lora_b_weights(adapter).values())
