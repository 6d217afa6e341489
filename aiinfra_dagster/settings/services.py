"""Sections of the platform parts: the vector index, Kubernetes, Dagster, serving."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from aiinfra_dagster.settings.base import Section


class QdrantSettings(Section):
    """The vector index: one collection per (embedding model, chunk set), served through an alias (blue/green)."""

    url: str | None = Field(default=None, description="Qdrant server URL; embedded when unset")
    api_key: SecretStr | None = Field(default=None, description="Qdrant server key (secret: AIINFRA_QDRANT__API_KEY)")
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


class K8sSettings(Section):
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


class DagsterSettings(Section):
    webserver_host: str = "127.0.0.1"
    webserver_port: int = Field(default=3000, ge=1, le=65535)
    executor: Literal["in_process", "multiprocess"] = Field(
        default="in_process", description="Local executor (k8s.enabled swaps in the k8s job executor)"
    )
    gpu_pool: str = Field(default="gpu", description="Concurrency pool of the GPU-heavy (torch training) steps")
    gpu_pool_limit: int = Field(default=1, ge=1, description="Steps of the gpu pool at once (written to dagster.yaml)")


class ServingPeer(Section):
    """Pods allowed to reach the k8s serving pods (one `from` peer of their NetworkPolicy)."""

    pod_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels the client pods carry; empty = every pod of those namespaces"
    )
    namespace_labels: dict[str, str] | None = Field(
        default=None,
        description="Labels of the namespaces allowed (e.g. {kubernetes.io/metadata.name: ingress-nginx}); "
        "unset = k8s.namespace only; {} = every namespace",
    )


class ServingSettings(Section):
    """The Bento service and its deployment (`bentoml serve` on loopback, or k8s manifests)."""

    bento_name: str = Field(default="aiinfra-docs-assistant", pattern=r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")
    host: str = "127.0.0.1"
    port: int = Field(default=3100, ge=0, le=65535, description="0 = a free port picked at deployment")
    api_key: SecretStr | None = Field(
        default=None, description="Required in the X-API-Key header when set (secret: AIINFRA_SERVING__API_KEY)"
    )
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
    max_request_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        description="Largest request body the service reads; a larger one gets 413 before any parsing "
        "(keep it well above max_query_chars: JSON escapes take up to 12 bytes a character)",
    )
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
    api_key_secret: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        description="k8s mode: an existing Secret holding the API key under `api-key`; unset = "
        "`<bento name>-api-key`, which you create from serving.api_key. k8s serving without either is refused",
    )
    k8s_allowed_from: list[ServingPeer] = Field(
        default_factory=lambda: [ServingPeer()],
        description="k8s mode: who may connect to the serving pods (their NetworkPolicy); default = the pods of "
        "k8s.namespace, [] = nobody (the node's kubelet probes are always allowed)",
    )

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
