"""LoRA supervised fine-tuning of a causal LM on chat examples with the transformers Trainer.

Only the assistant's reply is learned (prompt tokens are masked), checkpoints
go under ``<output>/checkpoints`` every ``save_steps`` so a killed run resumes
where it stopped, and the finished run writes the adapter, the merged model,
the tokenizer, the training arguments and the per-step metrics. A ``COMPLETE``
marker is written last: a directory without it is never served as finished.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_callback import PrinterCallback

from aiinfra_dagster.atomic import write_text_atomic
from aiinfra_dagster.settings import TrainingSettings
from aiinfra_dagster.training.deepspeed_checks import Precision
from aiinfra_dagster.training.history import MetricsHistory
from aiinfra_dagster.training.launch import release_deepspeed_state

IGNORE_INDEX = -100
COMPLETE = "COMPLETE"
Messages = list[dict[str, str]]


@dataclass(frozen=True)
class TokenizedExample:
    input_ids: list[int]
    labels: list[int]
    truncated: bool


@dataclass
class SftResult:
    output_dir: Path
    adapter_dir: Path
    merged_dir: Path | None
    history: list[dict[str, Any]]
    steps: int
    train_loss: float | None
    eval_loss: float | None
    tokens_seen: int
    train_seconds: float
    resumed_from_step: int | None
    train_examples: int
    eval_examples: int
    truncated_examples: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float | None:
        return self.tokens_seen / self.train_seconds if self.train_seconds > 0 and self.tokens_seen else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tokens_per_second"] = self.tokens_per_second
        for key in ("output_dir", "adapter_dir", "merged_dir"):
            data[key] = str(data[key]) if data[key] is not None else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SftResult:
        """The result a finished run wrote (`to_json`); derived keys such as tokens_per_second are recomputed."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["output_dir"] = Path(values["output_dir"])
        values["adapter_dir"] = Path(values["adapter_dir"])
        values["merged_dir"] = Path(values["merged_dir"]) if values.get("merged_dir") else None
        return cls(**values)


def tokenize_chat(tokenizer: Any, messages: Messages, max_length: int) -> TokenizedExample:
    """Token ids of the whole conversation; labels only on the final assistant reply.

    Over-long examples lose the middle of the prompt (the end of the context),
    keeping the system prompt's start, the question and the reply.
    """
    if not messages or messages[-1].get("role") != "assistant":
        raise ValueError("each training example must end with an assistant message")
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):
        raise ValueError("the chat template renders the prompt differently inside the full conversation")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    reply_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    truncated = len(prompt_ids) + len(reply_ids) > max_length
    if truncated:
        reply_ids = reply_ids[: max(max_length // 2, max_length - len(prompt_ids))]
        budget = max_length - len(reply_ids)
        head = budget // 2
        prompt_ids = prompt_ids[:head] + prompt_ids[len(prompt_ids) - (budget - head) :]
    return TokenizedExample(
        input_ids=prompt_ids + reply_ids,
        labels=[IGNORE_INDEX] * len(prompt_ids) + reply_ids,
        truncated=truncated,
    )


class ChatDataset(torch.utils.data.Dataset):
    def __init__(self, examples: list[TokenizedExample]) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        ex = self.examples[index]
        return {"input_ids": ex.input_ids, "labels": ex.labels}


@dataclass(frozen=True)
class PadCollator:
    pad_token_id: int

    def __call__(self, batch: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, b in enumerate(batch):
            n = len(b["input_ids"])
            ids[row, :n] = torch.tensor(b["input_ids"])
            labels[row, :n] = torch.tensor(b["labels"])
            mask[row, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}


class Throughput(TrainerCallback):
    """Tokens and seconds of this session only (a resumed run restores the earlier token count)."""

    def __init__(self) -> None:
        self.tokens = 0
        self.seconds = 0.0
        self._start = (0, 0.0)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._start = (int(state.num_input_tokens_seen or 0), time.perf_counter())

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.tokens = int(state.num_input_tokens_seen or 0) - self._start[0]
        self.seconds = time.perf_counter() - self._start[1]


def effective_precision(precision: Precision) -> Precision:
    """The precision a run really trains in: fp16 needs a GPU, so without one it trains as fp32."""
    return "fp32" if precision == "fp16" and not torch.cuda.is_available() else precision


def torch_dtype(precision: str) -> torch.dtype:
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def lora_config(params: TrainingSettings) -> Any:
    return LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=params.lora.r,
        lora_alpha=params.lora.alpha,
        lora_dropout=params.lora.dropout,
        target_modules=list(params.lora.target_modules),
    )


def training_arguments(
    params: TrainingSettings, checkpoints: Path, *, has_eval: bool, deepspeed_config: dict[str, Any] | None
) -> Any:
    on_gpu = torch.cuda.is_available()
    precision = effective_precision(params.precision)
    return TrainingArguments(
        output_dir=str(checkpoints),
        max_steps=params.max_steps,
        per_device_train_batch_size=params.per_device_batch_size,
        per_device_eval_batch_size=params.per_device_batch_size,
        gradient_accumulation_steps=params.gradient_accumulation_steps,
        learning_rate=params.learning_rate,
        lr_scheduler_type=params.lr_scheduler,
        warmup_steps=params.warmup_steps,
        weight_decay=params.weight_decay,
        logging_steps=params.logging_steps,
        save_strategy="steps",
        save_steps=params.save_steps,
        save_total_limit=params.save_total_limit,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=params.save_steps if has_eval else None,
        seed=params.seed,
        data_seed=params.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=not on_gpu,
        report_to=[],
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        include_num_input_tokens_seen="non_padding",
        deepspeed=deepspeed_config,
    )


def last_checkpoint(checkpoints: Path) -> Path | None:
    """The newest complete checkpoint; partial ones (a kill during saving) are removed.

    The Trainer writes ``trainer_state.json`` last, so a checkpoint without it
    was cut short. transformers' own `get_last_checkpoint` would pick it.
    """
    if not checkpoints.is_dir():
        return None
    found = sorted(
        (p for p in checkpoints.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
        reverse=True,
    )
    for path in found:
        if (path / "trainer_state.json").is_file():
            return path
        shutil.rmtree(path, ignore_errors=True)
    return None


def is_complete(output_dir: Path) -> bool:
    return (output_dir / COMPLETE).is_file()


def read_result(output_dir: Path) -> SftResult:
    return SftResult.from_json(json.loads((output_dir / "result.json").read_text()))


def train_lora(
    base_dir: Path,
    train_messages: Sequence[Messages],
    eval_messages: Sequence[Messages],
    params: TrainingSettings,
    output_dir: Path,
    *,
    deepspeed_config: dict[str, Any] | None = None,
    callbacks: Sequence[TrainerCallback] = (),
) -> SftResult:
    """Fine-tune `base_dir` with LoRA; resumes from ``output_dir/checkpoints`` when a run was interrupted."""
    if not train_messages:
        raise ValueError("the training set has no train examples")
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / COMPLETE).unlink(missing_ok=True)
    checkpoints = output_dir / "checkpoints"
    set_seed(params.seed)

    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    train = [tokenize_chat(tokenizer, m, params.max_seq_length) for m in train_messages]
    evaluation = [tokenize_chat(tokenizer, m, params.max_seq_length) for m in eval_messages]

    args = training_arguments(params, checkpoints, has_eval=bool(evaluation), deepspeed_config=deepspeed_config)
    dtype = torch_dtype(effective_precision(params.precision))
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=dtype)
    model = get_peft_model(model, lora_config(params))
    history = MetricsHistory(output_dir / "metrics.jsonl")
    throughput = Throughput()
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=ChatDataset(train),
        eval_dataset=ChatDataset(evaluation) if evaluation else None,
        data_collator=PadCollator(int(tokenizer.pad_token_id)),
        callbacks=[history, throughput, *callbacks],
    )
    resume = last_checkpoint(checkpoints)
    trainer.remove_callback(PrinterCallback)  # per-step logs go to metrics.jsonl, not stdout
    output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    eval_loss = trainer.evaluate()["eval_loss"] if evaluation else None

    adapter_dir = output_dir / "adapter"
    # Every rank: under ZeRO-3 gathering the adapter weights is collective; rank 0 writes them.
    trainer.save_model(str(adapter_dir))
    if not trainer.is_world_process_zero():
        return _result(output_dir, None, history, trainer, output, eval_loss, throughput, resume, train, evaluation)
    tokenizer.save_pretrained(adapter_dir)
    merged_dir = None
    if params.merge:
        if deepspeed_config is not None:
            release_deepspeed_state()  # else from_pretrained below would load ZeRO-3-partitioned (empty) weights
        merged_dir = merge_adapter(base_dir, adapter_dir, output_dir / "merged", dtype)
    (output_dir / "training_args.json").write_text(args.to_json_string())
    result = _result(output_dir, merged_dir, history, trainer, output, eval_loss, throughput, resume, train, evaluation)
    write_text_atomic(output_dir / "result.json", json.dumps(result.to_json(), indent=2) + "\n")
    write_text_atomic(output_dir / COMPLETE, "ok\n")  # last: the marker says everything above is whole
    return result


def merge_adapter(base_dir: Path, adapter_dir: Path, merged_dir: Path, dtype: torch.dtype = torch.float32) -> Path:
    """The adapter folded into a fresh copy of the base weights: a plain model any runtime can serve.

    Merging a reloaded base (not the trained model object) works the same after plain,
    DeepSpeed ZeRO-2/3 and multi-process training.
    """
    base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=dtype)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    shutil.rmtree(merged_dir, ignore_errors=True)
    merged.save_pretrained(merged_dir)
    AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(merged_dir)
    return merged_dir


def _result(
    output_dir: Path,
    merged_dir: Path | None,
    history: MetricsHistory,
    trainer: Any,
    output: Any,
    eval_loss: float | None,
    throughput: Throughput,
    resume: Path | None,
    train: list[TokenizedExample],
    evaluation: list[TokenizedExample],
) -> SftResult:
    return SftResult(
        output_dir=output_dir,
        adapter_dir=output_dir / "adapter",
        merged_dir=merged_dir,
        history=history.steps,
        steps=int(trainer.state.global_step),
        train_loss=float(output.training_loss) if output.training_loss is not None else None,
        eval_loss=float(eval_loss) if eval_loss is not None else None,
        tokens_seen=throughput.tokens,
        train_seconds=throughput.seconds,
        resumed_from_step=int(resume.name.rsplit("-", 1)[1]) if resume else None,
        train_examples=len(train),
        eval_examples=len(evaluation),
        truncated_examples=sum(e.truncated for e in [*train, *evaluation]),
    )
