"""Model training: the base model from the model hub, LoRA fine-tuning, and the topic classifier.

GPU-heavy assets are built by `training_assets(settings)` because their
`dagster-k8s/config` tag and concurrency pool come from the settings.
"""

import dagster as dg

from aiinfra_dagster.assets.common import HUGGINGFACE, OWNERS, PEFT, PYTORCH
from aiinfra_dagster.assets.keys import (
    BASE_MODEL_KEY,
    CHUNK_LABELS_KEY,
    DOCUMENT_CHUNKS_KEY,
    LORA_CHECKPOINT_KEY,
    TOPIC_CLASSIFIER_KEY,
    TRAINING_SET_KEY,
)
from aiinfra_dagster.k8s.placement import gpu_step
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.settings import Settings
from aiinfra_dagster.training.base_model import configured_base_model, manifest_dict
from aiinfra_dagster.training.render import lora_checkpoint_metadata, topic_classifier_metadata
from aiinfra_dagster.training.run import produce_lora_checkpoint, produce_topic_classifier

GROUP = "training"


@dg.asset(
    key=BASE_MODEL_KEY,
    group_name=GROUP,
    kinds={HUGGINGFACE, PYTORCH},
    owners=OWNERS,
    description=(
        "The base LLM from the model hub (models.llm): a GGUF file shipped in a package by default, a local "
        "directory, or a Hugging Face id when hub downloads are allowed. Converted once to safetensors in the local "
        "model store and reused while the source's sha256 is unchanged."
    ),
)
def base_model(context: dg.AssetExecutionContext, aiinfra: SettingsResource) -> dg.MaterializeResult:
    settings = aiinfra.value
    stored = configured_base_model(settings.models)
    manifest = stored.manifest
    context.log.info(f"base model {'converted' if stored.converted else 'reused'}: {stored.path}")
    return dg.MaterializeResult(
        data_version=dg.DataVersion(manifest.source_sha256[:16]),
        metadata={
            "model_path": dg.MetadataValue.path(str(stored.path)),
            "model_size_bytes": stored.size_bytes,
            "source": manifest.source,
            "location": manifest.location,
            "revision": manifest.revision or "",
            "source_sha256": manifest.source_sha256,
            "parameters": manifest.parameters,
            "dtype": manifest.dtype,
            "architecture": manifest.architecture,
            "licence": manifest.licence or "not recorded (set models.llm.licence)",
            "converted_now": stored.converted,
            "manifest": dg.MetadataValue.json(manifest_dict(stored)),
        },
    )


def training_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """The GPU-heavy training assets, placed by the settings (k8s tag, pool)."""
    placement = gpu_step(k8s=settings.k8s, dagster=settings.dagster)

    @dg.asset(
        key=LORA_CHECKPOINT_KEY,
        group_name=GROUP,
        deps=[TRAINING_SET_KEY, base_model],
        kinds={PYTORCH, PEFT},
        owners=OWNERS,
        description=(
            "LoRA supervised fine-tune of the base model on training_set's train split with the transformers Trainer "
            "(DeepSpeed ZeRO when enabled), evaluated on its validation split. One versioned directory per "
            "(base sha, training data, parameters) with the adapter, merged model, tokenizer, training arguments and "
            "per-step metrics; a killed run resumes from its last checkpoint; every run is kept in `experiments`."
        ),
        **placement,
    )
    def lora_checkpoint(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource, aiinfra: SettingsResource
    ) -> dg.MaterializeResult:
        outcome = produce_lora_checkpoint(
            aiinfra.value, lakehouse.store, dagster_run_id=context.run_id, log=context.log.info
        )
        return dg.MaterializeResult(
            data_version=dg.DataVersion(outcome.tuned.fingerprint), metadata=lora_checkpoint_metadata(outcome)
        )

    @dg.asset(
        key=TOPIC_CLASSIFIER_KEY,
        group_name=GROUP,
        deps=[CHUNK_LABELS_KEY, DOCUMENT_CHUNKS_KEY],
        kinds={PYTORCH, PEFT},
        owners=OWNERS,
        description=(
            "A topic classifier for chunks: LoRA sequence classification on the embedding model (all-MiniLM-L6-v2), "
            "trained on chunk_labels' labels of most documents and scored against the human reference labels of "
            "held-out documents (never trained on), next to the label model's own score on the same rows."
        ),
        **placement,
    )
    def topic_classifier(
        context: dg.AssetExecutionContext,
        lakehouse: LakehouseResource,
        aiinfra: SettingsResource,
        embedding_model: EmbeddingModelResource,
    ) -> dg.MaterializeResult:
        outcome = produce_topic_classifier(
            aiinfra.value,
            lakehouse.store,
            model_dir=embedding_model.model_dir(),
            dagster_run_id=context.run_id,
            log=context.log.info,
        )
        return dg.MaterializeResult(
            data_version=dg.DataVersion(outcome.trained.fingerprint), metadata=topic_classifier_metadata(outcome)
        )

    return [lora_checkpoint, topic_classifier]
