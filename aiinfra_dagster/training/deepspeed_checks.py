"""A DeepSpeed config checked before training, with transformers', accelerate's and DeepSpeed's own code.

Every config goes through the three libraries' checks *before* training starts, so a bad
stage or inconsistent batch sizes fail in seconds with DeepSpeed's text and the setting to
change, not minutes into a run. "auto" values are resolved exactly as the Trainer resolves them.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import ValidationError

from aiinfra_dagster.settings import TrainingSettings
from aiinfra_dagster.training.deepspeed_config import DeepSpeedConfigError, config_origin, deepspeed_config
from aiinfra_dagster.training.launch import restore_environ

Precision = Literal["fp32", "bf16", "fp16"]

# transformers fills these from the model's hidden size only once the model exists.
HIDDEN_SIZE_KEYS = (
    "zero_optimization.reduce_bucket_size",
    "zero_optimization.stage3_prefetch_bucket_size",
    "zero_optimization.stage3_param_persistence_threshold",
)
# Which setting to change when transformers reports a DeepSpeed value that contradicts it.
SETTING_OF_KEY = {
    "train_micro_batch_size_per_gpu": "training.per_device_batch_size",
    "gradient_accumulation_steps": "training.gradient_accumulation_steps",
    "train_batch_size": "training.per_device_batch_size x training.gradient_accumulation_steps x world size",
    "optimizer.params.lr": "training.learning_rate",
    "scheduler.params.warmup_max_lr": "training.learning_rate",
    "optimizer.params.weight_decay": "training.weight_decay",
    "fp16.enabled": "training.precision",
    "bf16.enabled": "training.precision",
    "scheduler.params.total_num_steps": "training.max_steps",
    "scheduler.params.warmup_num_steps": "training.warmup_steps",
}


def checked_deepspeed_config(
    training: TrainingSettings,
    *,
    world_size: int = 1,
    hidden_size: int | None = None,
    precision: Precision | None = None,
) -> dict[str, Any]:
    """`deepspeed_config` validated against the training settings (what a step passes to `train_lora`).

    `precision` is the one the Trainer really gets when it differs from the setting (train_lora
    trains fp16 as fp32 on CPU); a resolved config must match it or transformers refuses it.
    """
    return validate_deepspeed_config(
        deepspeed_config(training),
        micro_batch=training.per_device_batch_size,
        grad_accum=training.gradient_accumulation_steps,
        world_size=world_size,
        learning_rate=training.learning_rate,
        weight_decay=training.weight_decay,
        precision=precision or training.precision,
        max_steps=training.max_steps,
        warmup_steps=training.warmup_steps,
        hidden_size=hidden_size,
        origin=config_origin(training),
    )


def validate_deepspeed_config(
    config: Mapping[str, Any],
    *,
    micro_batch: int,
    grad_accum: int,
    world_size: int,
    learning_rate: float | None = None,
    weight_decay: float = 0.0,
    precision: Precision = "fp32",
    max_steps: int | None = None,
    warmup_steps: float = 0,
    hidden_size: int | None = None,
    origin: str = "training.deepspeed.config",
) -> dict[str, Any]:
    """Resolve "auto" like the Trainer does and run transformers', accelerate's and DeepSpeed's own checks.

    Returns the config as the Trainer resolves it (the input is not modified); keys filled from
    the model's hidden size stay "auto" when `hidden_size` is unknown. Nothing initialises
    torch.distributed and os.environ is left as it was. Raises DeepSpeedConfigError carrying the
    library's own text and the setting to change.
    """
    if not isinstance(config, Mapping):
        raise DeepSpeedConfigError(f"{origin}: a DeepSpeed config must be a JSON object, got {type(config).__name__}")
    args = _trainer_args(micro_batch, grad_accum, world_size, learning_rate, weight_decay, precision, warmup_steps)
    with _isolated_hf_deepspeed_state():
        hf_config = _filled_like_training_arguments(config, args, origin)
        accelerate_view = _filled_like_accelerate(hf_config.config, origin)
        _check_with_deepspeed(accelerate_view, world_size, origin, pending=hf_config.mismatches)
        unknown_hidden = [key for key in HIDDEN_SIZE_KEYS if hidden_size is None and hf_config.is_auto(key)]
        model = SimpleNamespace(config=SimpleNamespace(hidden_size=hidden_size or 1))
        try:
            hf_config.trainer_config_finalize(args, model, max_steps or 1)
        except ValueError as exc:
            raise _mismatch_error(exc, hf_config.mismatches, origin) from exc
    resolved: dict[str, Any] = hf_config.config
    for key in unknown_hidden:
        _set_key(resolved, key, "auto")
    leftover = [k for k in _auto_keys(resolved) if k not in unknown_hidden and _get_key(accelerate_view, k) == "auto"]
    if leftover:
        raise DeepSpeedConfigError(
            f'{origin}: transformers cannot fill "auto" for {", ".join(leftover)}; give these values explicitly'
        )
    return resolved


def _trainer_args(
    micro_batch: int,
    grad_accum: int,
    world_size: int,
    learning_rate: float | None,
    weight_decay: float,
    precision: Precision,
    warmup_steps: float,
) -> SimpleNamespace:
    """The TrainingArguments fields transformers reads when filling "auto" (the others keep its defaults)."""
    # local import: transformers is heavy; the Dagster definitions import this module (via checkpoints) at load
    from transformers import TrainingArguments  # local import: see the line above

    defaults = TrainingArguments.__dataclass_fields__
    args = SimpleNamespace(
        **{
            name: defaults[name].default
            for name in (
                "learning_rate",
                "adam_beta1",
                "adam_beta2",
                "adam_epsilon",
                "max_grad_norm",
                "save_on_each_node",
            )
        }
    )
    args.world_size = world_size
    args.per_device_train_batch_size = micro_batch
    args.gradient_accumulation_steps = grad_accum
    if learning_rate is not None:
        args.learning_rate = learning_rate
    args.weight_decay = weight_decay
    args.fp16 = precision == "fp16"
    args.bf16 = precision == "bf16"
    args.fp16_full_eval = args.bf16_full_eval = False
    args.get_warmup_steps = lambda n: int(warmup_steps) if warmup_steps >= 1 else math.ceil(n * warmup_steps)
    return args


@contextmanager
def _isolated_hf_deepspeed_state() -> Iterator[None]:
    """transformers keeps the last DeepSpeed config in a module global (it drives ZeRO-3 loading): keep it as it was."""
    # First imports may set variables of their own (not ours to undo), so accelerate is imported before saving.
    import accelerate.utils  # noqa: F401  # local import: accelerate is heavy, loaded only to validate
    import transformers.integrations.deepspeed as hf_ds  # local import: heavy, loaded only to validate

    _planned_world_config()
    saved = hf_ds._hf_deepspeed_config_weak_ref
    environ = dict(os.environ)
    try:
        yield
    finally:
        hf_ds._hf_deepspeed_config_weak_ref = saved
        restore_environ(environ)


def _filled_like_training_arguments(config: Mapping[str, Any], args: SimpleNamespace, origin: str) -> Any:
    """transformers' own "auto" filling and mismatch bookkeeping (TrainingArguments.__post_init__)."""
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig  # local import: heavy, see above

    try:
        hf_config = HfTrainerDeepSpeedConfig(dict(config))
        hf_config.trainer_config_process(args)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _translated(exc, origin, "transformers") from exc
    return hf_config


def _filled_like_accelerate(config: dict[str, Any], origin: str) -> dict[str, Any]:
    """accelerate's DeepSpeedPlugin checks and fills (ZeRO section required, stage "auto"), on a copy."""
    from accelerate.utils import DeepSpeedPlugin  # local import: heavy, loaded only to validate

    try:
        return dict(DeepSpeedPlugin(hf_ds_config=copy.deepcopy(config)).deepspeed_config)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _translated(exc, origin, "accelerate") from exc


@cache
def _planned_world_config() -> type:
    """DeepSpeedConfig for the world size we will launch.

    DeepSpeed would otherwise ask a process group that does not exist yet.
    """
    from deepspeed.runtime.config import DeepSpeedConfig  # local import: deepspeed is optional and slow to import

    class PlannedWorldConfig(DeepSpeedConfig):
        def __init__(self, config: dict[str, Any], world_size: int) -> None:
            self._planned_world_size = world_size
            super().__init__(config)

        @property
        def world_size(self) -> int:
            return self._planned_world_size

        @world_size.setter
        def world_size(self, _measured: int) -> None:
            pass

    return PlannedWorldConfig


def _check_with_deepspeed(config: dict[str, Any], world_size: int, origin: str, pending: list[str]) -> None:
    """DeepSpeed's own parsing: the pydantic ZeRO config (stage, offload, unknown keys) and the batch-size assertion."""
    checked = copy.deepcopy(config)
    for key in HIDDEN_SIZE_KEYS:  # filled once the model exists; any integer parses the same way
        if _get_key(checked, key) == "auto":
            _set_key(checked, key, 1)
    try:
        _planned_world_config()(checked, world_size)
    except (ValueError, TypeError, KeyError, AttributeError, AssertionError) as exc:
        error = _translated(exc, origin, "DeepSpeed")
        if pending:
            error = DeepSpeedConfigError(f"{error}\ntransformers also reports:\n" + "\n".join(pending))
        raise error from exc


def _translated(exc: BaseException, origin: str, who: str) -> DeepSpeedConfigError:
    text = str(exc).strip() or type(exc).__name__
    return DeepSpeedConfigError(f"{origin}: {_hint(exc, origin)}\n{who} says: {text}")


def _hint(exc: BaseException, origin: str) -> str:
    """The setting to change for a library error: from pydantic's field locations, else from the text."""

    built = origin.startswith("training.deepspeed.stage")
    if isinstance(exc, ValidationError):
        fields = [".".join(str(part) for part in error["loc"]) for error in exc.errors()]
        if "stage" in fields:
            return (
                "invalid ZeRO stage: set training.deepspeed.stage to 2 or 3"
                if built
                else f"invalid ZeRO stage: set zero_optimization.stage to 2 or 3 in {origin}"
            )
        return f"invalid zero_optimization.{', zero_optimization.'.join(fields)} in {origin}"
    text = str(exc).lower()
    if "batch" in text or "gradient_acc" in text:
        return (
            "inconsistent batch sizes: train_batch_size must equal train_micro_batch_size_per_gpu x "
            'gradient_accumulation_steps x world size; set them to "auto" to follow '
            "training.per_device_batch_size and training.gradient_accumulation_steps"
        )
    if "fp16" in text or "bfloat16" in text or "bf16" in text:
        return f"enable at most one of fp16 and bf16 in {origin}, matching training.precision"
    if "zero optimization config" in text:
        return f"add a zero_optimization section (with a stage) to {origin}"
    return f"DeepSpeed cannot use this config: fix {origin}"


def _mismatch_error(exc: ValueError, mismatches: list[str], origin: str) -> DeepSpeedConfigError:
    keys = [line.removeprefix("- ds ").split("=", 1)[0] for line in mismatches]
    settings = sorted({SETTING_OF_KEY.get(key, f"{key} in {origin}") for key in keys})
    hint = (
        f"explicit values contradict the training settings: change {' / '.join(settings)} "
        f'or set {", ".join(keys)} to "auto" in {origin}'
    )
    return DeepSpeedConfigError(f"{origin}: {hint}\ntransformers says: {exc}")


def _auto_keys(config: Mapping[str, Any], prefix: str = "") -> list[str]:
    found: list[str] = []
    for key, value in config.items():
        if isinstance(value, Mapping):
            found += _auto_keys(value, f"{prefix}{key}.")
        elif value == "auto":
            found.append(prefix + key)
    return found


def _get_key(config: Mapping[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _set_key(config: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = config
    for part in parents:
        node = node[part]
    node[last] = value
