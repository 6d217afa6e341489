"""Deployment: the Bento (models + service), serving it, and the inference log it writes.

`bento_build` packages whichever LLM `serving.sources.llm_to_serve` picks (the
champion), the topic classifier, the encoder and the index alias; the
deployment serves it locally with `bentoml serve` (or renders Kubernetes
manifests in k8s mode); `inference_logs` compacts what the service logged.
"""

import dagster as dg
import yaml

from aiinfra_dagster.assets.common import BENTOML, DELTA, OWNERS, markdown_table
from aiinfra_dagster.assets.keys import (
    BENTO_BUILD_KEY,
    BENTO_DEPLOYMENT_KEY,
    CHAMPION_MODEL_KEY,
    INFERENCE_LOGS_KEY,
    TOPIC_CLASSIFIER_KEY,
    VECTOR_INDEX_KEY,
)
from aiinfra_dagster.atomic import write_text_atomic
from aiinfra_dagster.materializations import require_latest_metadata
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.serving.bento import ModelSource, build_bento
from aiinfra_dagster.serving.inference_logs import (
    compact_inference_log,
    partition_values,
)
from aiinfra_dagster.serving.k8s import (
    api_key_secret,
    create_secret_command,
    serving_manifests,
    validate_serving_manifests,
)
from aiinfra_dagster.serving.process import deploy, serving_dir
from aiinfra_dagster.serving.sources import (
    classifier_to_serve,
    index_alias_to_serve,
    llm_to_serve,
)
from aiinfra_dagster.serving.tables import INFERENCE_LOG, INFERENCE_LOGS
from aiinfra_dagster.settings import Settings
from aiinfra_dagster.settings.locations import is_local_uri
from aiinfra_dagster.settings.secrets import secrets_of

GROUP = "deployment"


@dg.asset(
    key=BENTO_BUILD_KEY,
    group_name=GROUP,
    deps=[CHAMPION_MODEL_KEY, TOPIC_CLASSIFIER_KEY, VECTOR_INDEX_KEY],
    kinds={BENTOML},
    owners=OWNERS,
    description=(
        "A Bento of the documentation assistant: /ask (top-k chunks from the index alias, answered by the champion "
        "LLM with cited chunk ids), /search (optional label filter), /classify (topic classifier), /readyz, /livez, "
        "/metrics. Models enter the BentoML model store under <storage.home>/bentoml; built offline; an unchanged "
        "Bento (same models, alias, settings and code) is reused."
    ),
)
def bento_build(
    context: dg.AssetExecutionContext, aiinfra: SettingsResource, embedding_model: EmbeddingModelResource
) -> dg.MaterializeResult:
    settings = aiinfra.value
    llm = llm_to_serve(context.instance)
    classifier = classifier_to_serve(context.instance)
    encoder = ModelSource(
        "aiinfra-embedding", embedding_model.encoder_id(), str(embedding_model.model_dir()), "embedding"
    )
    alias, index_version = index_alias_to_serve(context.instance, settings.qdrant.alias)
    built = build_bento(settings, llm, classifier, encoder, alias)
    context.log.info(f"Bento {built.tag} {'reused' if built.reused else 'built'} ({built.size_bytes} bytes + models)")
    models = [(llm, "LLM"), (classifier, "topic classifier"), (encoder, "encoder")]
    return dg.MaterializeResult(
        data_version=dg.DataVersion(built.tag.split(":")[1]),
        metadata={
            "bento_tag": built.tag,
            "bento_path": dg.MetadataValue.path(str(built.path)),
            "bento_size_bytes": built.size_bytes,
            "models_size_bytes": built.models_bytes,
            "reused_existing_bento": built.reused,
            "model_version": llm.version,
            "llm_tag": llm.tag,
            "llm_from_asset": llm.asset,
            "classifier_version": classifier.version,
            "encoder_version": encoder.version,
            "index_alias": alias,
            "index_version_at_build": index_version or "unknown (vector_index not materialized)",
            "models": dg.MetadataValue.md(
                markdown_table(
                    ["role", "model store tag", "from asset", "source directory"],
                    [[role, m.tag, m.asset, m.path] for m, role in models],
                )
            ),
        },
    )


@dg.asset(
    key=BENTO_DEPLOYMENT_KEY,
    group_name=GROUP,
    deps=[bento_build],
    kinds={BENTOML},
    owners=OWNERS,
    description=(
        "The served Bento. Embedded: `bentoml serve` on serving.host:serving.port as a background process (pid file "
        "and state under <storage.home>/serving); a new Bento replaces the old one (stop, then start on the same "
        "port; the old one is restarted if the new one never becomes ready). k8s mode: Deployment, Service and "
        "NetworkPolicy manifests, validated against the Kubernetes schemas; refused without an API key (the pods "
        "read it from a Secret), and only serving.k8s_allowed_from may connect."
    ),
)
def bento_deployment(context: dg.AssetExecutionContext, aiinfra: SettingsResource) -> dg.MaterializeResult:
    settings = aiinfra.value
    built = require_latest_metadata(context.instance, BENTO_BUILD_KEY, needed_by="bento_deployment")
    tag = str(built["bento_tag"])
    if settings.k8s.enabled:
        return _render_k8s_manifests(context, settings, tag)
    return _serve_locally(context, settings, tag)


def _render_k8s_manifests(context: dg.AssetExecutionContext, settings: Settings, tag: str) -> dg.MaterializeResult:
    """k8s mode: validated Deployment, Service and NetworkPolicy manifests written next to the serving state."""
    # Refused (ServingRefused, naming serving.api_key / serving.api_key_secret) when the pods would have no key.
    manifests = serving_manifests(tag, serving=settings.serving, k8s=settings.k8s)
    validate_serving_manifests(manifests)
    secret = api_key_secret(tag.split(":", 1)[0], serving=settings.serving, k8s=settings.k8s)
    create_secret = create_secret_command(secret, settings.k8s.namespace)
    path = serving_dir(settings.storage) / "k8s" / f"{tag.replace(':', '-')}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump_all(manifests, sort_keys=False)
    write_text_atomic(path, text)  # the deployment_answers check reads it back
    context.log.info(
        f"k8s manifests for {tag} written to {path}; build the image with `bentoml containerize {tag}`; the pods "
        f"read their API key from the Secret {secret!r}"
        + ("" if settings.serving.api_key_secret else f" (create it: {create_secret})")
    )
    local = [
        name
        for name, is_local in (
            ("storage.root (the inference log)", is_local_uri(settings.storage.lake_root)),
            ("qdrant.url (the index)", settings.qdrant.url is None),
        )
        if is_local
    ]
    if local:
        context.log.warning(f"pods cannot reach this machine's files: set {' and '.join(local)} for k8s serving")
    return dg.MaterializeResult(
        metadata={
            "mode": "k8s",
            "bento_tag": tag,
            "manifests_path": dg.MetadataValue.path(str(path)),
            "image": f"{tag}",
            "namespace": settings.k8s.namespace,
            "replicas": settings.serving.replicas,
            "api_key_secret": secret,
            "create_api_key_secret": dg.MetadataValue.md(
                "managed in the cluster (serving.api_key_secret)"
                if settings.serving.api_key_secret
                else f"```bash\n{create_secret}\n```"
            ),
            "network_policy_allows": dg.MetadataValue.json([p.model_dump() for p in settings.serving.k8s_allowed_from]),
            "settings_local_to_this_machine": dg.MetadataValue.json(local),
            "manifests": dg.MetadataValue.md(f"```yaml\n{text}```"),
        }
    )


def _serve_locally(context: dg.AssetExecutionContext, settings: Settings, tag: str) -> dg.MaterializeResult:
    """Embedded mode: `bentoml serve` in the background, replacing the running Bento."""
    # Returns once /readyz answers; the blocking check asks a sample question.
    deployment = deploy(tag, storage=settings.storage, serving=settings.serving, secrets=secrets_of(settings))
    state = deployment.state
    print(f"Serving {tag} at {state.url} (POST {state.url}/ask)")
    context.log.info(
        f"{deployment.action} {tag} at {state.url} (pid {state.pid}, downtime {deployment.downtime_s:.1f}s)"
    )
    return dg.MaterializeResult(
        data_version=dg.DataVersion(tag.split(":")[1]),
        metadata={
            "mode": "local",
            "url": dg.MetadataValue.url(state.url),
            "bento_tag": tag,
            "action": deployment.action,
            "previous_bento_tag": deployment.previous_tag or "",
            "pid": state.pid,
            "port": state.port,
            "downtime_seconds": round(deployment.downtime_s, 2),
            "seconds_to_ready": round(deployment.ready_s, 2),
            "server_log": dg.MetadataValue.path(state.log_path),
            "api_key_required": bool(settings.serving.api_key),
            "try_it": dg.MetadataValue.md(
                f"```bash\ncurl -s {state.url}/ask -H 'content-type: application/json'"
                + (" -H 'X-API-Key: $AIINFRA_SERVING__API_KEY'" if settings.serving.api_key else "")
                + f' -d \'{{"question": "{settings.serving.sample_question}"}}\'\n```'
            ),
        },
    )


@dg.asset(
    key=INFERENCE_LOGS_KEY,
    group_name=GROUP,
    deps=[bento_deployment],
    kinds={DELTA},
    owners=OWNERS,
    description=(
        "Every request the service answered or rejected (query, answer, retrieved ids and scores, latency, status, "
        "model and index versions), copied from the service's raw `inference_log` once per request id into a Delta "
        "table partitioned by UTC `date`, then drained from the raw log (each run reads only what arrived since the "
        "last; time travel keeps the rest until vacuumed), with small files compacted; what monitoring reads. Rows "
        "older than monitoring.retention_days are deleted from both tables and files unreferenced for "
        "monitoring.vacuum_retention_hours vacuumed; queries were PII-redacted by the service "
        "(monitoring.redact_queries)."
    ),
)
def inference_logs(
    context: dg.AssetExecutionContext, aiinfra: SettingsResource, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    store = lakehouse.store
    monitoring = aiinfra.value.monitoring
    compaction = compact_inference_log(store, monitoring.retention_days, monitoring.vacuum_retention_hours)
    partitions = partition_values(store)
    context.log.info(f"inference_logs: {compaction.result.inserted} new requests over {len(partitions)} days")
    return dg.MaterializeResult(
        metadata=lakehouse.table_metadata(
            INFERENCE_LOGS,
            compaction.result,
            input_inference_log_version=compaction.raw_version if compaction.raw_version is not None else -1,
            raw_rows=compaction.raw_rows,
            duplicate_rows_dropped=compaction.duplicates_dropped,
            partitions=dg.MetadataValue.json(partitions),
            files_compacted=dg.MetadataValue.json(compaction.files_compacted),
            retention=dg.MetadataValue.json(compaction.retention_summary(monitoring.retention_days)),
            per_day=dg.MetadataValue.md(
                markdown_table(
                    ["date", "requests", "errors (4xx/5xx)", "median latency ms"],
                    [
                        [str(r["date"]), r["requests"], r["errors"], f"{r['median_latency_ms'] or 0:.1f}"]
                        for r in compaction.per_day.iter_rows(named=True)
                    ],
                )
            ),
            per_endpoint=dg.MetadataValue.md(
                markdown_table(
                    ["endpoint", "status", "requests"],
                    [
                        [r["endpoint"], r["status_code"], r["requests"]]
                        for r in compaction.per_endpoint.iter_rows(named=True)
                    ],
                )
            ),
            raw_log_table=dg.MetadataValue.path(store.uri(INFERENCE_LOG.name)),
        )
    )
