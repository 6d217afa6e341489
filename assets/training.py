"""Model training: the base model from the model hub, LoRA fine-tuning, and the topic classifier.

GPU-heavy assets are built by `training_assets(settings)` because their
`dagster-k8s/config` tag and concurrency pool come from the settings.
"""

import time
from datetime import UTC, datetime

import dagster as dg

from aiinfra_dagster.assets.common import HUGGINGFACE, OWNERS, PEFT, PYTORCH, markdown_table
from aiinfra_dagster.assets.keys import (
    BASE_MODEL_KEY,
    CHUNK_LABELS_KEY,
    DOCUMENT_CHUNKS_KEY,
    LORA_CHECKPOINT_KEY,
    TOPIC_CLASSIFIER_KEY,
    TRAINING_SET_KEY,
)
from aiinfra_dagster.data.tables import DOCUMENT_CHUNKS
from aiinfra_dagster.k8s.placement import gpu_step
from aiinfra_dagster.labels.tables import CHUNK_LABELS
from aiinfra_dagster.models.files import directory_bytes
from aiinfra_dagster.resources.lakehouse import LakehouseResource
from aiinfra_dagster.resources.models import EmbeddingModelResource
from aiinfra_dagster.resources.settings import SettingsResource
from aiinfra_dagster.settings import Settings
from aiinfra_dagster.synthetic.tables import TRAINING_SET
from aiinfra_dagster.training.base_model import configured_base_model, manifest_dict
from aiinfra_dagster.training.checkpoints import fine_tune, fit_topic_classifier
from aiinfra_dagster.training.classifier_data import classifier_examples
from aiinfra_dagster.training.tracking import ExperimentRun, compared_runs, environment_info, record_experiment
from aiinfra_dagster.training.tracking_mlflow import log_to_mlflow
from aiinfra_dagster.training.tracking_render import experiment_metadata

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
        settings = aiinfra.value
        store = lakehouse.store
        started_at, started = datetime.now(UTC), time.perf_counter()
        training_set_version = store.version(TRAINING_SET.name)
        examples = store.read(TRAINING_SET)
        base = configured_base_model(settings.models)
        tuned = fine_tune(
            base, examples, training=settings.training, k8s=settings.k8s, model_store=settings.model_store
        )
        result = tuned.result
        context.log.info(
            f"lora_checkpoint {tuned.fingerprint}: {'reused' if tuned.reused else 'trained'} {result.steps} steps"
            + (f", resumed from step {result.resumed_from_step}" if result.resumed_from_step else "")
        )
        run = ExperimentRun(
            run_id=f"lora_checkpoint-{tuned.fingerprint}",
            asset="lora_checkpoint",
            dagster_run_id=context.run_id,
            started_at=started_at,
            wall_seconds=time.perf_counter() - started if not tuned.reused else result.train_seconds,
            params={
                **settings.training.model_dump(mode="json", exclude={"deepspeed"}),
                "deepspeed": tuned.deepspeed_config is not None,
            },
            metrics={
                k: float(v)
                for k, v in {"train_loss": result.train_loss, "eval_loss": result.eval_loss}.items()
                if v is not None
            },
            history=result.history,
            tokens_per_second=result.tokens_per_second,
            environment=environment_info(),
            inputs={"training_set": training_set_version, "base_model_sha256": base.manifest.source_sha256},
            model_path=str(tuned.output_dir),
            model_bytes=directory_bytes(tuned.output_dir),
            status="resumed" if result.resumed_from_step else "completed",
        )
        written = record_experiment(store, run)
        mlflow_run = log_to_mlflow(settings.tracking, run)
        compared = compared_runs(store, run.asset, run.run_id, settings.tracking.compare_last)
        return dg.MaterializeResult(
            data_version=dg.DataVersion(tuned.fingerprint),
            metadata={
                "model_version": tuned.fingerprint,
                "model_path": dg.MetadataValue.path(str(tuned.output_dir)),
                "adapter_path": dg.MetadataValue.path(str(result.adapter_dir)),
                "merged_model_path": dg.MetadataValue.path(str(result.merged_dir or "")),
                "reused_finished_checkpoint": tuned.reused,
                "resumed_from_step": result.resumed_from_step or 0,
                "steps": result.steps,
                "train_examples": result.train_examples,
                "validation_examples": result.eval_examples,
                "truncated_examples": result.truncated_examples,
                "input_training_set_version": training_set_version,
                "input_base_model_sha256": base.manifest.source_sha256,
                "deepspeed": dg.MetadataValue.json(tuned.deepspeed_config or {}),
                **experiment_metadata(run, written, compared, mlflow_run),
            },
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
        settings = aiinfra.value
        store = lakehouse.store
        started_at = datetime.now(UTC)
        inputs = {t.name: store.version(t.name) for t in (CHUNK_LABELS, DOCUMENT_CHUNKS)}
        model_dir = embedding_model.model_dir()
        data = classifier_examples(store.read(CHUNK_LABELS), store.read(DOCUMENT_CHUNKS), settings.classifier)
        trained = fit_topic_classifier(
            model_dir, data, classifier=settings.classifier, model_store=settings.model_store
        )
        result = trained.result
        context.log.info(f"topic_classifier {trained.fingerprint}: {'reused' if trained.reused else 'trained'}")
        run = ExperimentRun(
            run_id=f"topic_classifier-{trained.fingerprint}",
            asset="topic_classifier",
            dagster_run_id=context.run_id,
            started_at=started_at,
            wall_seconds=result.wall_seconds,
            params=settings.classifier.model_dump(mode="json"),
            metrics={
                "accuracy": result.accuracy,
                "macro_f1": result.macro_f1,
                "label_model_accuracy": result.label_model_accuracy,
                "label_model_macro_f1": result.label_model_macro_f1,
                "agreement_with_labels": result.agreement_with_labels,
            },
            history=result.history,
            tokens_per_second=result.train_tokens_per_second,
            environment=environment_info(),
            inputs={**inputs, "embedding_model_sha": embedding_model.encoder_id()},
            model_path=str(result.output_dir),
            model_bytes=result.size_bytes,
        )
        written = record_experiment(store, run)
        mlflow_run = log_to_mlflow(settings.tracking, run)
        compared = compared_runs(store, run.asset, run.run_id, settings.tracking.compare_last)
        return dg.MaterializeResult(
            data_version=dg.DataVersion(trained.fingerprint),
            metadata={
                "model_version": trained.fingerprint,
                "model_path": dg.MetadataValue.path(str(result.output_dir)),
                "reused_finished_model": trained.reused,
                "accuracy": result.accuracy,
                "macro_f1": result.macro_f1,
                "label_model_accuracy": result.label_model_accuracy,
                "label_model_macro_f1": result.label_model_macro_f1,
                "classes": len(result.classes),
                "train_examples": result.train_examples,
                "evaluation_examples": result.eval_examples,
                "train_documents": data.train_documents,
                "held_out_documents": data.eval_documents,
                "scored_held_out_documents": result.scored_documents,
                "reference_classes_never_trained": dg.MetadataValue.json(result.unseen_reference_labels),
                "per_class": dg.MetadataValue.md(
                    markdown_table(
                        ["class", "support", "precision", "recall", "F1", "seen in training"],
                        [
                            [
                                r["class"],
                                r["support"],
                                f"{r['precision']:.3f}",
                                f"{r['recall']:.3f}",
                                f"{r['f1']:.3f}",
                                r["seen_in_training"],
                            ]
                            for r in result.per_class
                        ],
                    )
                ),
                **{f"input_{name}_version": v for name, v in inputs.items()},
                **experiment_metadata(run, written, compared, mlflow_run),
            },
        )

    return [lora_checkpoint, topic_classifier]
