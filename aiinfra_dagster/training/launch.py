"""How a DeepSpeed fine-tune is launched: in the calling process or under torchrun, and the state it leaves.

On CPU (and on one GPU) DeepSpeed runs in the calling process over gloo once the
launcher variables are present (`single_process_env`); with several GPUs the step
runs ``torch.distributed.run`` inside its pod (`torchrun_command` + `worker`).
Compiled DeepSpeed ops are cached in `training.deepspeed.extensions_dir` (a cold build takes ~1 min for
shm_comm, ~3 min more for offload's cpu_adam). The config itself is `deepspeed_config`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from aiinfra_dagster.net import free_port
from aiinfra_dagster.settings import TrainingSettings

LaunchMode = Literal["in_process", "torchrun"]

WORKER_MODULE = "aiinfra_dagster.training.worker"
LAUNCHER_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@contextmanager
def single_process_env(extensions_dir: Path, master_port: int | None = None) -> Iterator[dict[str, str]]:
    """Launcher variables for a one-process DeepSpeed run; the environment is restored afterwards.

    DeepSpeed only initialises its (gloo) backend when RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR
    and MASTER_PORT are set; values a launcher (torchrun) already set are kept, and so is an existing
    TORCH_EXTENSIONS_DIR. On exit every variable changed inside the block is put back (accelerate
    leaves ACCELERATE_USE_DEEPSPEED=true behind, which would turn a later plain run into a DeepSpeed
    one), so is torch's thread count, and the process group this block created is destroyed together
    with the DeepSpeed state transformers keeps globally (see `release_deepspeed_state`).
    Yields the variables it set.
    """
    import torch  # local import: torch is heavy; the Dagster definitions import this module (via checkpoints)
    import torch.distributed as dist  # local import: see torch above

    wanted = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}
    if "MASTER_PORT" not in os.environ:
        wanted["MASTER_PORT"] = str(master_port or free_port())
    wanted["TORCH_EXTENSIONS_DIR"] = str(extensions_dir)
    added = {key: value for key, value in wanted.items() if key not in os.environ}
    Path(os.environ.get("TORCH_EXTENSIONS_DIR", extensions_dir)).mkdir(parents=True, exist_ok=True)
    owns_group = not (dist.is_available() and dist.is_initialized())
    before, threads = dict(os.environ), torch.get_num_threads()
    os.environ.update(added)
    try:
        yield added
    finally:
        if owns_group:
            release_deepspeed_state()
        restore_environ(before)
        torch.set_num_threads(threads)  # accelerate's CPU path sets it from the physical core count


def restore_environ(before: Mapping[str, str]) -> None:
    """Put os.environ back to `before`: remove added variables, restore changed ones."""
    for key in [key for key in os.environ if key not in before]:
        del os.environ[key]
    for key, value in before.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def release_deepspeed_state() -> None:
    """Destroy the process group and forget the DeepSpeed config transformers/accelerate keep globally.

    Call it after training (and after saving the adapter) before loading any model again in this
    process: while the Trainer's ZeRO-3 config is registered, `from_pretrained` partitions weights.
    """
    import torch.distributed as dist  # local import: torch is heavy; see single_process_env

    if "deepspeed" in sys.modules:
        import deepspeed.comm as ds_dist  # local import: only when a run already loaded deepspeed

        if ds_dist.is_initialized():
            ds_dist.destroy_process_group()
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    if "transformers.integrations.deepspeed" in sys.modules:
        from transformers.integrations.deepspeed import unset_hf_deepspeed_config  # local import: only if loaded

        unset_hf_deepspeed_config()
    if "accelerate" in sys.modules:
        from accelerate.state import AcceleratorState  # local import: only if loaded

        AcceleratorState._reset_state(reset_partial_state=True)


def launch_mode(training: TrainingSettings, gpu_count: int) -> LaunchMode:
    """torchrun when the pod has several GPUs (one process each), else the calling process (CPU or one GPU)."""
    launcher = training.deepspeed.launcher
    if launcher != "auto":
        return launcher
    return "torchrun" if gpu_count > 1 else "in_process"


def torchrun_command(nproc: int, spec_path: Path, master_port: int) -> list[str]:
    """`python -m torch.distributed.run` starting `worker` once per device, on this node only."""
    if nproc < 1:
        raise ValueError(f"nproc must be at least 1, got {nproc}")
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc_per_node",
        str(nproc),
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(master_port),
        "-m",
        WORKER_MODULE,
        str(spec_path),
    ]
