"""DeepSpeed configs: user JSON taken as-is, "auto" filled like the Trainer, bad configs refused with its words."""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist

from aiinfra_dagster.settings import TrainingSettings
from aiinfra_dagster.training.deepspeed_checks import checked_deepspeed_config, validate_deepspeed_config
from aiinfra_dagster.training.deepspeed_config import DeepSpeedConfigError, deepspeed_config
from aiinfra_dagster.training.launch import launch_mode, single_process_env, torchrun_command

# Explicit, self-consistent, and matching TrainingSettings() defaults (batch 2, accumulation 1, lr 2e-4).
USER_CONFIG: dict[str, Any] = {
    "train_micro_batch_size_per_gpu": 2,
    "gradient_accumulation_steps": 1,
    "train_batch_size": 2,
    "zero_optimization": {"stage": 2, "overlap_comm": False, "contiguous_gradients": True},
    "optimizer": {"type": "AdamW", "params": {"lr": 2e-4, "weight_decay": 0.0}},
    "steps_per_print": 1000,
}
HF_STYLE_AUTO = {
    "train_micro_batch_size_per_gpu": "auto",
    "gradient_accumulation_steps": "auto",
    "train_batch_size": "auto",
    "gradient_clipping": "auto",
    "bf16": {"enabled": "auto"},
    "zero_optimization": {"stage": 3, "reduce_bucket_size": "auto", "stage3_param_persistence_threshold": "auto"},
    "optimizer": {"type": "AdamW", "params": {"lr": "auto", "betas": "auto", "eps": "auto", "weight_decay": "auto"}},
    "scheduler": {
        "type": "WarmupDecayLR",
        "params": {"warmup_max_lr": "auto", "total_num_steps": "auto", "warmup_num_steps": "auto"},
    },
}


def training(**deepspeed: Any) -> TrainingSettings:
    return TrainingSettings(deepspeed={"enabled": True, **deepspeed})


def check(config: dict[str, Any], params: TrainingSettings | None = None, **kw: Any) -> dict[str, Any]:
    params = params or TrainingSettings()
    return validate_deepspeed_config(
        config,
        micro_batch=params.per_device_batch_size,
        grad_accum=params.gradient_accumulation_steps,
        world_size=kw.pop("world_size", 1),
        learning_rate=params.learning_rate,
        weight_decay=params.weight_decay,
        precision=params.precision,
        max_steps=params.max_steps,
        warmup_steps=params.warmup_steps,
        **kw,
    )


def rejection(config: dict[str, Any], **kw: Any) -> str:
    with pytest.raises(DeepSpeedConfigError) as info:
        check(config, **kw)
    return str(info.value)


# --- accepted configs ---------------------------------------------------------------------------


def test_user_json_inline_and_from_file_is_used_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "ds.json"
    path.write_text(json.dumps(USER_CONFIG))
    assert deepspeed_config(training(config=USER_CONFIG)) == USER_CONFIG
    assert deepspeed_config(training(config_path=str(path))) == USER_CONFIG
    original = copy.deepcopy(USER_CONFIG)
    assert check(USER_CONFIG) == USER_CONFIG
    assert USER_CONFIG == original, "validation must not modify the caller's dict"


def test_built_config_follows_stage_offload_and_precision() -> None:
    built = deepspeed_config(training(stage=3, offload_optimizer=True, offload_param=True))
    assert built["zero_optimization"]["stage"] == 3
    assert built["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    assert built["zero_optimization"]["offload_param"]["device"] == "cpu"
    resolved = checked_deepspeed_config(TrainingSettings(precision="bf16", deepspeed={"enabled": True}))
    assert resolved["bf16"] == {"enabled": True} and resolved["fp16"] == {"enabled": False}
    assert "offload_optimizer" not in resolved["zero_optimization"]
    on_cpu = checked_deepspeed_config(TrainingSettings(precision="fp16", deepspeed={"enabled": True}), precision="fp32")
    assert on_cpu["fp16"] == {"enabled": False}, "train_lora trains fp16 as fp32 on CPU; the config must agree"


def test_parameter_offload_without_stage_3_is_refused() -> None:
    with pytest.raises(
        DeepSpeedConfigError, match=r"training\.deepspeed\.offload_param needs training\.deepspeed\.stage 3"
    ):
        deepspeed_config(training(stage=2, offload_param=True))


def test_auto_values_are_filled_from_the_training_settings_like_the_trainer() -> None:
    params = TrainingSettings(
        per_device_batch_size=3, gradient_accumulation_steps=2, learning_rate=1e-3, max_steps=40, warmup_steps=5
    )
    resolved = check(HF_STYLE_AUTO, params, world_size=4, hidden_size=64)
    assert resolved["train_micro_batch_size_per_gpu"] == 3
    assert resolved["gradient_accumulation_steps"] == 2
    assert resolved["train_batch_size"] == 3 * 2 * 4
    assert resolved["gradient_clipping"] == 1.0
    assert resolved["bf16"]["enabled"] is False
    assert resolved["optimizer"]["params"] == {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}
    assert resolved["scheduler"]["params"] == {"warmup_max_lr": 1e-3, "total_num_steps": 40, "warmup_num_steps": 5}
    assert resolved["zero_optimization"]["reduce_bucket_size"] == 64 * 64
    assert resolved["zero_optimization"]["stage3_param_persistence_threshold"] == 10 * 64
    assert HF_STYLE_AUTO["train_batch_size"] == "auto"


def test_model_sized_values_stay_auto_until_the_model_is_known() -> None:
    resolved = check(HF_STYLE_AUTO)
    assert resolved["zero_optimization"]["reduce_bucket_size"] == "auto"
    assert resolved["train_batch_size"] == 2


def test_validation_leaves_no_process_group_environment_or_transformers_state() -> None:
    import transformers.integrations.deepspeed as hf_ds

    check(HF_STYLE_AUTO)  # first imports may set variables of their own
    environ = dict(os.environ)
    live = hf_ds.HfDeepSpeedConfig({"zero_optimization": {"stage": 3}})  # as a running ZeRO-3 Trainer registers it
    try:
        check(USER_CONFIG)  # a stage-2 config
        assert hf_ds.deepspeed_config() is live.config, "the running Trainer's config must stay registered"
        assert hf_ds.is_deepspeed_zero3_enabled()
    finally:
        hf_ds.unset_hf_deepspeed_config()
    assert dict(os.environ) == environ
    assert not dist.is_initialized()


# --- rejected configs ---------------------------------------------------------------------------


@pytest.mark.parametrize("stage", [4, -1])
def test_bad_stage_in_settings_names_the_setting_and_quotes_deepspeed(stage: int) -> None:
    with pytest.raises(DeepSpeedConfigError) as info:
        checked_deepspeed_config(training(stage=stage))
    message = str(info.value)
    assert "training.deepspeed.stage" in message
    assert "DeepSpeedZeroConfig" in message and "Input should be 0, 1, 2, 3" in message
    assert f"input_value={stage}" in message


def test_bad_stage_in_user_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ds.json"
    path.write_text(json.dumps({**USER_CONFIG, "zero_optimization": {"stage": 4}}))
    with pytest.raises(DeepSpeedConfigError) as info:
        checked_deepspeed_config(training(config_path=str(path)))
    message = str(info.value)
    assert f"training.deepspeed.config_path ({path})" in message
    assert "zero_optimization.stage" in message and "Input should be 0, 1, 2, 3" in message


def test_inconsistent_batch_sizes_quote_deepspeeds_assertion() -> None:
    message = rejection({**USER_CONFIG, "train_batch_size": 16})
    assert "training.per_device_batch_size" in message and "training.gradient_accumulation_steps" in message
    assert "train_batch_size is not equal to micro_batch_per_gpu * gradient_acc_step * world_size" in message
    assert "16 != 2 * 1 * 1" in message


def test_batch_check_uses_the_planned_world_size_not_this_process() -> None:
    assert check(USER_CONFIG, world_size=1)["train_batch_size"] == 2
    message = rejection(USER_CONFIG, world_size=4)
    assert "2 != 2 * 1 * 4" in message


def test_unknown_zero_key_is_rejected_by_deepspeed() -> None:
    message = rejection({**USER_CONFIG, "zero_optimization": {"stage": 2, "overlap_comms": True}})
    assert "zero_optimization.overlap_comms" in message
    assert "Extra inputs are not permitted" in message


def test_missing_zero_section_is_rejected_by_accelerate() -> None:
    config = {k: v for k, v in USER_CONFIG.items() if k != "zero_optimization"}
    message = rejection(config)
    assert "add a zero_optimization section" in message
    assert "Please specify the ZeRO optimization config in the DeepSpeed config" in message


@pytest.mark.parametrize(
    ("override", "setting", "library_text"),
    [
        (
            {"train_micro_batch_size_per_gpu": 4, "train_batch_size": 4},
            "training.per_device_batch_size",
            "ds train_micro_batch_size_per_gpu=4 vs hf per_device_train_batch_size=2",
        ),
        (
            {"optimizer": {"type": "AdamW", "params": {"lr": 1e-3}}},
            "training.learning_rate",
            "ds optimizer.params.lr=0.001 vs hf learning_rate=0.0002",
        ),
        ({"bf16": {"enabled": True}}, "training.precision", "ds bf16.enabled=True vs hf bf16|bf16_full_eval=False"),
        (
            {"scheduler": {"type": "WarmupDecayLR", "params": {"total_num_steps": 999}}},
            "training.max_steps",
            "ds scheduler.params.total_num_steps=999 vs hf num_training_steps (calculated)=30",
        ),
    ],
)
def test_explicit_values_contradicting_the_settings_are_rejected(
    override: dict[str, Any], setting: str, library_text: str
) -> None:
    message = rejection({**USER_CONFIG, **override})
    assert setting in message
    assert "mismatch TrainingArguments" in message and library_text in message


def test_auto_that_transformers_cannot_fill_is_rejected() -> None:
    message = rejection({**USER_CONFIG, "zero_optimization": {"stage": 2, "allgather_bucket_size": "auto"}})
    assert "zero_optimization.allgather_bucket_size" in message and "cannot fill" in message


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(DeepSpeedConfigError, match=r"training\.deepspeed\.config_path .*does not exist"):
        deepspeed_config(training(config_path=str(path)))


@pytest.mark.parametrize(
    ("text", "library_text"),
    [
        ("zero_optimization: {stage: 2}", "Expecting value: line 1 column 1"),
        ('{"zero_optimization": {"stage": 2},}', "Expecting property name"),
    ],
)
def test_config_file_that_is_not_json(tmp_path: Path, text: str, library_text: str) -> None:
    path = tmp_path / "ds.json"
    path.write_text(text)
    with pytest.raises(DeepSpeedConfigError) as info:
        deepspeed_config(training(config_path=str(path)))
    assert f"training.deepspeed.config_path ({path})" in str(info.value) and "not valid JSON" in str(info.value)
    assert library_text in str(info.value)


def test_config_file_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "ds.json"
    path.write_text("[1, 2]")
    with pytest.raises(DeepSpeedConfigError, match="must be a JSON object, got list"):
        deepspeed_config(training(config_path=str(path)))


# --- environment and launch ---------------------------------------------------------------------

LAUNCHER = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "TORCH_EXTENSIONS_DIR")


@pytest.fixture
def clean_launcher_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (*LAUNCHER, "ACCELERATE_USE_DEEPSPEED"):
        monkeypatch.delenv(key, raising=False)


@pytest.mark.usefixtures("clean_launcher_env")
def test_single_process_env_sets_and_restores(tmp_path: Path) -> None:
    extensions, threads = tmp_path / "ext", torch.get_num_threads()
    with single_process_env(extensions, master_port=29123) as added:
        assert {key: os.environ[key] for key in LAUNCHER} == {
            "RANK": "0",
            "LOCAL_RANK": "0",
            "WORLD_SIZE": "1",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": "29123",
            "TORCH_EXTENSIONS_DIR": str(extensions),
        }
        assert added == {key: os.environ[key] for key in LAUNCHER}
        assert extensions.is_dir()
        os.environ["ACCELERATE_USE_DEEPSPEED"] = "true"  # what accelerate leaves behind after a DeepSpeed run
        torch.set_num_threads(threads + 1)  # and what its CPU path does to torch
    assert not any(key in os.environ for key in (*LAUNCHER, "ACCELERATE_USE_DEEPSPEED"))
    assert torch.get_num_threads() == threads


@pytest.mark.usefixtures("clean_launcher_env")
def test_single_process_env_keeps_what_a_launcher_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("MASTER_PORT", "29999")
    with single_process_env(tmp_path / "ext") as added:
        assert (os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["MASTER_PORT"]) == ("1", "2", "29999")
        assert set(added) == {"LOCAL_RANK", "MASTER_ADDR", "TORCH_EXTENSIONS_DIR"}
    assert (os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["MASTER_PORT"]) == ("1", "2", "29999")
    assert "LOCAL_RANK" not in os.environ


@pytest.mark.usefixtures("clean_launcher_env")
def test_single_process_env_picks_a_free_port_and_destroys_its_process_group(tmp_path: Path) -> None:
    with single_process_env(tmp_path / "ext"):
        port = int(os.environ["MASTER_PORT"])
        assert 0 < port < 65536
        dist.init_process_group("gloo")  # what DeepSpeed does inside the block, from these variables
        assert dist.get_world_size() == 1 and dist.get_rank() == 0
    assert not dist.is_initialized()


@pytest.mark.parametrize(
    ("launcher", "gpus", "expected"),
    [
        ("auto", 0, "in_process"),
        ("auto", 1, "in_process"),
        ("auto", 4, "torchrun"),
        ("in_process", 4, "in_process"),
        ("torchrun", 0, "torchrun"),
    ],
)
def test_launch_mode(launcher: str, gpus: int, expected: str) -> None:
    assert launch_mode(training(launcher=launcher), gpus) == expected


def test_torchrun_command_runs_the_worker_module(tmp_path: Path) -> None:
    command = torchrun_command(2, tmp_path / "spec.json", 29500)
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert command[command.index("--nproc_per_node") + 1] == "2"
    assert command[command.index("--master_port") + 1] == "29500"
    assert command[-3:] == ["-m", "aiinfra_dagster.training.worker", str(tmp_path / "spec.json")]
    with pytest.raises(ValueError):
        torchrun_command(0, tmp_path / "spec.json", 29500)
