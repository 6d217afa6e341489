"""The Bento service: `/ask`, `/search`, `/classify` over the models and index named in serving_config.json.

BentoML provides `/livez`, `/readyz` and Prometheus `/metrics`; input is
validated by the pydantic annotations below (bad types, empty or too-long text
-> 400 JSON); the `Gateway` middleware refuses bodies over
`serving.max_request_bytes` (413), enforces the API key and logs every API
request to the inference log through a batched background writer, with the
query, answer and error PII-redacted first (`monitoring.redact_queries`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import bentoml
from pydantic import AfterValidator, Field

from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.serving.config import read_config
from aiinfra_dagster.serving.gateway import REQUEST_ID_HEADER, REQUEST_LOG, Gateway, pii_redactor
from aiinfra_dagster.serving.log_writer import InferenceLogWriter, delta_sink
from aiinfra_dagster.serving.retention import protect_text_columns
from aiinfra_dagster.serving.tables import INFERENCE_LOG

logger = logging.getLogger(__name__)
CONFIG = read_config()
SETTINGS = CONFIG.settings
SERVING = SETTINGS.serving


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or whitespace")
    return value


Text = Annotated[str, Field(min_length=1, max_length=SERVING.max_query_chars), AfterValidator(_not_blank)]
TopK = Annotated[int, Field(ge=1, le=SERVING.max_top_k)]
Label = Annotated[str, Field(min_length=1, max_length=200)]


def _request_id(ctx: bentoml.Context) -> str | None:
    return ctx.request.headers.get(REQUEST_ID_HEADER)


@bentoml.service(
    name=SERVING.bento_name,
    workers=1,
    traffic={"timeout": SERVING.request_timeout_s, "max_concurrency": SERVING.max_concurrency},
)
class DocsAssistant:
    llm_model = bentoml.models.BentoModel(CONFIG.llm.tag)
    classifier_model = bentoml.models.BentoModel(CONFIG.classifier.tag)
    encoder_model = bentoml.models.BentoModel(CONFIG.encoder.tag)

    def __init__(self) -> None:
        # `bentoml build` imports this module only for the service definition: no torch/transformers then (~2.3 s).
        from aiinfra_dagster.serving.runtime import Assistant  # local import: torch + transformers, see above

        self.assistant = Assistant(
            SETTINGS,
            llm_dir=Path(self.llm_model.path),
            classifier_dir=Path(self.classifier_model.path),
            encoder_dir=Path(self.encoder_model.path),
            index_alias=CONFIG.index_alias,
        )
        store = DeltaStore.for_storage(SETTINGS.storage)
        try:  # before the first row: no statistics of user text in the transaction log (see serving.retention)
            protect_text_columns(store, INFERENCE_LOG)
        except Exception:  # an unreachable store must not stop the service: the writer spills meanwhile
            logger.exception("could not set the inference log's table properties; inference_logs sets them later")
        self.writer = InferenceLogWriter(
            delta_sink(store, INFERENCE_LOG),
            SETTINGS.storage.serving_dir / "inference_log_spill",
            batch_rows=SERVING.log_batch_rows,
            flush_seconds=SERVING.log_flush_seconds,
            max_queue_rows=SERVING.log_queue_rows,
            check=INFERENCE_LOG.conform,  # a row the table refuses is kept aside alone, not with its whole batch
        )
        REQUEST_LOG.configure(
            self.writer,
            {
                "model_version": CONFIG.llm.version,
                "classifier_version": CONFIG.classifier.version,
                "index_alias": CONFIG.index_alias,
                "bento_tag": CONFIG.bento_tag,
            },
            SERVING.max_query_chars,
            redact=pii_redactor(SETTINGS.pii.types, SETTINGS.pii.allowlist)
            if SETTINGS.monitoring.redact_queries
            else None,
        )
        self.ready = True

    def __is_ready__(self) -> bool:
        return getattr(self, "ready", False)

    @bentoml.on_shutdown
    def flush_log(self) -> None:
        self.writer.close()
        self.assistant.close()

    @bentoml.api
    def ask(self, question: Text, ctx: bentoml.Context, k: TopK | None = None) -> dict[str, Any]:
        """Answer a question from the top-k retrieved chunks; `citations` are the chunk ids used."""
        result = self.assistant.ask(question, k or SERVING.top_k)
        REQUEST_LOG.note(
            _request_id(ctx),
            answer=result.answer,
            retrieved_ids=[h.chunk_id for h in result.hits],
            scores=[h.score for h in result.hits],
            index_version=result.index_version,
        )
        return {
            "answer": result.answer,
            "citations": result.citations,
            "sources": [h.public(with_text=False) for h in result.hits],
            "model_version": CONFIG.llm.version,
            "index_version": result.index_version,
        }

    @bentoml.api
    def search(
        self, query: Text, ctx: bentoml.Context, k: TopK | None = None, label: Label | None = None
    ) -> dict[str, Any]:
        """The top-k chunks for a query, optionally only those with topic `label`."""
        result = self.assistant.search(query, k or SERVING.top_k, label=label)
        REQUEST_LOG.note(
            _request_id(ctx),
            label_filter=label,
            retrieved_ids=[h.chunk_id for h in result.hits],
            scores=[h.score for h in result.hits],
            index_version=result.index_version,
        )
        return {"hits": [h.public() for h in result.hits], "index_version": result.index_version}

    @bentoml.api
    def classify(self, text: Text, ctx: bentoml.Context, section: Label | None = None) -> dict[str, Any]:
        """The topic of a text (a chunk, or a question) from the topic classifier."""
        topic = self.assistant.classify(text, section)
        REQUEST_LOG.note(_request_id(ctx), predicted_label=topic.label)
        return {"label": topic.label, "probability": topic.probability, "classifier_version": CONFIG.classifier.version}


DocsAssistant.add_asgi_middleware(  # type: ignore[attr-defined]  # a bentoml Service
    Gateway, api_key=CONFIG.api_key(), max_request_bytes=SERVING.max_request_bytes
)
