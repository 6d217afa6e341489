"""The DeepSpeed ZeRO config of a LoRA fine-tune: the user's JSON, or one built from the settings.

The user's DeepSpeed JSON is taken as-is (``"auto"`` values allowed, filled from
the training settings exactly as the transformers Trainer fills them, see
`deepspeed_checks`); without one a ZeRO config is built from
``training.deepspeed.stage`` and its offload flags. How the run is launched is `launch`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from aiinfra_dagster.settings import TrainingSettings


class DeepSpeedConfigError(ValueError):
    """A DeepSpeed config that would fail (or silently misbehave) in training; the message names the setting."""


# --- the config ---------------------------------------------------------------------------------


def config_origin(training: TrainingSettings) -> str:
    """Where the DeepSpeed config comes from, as the setting a user edits."""
    ds = training.deepspeed
    if ds.config_path is not None:
        return f"training.deepspeed.config_path ({ds.config_path})"
    if ds.config is not None:
        return "training.deepspeed.config"
    return "training.deepspeed.stage/offload_*"


def deepspeed_config(training: TrainingSettings) -> dict[str, Any]:
    """The user's DeepSpeed JSON (inline or file) unchanged, else a ZeRO config built from the settings.

    Files are read as strict JSON, as transformers/accelerate read them.
    """
    ds = training.deepspeed
    if ds.config is not None:
        return copy.deepcopy(ds.config)
    if ds.config_path is not None:
        return _read_config_file(Path(ds.config_path))
    return built_config(ds.stage, offload_optimizer=ds.offload_optimizer, offload_param=ds.offload_param)


def _read_config_file(path: Path) -> dict[str, Any]:
    setting = f"training.deepspeed.config_path ({path})"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DeepSpeedConfigError(f"{setting}: the DeepSpeed config file does not exist") from exc
    except OSError as exc:
        raise DeepSpeedConfigError(f"{setting}: the DeepSpeed config file cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DeepSpeedConfigError(f"{setting}: the DeepSpeed config file is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise DeepSpeedConfigError(f"{setting}: a DeepSpeed config must be a JSON object, got {type(data).__name__}")
    return data


def built_config(stage: int, *, offload_optimizer: bool = False, offload_param: bool = False) -> dict[str, Any]:
    """A ZeRO config whose sizes and precision are "auto", so they always follow the training settings.

    No optimizer/scheduler section: the Trainer's AdamW and schedule are used, as in a plain run
    (with optimizer offload accelerate swaps in DeepSpeedCPUAdam, a compiled op).
    """
    if offload_param and stage != 3:
        raise DeepSpeedConfigError(
            f"training.deepspeed.offload_param needs training.deepspeed.stage 3 (got stage {stage}): "
            "ZeRO partitions, and so offloads, parameters only at stage 3"
        )
    zero: dict[str, Any] = {"stage": stage}
    if offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if offload_param:
        zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    if stage == 3:
        zero["stage3_gather_16bit_weights_on_model_save"] = True
    return {
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "train_batch_size": "auto",
        "gradient_clipping": "auto",
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "zero_optimization": zero,
    }
