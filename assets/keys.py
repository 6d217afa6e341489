"""Every asset key of the code location, in one module so any asset, check, job or sensor can name any other
asset without importing its module (features and labels read each other; importing across would cycle)."""

from __future__ import annotations

import dagster as dg

# data
RAW_DOCUMENTS_KEY = dg.AssetKey("raw_documents")
VALIDATED_DOCUMENTS_KEY = dg.AssetKey("validated_documents")
QUARANTINE_KEY = dg.AssetKey("quarantine")
DOCUMENT_CHUNKS_KEY = dg.AssetKey("document_chunks")
CHUNK_DUPLICATES_KEY = dg.AssetKey("chunk_duplicates")
GOLDEN_QA_KEY = dg.AssetKey("golden_qa")
# features
CHUNK_EMBEDDINGS_KEY = dg.AssetKey("chunk_embeddings")
CHUNK_FEATURES_KEY = dg.AssetKey("chunk_features")
# labels
REFERENCE_LABELS_KEY = dg.AssetKey("reference_labels")
HUMAN_LABELS_KEY = dg.AssetKey("human_labels")
HUMAN_LABEL_QUARANTINE_KEY = dg.AssetKey("human_label_quarantine")
CHUNK_LABELS_KEY = dg.AssetKey("chunk_labels")
# synthetic
SYNTHETIC_QA_KEY = dg.AssetKey("synthetic_qa")
TRAINING_SET_KEY = dg.AssetKey("training_set")
# training
BASE_MODEL_KEY = dg.AssetKey("base_model")
LORA_CHECKPOINT_KEY = dg.AssetKey("lora_checkpoint")
TOPIC_CLASSIFIER_KEY = dg.AssetKey("topic_classifier")
# retrieval
VECTOR_INDEX_KEY = dg.AssetKey("vector_index")
# evaluation
EVAL_REPORT_KEY = dg.AssetKey("eval_report")
CHAMPION_MODEL_KEY = dg.AssetKey("champion_model")
# deployment
BENTO_BUILD_KEY = dg.AssetKey("bento_build")
BENTO_DEPLOYMENT_KEY = dg.AssetKey("bento_deployment")
INFERENCE_LOGS_KEY = dg.AssetKey("inference_logs")
# monitoring
DRIFT_REPORT_KEY = dg.AssetKey("drift_report")
# lineage
LINEAGE_AUDIT_KEY = dg.AssetKey("lineage_audit")
