"""Sections of training and evaluation: the training set, LoRA, DeepSpeed, the classifier, tracking, the gate."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from aiinfra_dagster.settings.base import Section


class TrainingSetSettings(Section):
    validation_fraction: float = Field(default=0.1, ge=0.0, lt=1.0)
    human_pairs_paths: list[str] = Field(default_factory=list, description="Human-written Q/A JSONL/CSV files")
    system_prompt: str = (
        "You are a documentation assistant. Answer the question using the context; "
        "say so when it does not contain the answer."
    )


class LoraSettings(Section):
    r: int = Field(default=8, ge=1)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


class DeepSpeedSettings(Section):
    """DeepSpeed ZeRO for `lora_checkpoint`. A user config (inline or file) is used as-is; otherwise one is built."""

    enabled: bool = False
    config: dict[str, Any] | None = Field(default=None, description="The user's DeepSpeed JSON, inline")
    config_path: str | None = Field(default=None, description="Path to the user's DeepSpeed JSON file")
    stage: int = Field(default=2, description="ZeRO stage when no user config is given (2 or 3)")
    offload_optimizer: bool = False
    offload_param: bool = False
    extensions_dir: str | None = Field(
        default=None, description="TORCH_EXTENSIONS_DIR for compiled ops; defaults to <home>/cache/torch_extensions"
    )
    launcher: Literal["auto", "in_process", "torchrun"] = Field(
        default="auto", description="auto: in-process on CPU or one GPU, torchrun inside the pod with several GPUs"
    )
    master_port: int | None = Field(default=None, ge=1, le=65535, description="Rendezvous port; a free one when unset")

    @model_validator(mode="after")
    def _one_config(self) -> DeepSpeedSettings:
        if self.config is not None and self.config_path is not None:
            raise ValueError("give either training.deepspeed.config or training.deepspeed.config_path, not both")
        return self


class TrainingSettings(Section):
    """LoRA supervised fine-tuning of the base LLM on `training_set`."""

    lora: LoraSettings = LoraSettings()
    learning_rate: float = Field(default=2e-4, gt=0.0)
    max_steps: int = Field(default=30, ge=1)
    per_device_batch_size: int = Field(default=2, ge=1)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    max_seq_length: int = Field(default=384, ge=16)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    warmup_steps: int = Field(default=0, ge=0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    lr_scheduler: Literal["linear", "cosine", "constant"] = "linear"
    save_steps: int = Field(
        default=10, ge=1, description="Checkpoint every N steps; a killed run resumes from the last"
    )
    save_total_limit: int = Field(default=2, ge=1)
    logging_steps: int = Field(default=1, ge=1)
    seed: int = 0
    merge: bool = Field(default=True, description="Also write the adapter merged into the base weights")
    deepspeed: DeepSpeedSettings = DeepSpeedSettings()


class ClassifierSettings(Section):
    """`topic_classifier`: LoRA sequence classification on the embedding model, trained on `chunk_labels`."""

    lora: LoraSettings = LoraSettings(r=8, alpha=16, dropout=0.1, target_modules=["query", "key", "value", "dense"])
    learning_rate: float = Field(default=5e-3, gt=0.0)
    epochs: float = Field(default=2.0, gt=0.0)
    batch_size: int = Field(default=16, ge=1)
    max_length: int = Field(default=128, ge=8)
    max_train_examples: int | None = Field(
        default=None, ge=1, description="Stable sample of labeled chunks to train on"
    )
    validation_fraction: float = Field(default=0.2, gt=0.0, lt=1.0, description="Held-out documents, by hash")
    min_label_confidence: float = Field(default=0.9, ge=0.0, le=1.0, description="Train only on labels this confident")
    seed: int = 0


class TrackingSettings(Section):
    """Experiment tracking: always the `experiments` Delta table; MLflow too when a URI is given."""

    mlflow_tracking_uri: str | None = None
    mlflow_experiment: str = "aiinfra-dagster"
    compare_last: int = Field(default=5, ge=1, description="Earlier runs shown in the comparison table")


EvaluationMode = Literal["closed_book", "grounded"]
EVALUATION_MODES: tuple[EvaluationMode, ...] = ("closed_book", "grounded")


class EvaluationSettings(Section):
    """`eval_report`: golden-set answer quality of base, candidate and champion, closed-book and grounded."""

    max_questions: int | None = Field(
        default=None, ge=1, description="Golden pairs to evaluate (a stable hash sample, recorded); None = all"
    )
    sample_seed: int = 0
    modes: list[EvaluationMode] = Field(
        default_factory=lambda: list(EVALUATION_MODES),
        description="grounded adds chunks retrieved from the vector index (skipped while no index exists)",
    )
    top_k: int = Field(default=3, ge=1, description="Retrieved chunks given as context in grounded mode")
    max_prompt_tokens: int = Field(default=768, ge=32, description="Prompt budget; long contexts lose their end")
    max_new_tokens: int = Field(default=64, ge=1)
    batch_size: int = Field(default=8, ge=1)
    headline_metric: Literal["token_f1", "rouge_l", "embedding_similarity", "reference_perplexity"] = Field(
        default="reference_perplexity",
        description="What the gate decides on. Perplexity of the human reference answer: measured on the demo, a "
        "16-step LoRA moved it significantly while token F1 / ROUGE-L changes stayed inside their CIs",
    )
    headline_mode: Literal["closed_book", "grounded"] = Field(
        default="grounded", description="Mode of the headline metric (closed_book when no index exists)"
    )
    bootstrap_resamples: int = Field(default=1000, ge=100)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    worst_questions: int = Field(default=5, ge=0, description="Worst candidate answers shown in the report")
    reports_dir: str | None = Field(default=None, description="HTML reports; defaults to <home>/reports")

    @model_validator(mode="after")
    def _has_mode(self) -> EvaluationSettings:
        if not self.modes:
            raise ValueError("evaluation.modes needs at least one mode")
        return self


class PromotionSettings(Section):
    """The gate `champion_model` passes through: beat the incumbent, regress no slice."""

    min_improvement: float = Field(
        default=0.0, description="Margin the candidate must beat the incumbent by on the headline metric"
    )
    criterion: Literal["ci_lower_bound", "mean"] = Field(
        default="ci_lower_bound",
        description="ci_lower_bound: the lower end of the paired bootstrap CI of the delta must clear the margin; "
        "mean: the mean delta must, and the CI must not lie wholly below it",
    )
    slice_tolerance: float = Field(
        default=0.1, ge=0.0, description="Largest allowed mean drop of the headline metric in a slice"
    )
    min_slice_questions: int = Field(default=3, ge=1, description="Slices with fewer questions are reported, not gated")
