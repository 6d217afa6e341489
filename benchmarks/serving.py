"""Serving overhead: /search and /ask over HTTP (a real `bentoml serve`) vs the same calls in-process.

    python benchmarks/serving.py [--requests 200] [--concurrency 8] [--llm PATH]

Builds a Bento from a tiny Llama (or the LLM directory given), an untrained topic
classifier on all-MiniLM-L6-v2 and a small real index of the pydoc topics, in a
temporary home; serves it on a free loopback port; and prints p50/p99 latency and
requests/s of both paths, with the HTTP figures as ratios to the in-process ones
measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from aiinfra_dagster.models.locate import resolve_model_path
from aiinfra_dagster.net import free_port
from aiinfra_dagster.serving import process
from aiinfra_dagster.serving.bento import ModelSource, build_bento
from aiinfra_dagster.serving.runtime import Assistant
from aiinfra_dagster.settings import load_settings
from aiinfra_dagster.settings.secrets import secrets_of
from aiinfra_dagster.testing.retrieval_index import build_test_index
from aiinfra_dagster.testing.serving_models import TEST_LABELS, build_untrained_topic_classifier, topic_rows
from aiinfra_dagster.testing.tiny_models import build_tiny_causal_lm, sample_texts

QUERIES = [
    "assert statement",
    "binary arithmetic operations",
    "class definitions",
    "exceptions",
    "for loops",
    "import system",
    "lambda expressions",
    "string formatting",
    "with statement",
    "yield expressions",
]


def percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def measure(call: Callable[[int], object], n: int, concurrency: int) -> dict[str, float]:
    """Sequential latencies (p50/p99), then requests/s with `concurrency` callers."""
    call(0)  # warm up
    latencies = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - start)
    p50, p99 = percentiles(latencies)
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(call, range(n)))
    return {"p50_ms": p50 * 1000, "p99_ms": p99 * 1000, "rps": n / (time.perf_counter() - start)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--llm", type=Path, default=None, help="LLM directory (default: a tiny Llama built now)")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "aiinfra.yaml").write_text("{}\n")
        settings = load_settings(
            home / "aiinfra.yaml",
            profile="quick",
            storage={"home": str(home / "aiinfra")},
            serving={"port": free_port(), "max_new_tokens": args.max_new_tokens},
        )
        llm_dir = args.llm or build_tiny_causal_lm(home / "tiny_lm", sample_texts())
        encoder_dir = resolve_model_path(settings.models.embedding, "models.embedding")
        classifier_dir = build_untrained_topic_classifier(encoder_dir, home / "classifier", list(TEST_LABELS))
        build_test_index(settings.qdrant, topic_rows(encoder_dir, 80), model_id="minilm")

        in_process = Assistant(settings, Path(llm_dir), classifier_dir, encoder_dir, settings.qdrant.alias)
        k = settings.serving.top_k
        base = {
            "search": measure(
                lambda i: in_process.search(QUERIES[i % len(QUERIES)], k), args.requests, args.concurrency
            ),
            "ask": measure(lambda i: in_process.ask(QUERIES[i % len(QUERIES)], k), args.requests, args.concurrency),
        }
        in_process.close()

        models = (
            ModelSource("aiinfra-llm", "benchmark", str(llm_dir), "champion_model"),
            ModelSource("aiinfra-topic-classifier", "benchmark", str(classifier_dir), "topic_classifier"),
            ModelSource("aiinfra-embedding", "minilm", str(encoder_dir), "embedding"),
        )
        bento = build_bento(settings, *models, settings.qdrant.alias)
        deployment = process.deploy(
            bento.tag, storage=settings.storage, serving=settings.serving, secrets=secrets_of(settings)
        )
        url = deployment.state.url
        try:
            with httpx.Client(
                base_url=url, timeout=120, limits=httpx.Limits(max_connections=args.concurrency)
            ) as client:

                def post(path: str, field: str) -> Callable[[int], object]:
                    def call(i: int) -> object:
                        response = client.post(path, json={field: QUERIES[i % len(QUERIES)], "k": k})
                        response.raise_for_status()
                        return response

                    return call

                http = {
                    "search": measure(post("/search", "query"), args.requests, args.concurrency),
                    "ask": measure(post("/ask", "question"), args.requests, args.concurrency),
                }
        finally:
            process.stop(settings.storage)

    print(
        f"{args.requests} requests per figure, {args.concurrency} concurrent for requests/s; "
        f"LLM {'tiny Llama' if args.llm is None else args.llm}, max_new_tokens {args.max_new_tokens}; "
        f"server ready in {deployment.ready_s:.1f}s"
    )
    print(f"{'endpoint':<8} {'path':<11} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for endpoint in ("search", "ask"):
        for name, figures in (("in-process", base[endpoint]), ("HTTP", http[endpoint])):
            print(f"{endpoint:<8} {name:<11} {figures['p50_ms']:8.1f} {figures['p99_ms']:8.1f} {figures['rps']:8.1f}")
        b, h = base[endpoint], http[endpoint]
        print(
            f"{endpoint:<8} {'HTTP/base':<11} {h['p50_ms'] / b['p50_ms']:7.2f}x {h['p99_ms'] / b['p99_ms']:7.2f}x "
            f"{h['rps'] / b['rps']:7.2f}x"
        )


if __name__ == "__main__":
    main()
