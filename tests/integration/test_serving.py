"""A real `bentoml serve` of a Bento built from tiny models, called over loopback HTTP and the bentoml client."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import bentoml
import httpx
import polars as pl
import pytest

from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.models.locate import resolve_model_path
from aiinfra_dagster.net import free_port
from aiinfra_dagster.serving import process
from aiinfra_dagster.serving.bento import BuiltBento, ModelSource, build_bento
from aiinfra_dagster.serving.tables import INFERENCE_LOG
from aiinfra_dagster.settings import Settings, load_settings
from aiinfra_dagster.settings.secrets import secrets_of
from aiinfra_dagster.testing.retrieval_index import build_test_index
from aiinfra_dagster.testing.serving_models import TEST_LABELS, build_untrained_topic_classifier, topic_rows

pytestmark = pytest.mark.slow
KEY = "test-key-7c1f"
HEADERS = {"X-API-Key": KEY}


@dataclass
class Served:
    settings: Settings
    url: str
    bento: BuiltBento
    models: tuple[ModelSource, ModelSource, ModelSource]
    encoder_dir: Path
    first_index: str


def served_models(
    settings: Settings, home: Path, tiny_lm: Path
) -> tuple[tuple[ModelSource, ModelSource, ModelSource], Path]:
    encoder_dir = resolve_model_path(settings.models.embedding, "models.embedding")
    classifier_dir = build_untrained_topic_classifier(encoder_dir, home / "classifier", list(TEST_LABELS))
    return (
        ModelSource("aiinfra-llm", "tiny-1", str(tiny_lm), "champion_model"),
        ModelSource("aiinfra-topic-classifier", "untrained-1", str(classifier_dir), "topic_classifier"),
        ModelSource("aiinfra-embedding", "minilm", str(encoder_dir), "embedding"),
    ), encoder_dir


def wait_until(predicate, timeout_s: float, interval_s: float = 0.2):
    """Poll until `predicate()` returns something other than None/False, or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if (value is not None and value is not False) or time.monotonic() > deadline:
            return value
        time.sleep(interval_s)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_causal_lm: Path):
    home = tmp_path_factory.mktemp("serving")
    (home / "aiinfra.yaml").write_text("{}\n")
    settings = load_settings(
        home / "aiinfra.yaml",
        profile="quick",
        storage={"home": str(home / "aiinfra")},
        serving={"port": free_port(), "api_key": KEY, "log_flush_seconds": 0.2, "log_batch_rows": 32},
    )
    models, encoder_dir = served_models(settings, home, tiny_causal_lm)
    first_index = build_test_index(settings.qdrant, topic_rows(encoder_dir, 30), model_id="minilm")
    bento = build_bento(settings, *models, settings.qdrant.alias)
    deployment = process.deploy(
        bento.tag, storage=settings.storage, serving=settings.serving, secrets=secrets_of(settings)
    )
    try:
        yield Served(settings, deployment.state.url, bento, models, encoder_dir, first_index)
    finally:
        process.stop(settings.storage)


def logged(settings: Settings) -> pl.DataFrame:
    return DeltaStore(settings.storage.lake_root).read(INFERENCE_LOG)


def test_bentoml_client_asks_searches_and_classifies(served: Served):
    with bentoml.SyncHTTPClient(served.url, token=KEY) as client:
        answer = client.ask(question="What does the assert statement do?")
        hits = client.search(query="assert statement", k=3)["hits"]
        filtered = client.search(query="assert statement", k=5, label="types")["hits"]
        topic = client.classify(text="Assignment statements bind names to values.")
    assert isinstance(answer["answer"], str) and answer["citations"]
    assert set(answer["citations"]) <= {s["chunk_id"] for s in answer["sources"]}
    assert answer["model_version"] == "tiny-1" and answer["index_version"]
    assert len(hits) == 3 and hits[0]["chunk_id"] == "assert" and hits[0]["score"] >= hits[1]["score"]
    assert filtered and {h["label"] for h in filtered} == {"types"}
    assert topic["label"] in TEST_LABELS and 0.0 < topic["probability"] <= 1.0


BAD_INPUTS = [
    ("/ask", {"question": ""}),
    ("/ask", {"question": "   \n"}),
    ("/ask", {"question": 42}),
    ("/ask", {"question": "x" * 2001}),
    ("/ask", {}),
    ("/ask", {"question": "ok", "k": 0}),
    ("/search", {"query": "ok", "k": 1000}),
    ("/search", {"query": "ok", "label": ""}),
    ("/search", {"query": ["a", "list"]}),
    ("/classify", {"text": None}),
]


def test_bad_inputs_get_a_4xx_json_error(served: Served):
    with httpx.Client(base_url=served.url, headers=HEADERS, timeout=30) as client:
        for path, body in BAD_INPUTS:
            response = client.post(path, json=body)
            assert response.status_code == 400, (path, body, response.text)
            assert response.json()["error"], (path, body)
        not_json = client.post("/ask", content=b"{not json", headers={"content-type": "application/json"})
        assert not_json.status_code == 400 and "Invalid JSON" in not_json.text
        assert client.post("/ask", json={"question": "Is the server still fine?"}).status_code == 200


def test_api_key_is_enforced_but_probes_and_metrics_stay_open(served: Served):
    with httpx.Client(base_url=served.url, timeout=30) as client:
        missing = client.post("/search", json={"query": "lists"})
        wrong = client.post("/search", json={"query": "lists"}, headers={"X-API-Key": "wrong"})
        bearer_wrong = client.post("/search", json={"query": "lists"}, headers={"Authorization": "Bearer nope"})
        right = client.post("/search", json={"query": "lists"}, headers=HEADERS)
        assert (missing.status_code, wrong.status_code, bearer_wrong.status_code, right.status_code) == (
            401,
            401,
            401,
            200,
        )
        assert missing.json()["error"] == "unauthorized"
        assert client.get("/readyz").status_code == 200 and client.get("/livez").status_code == 200
        metrics = client.get("/metrics")
        assert metrics.status_code == 200 and "bentoml_service_request_total" in metrics.text


def test_every_request_reaches_the_inference_log(served: Served):
    sent: dict[str, tuple[str, int]] = {}
    with httpx.Client(base_url=served.url, timeout=60) as client:
        calls = [
            ("/ask", {"question": "How are exceptions raised?"}, HEADERS),
            ("/search", {"query": "for loops, asks jane.doe@example.com", "label": "statements"}, HEADERS),
            ("/classify", {"text": "Integers and floats", "section": "Numeric types"}, HEADERS),
            ("/ask", {"question": ""}, HEADERS),
            ("/search", {"query": "no key"}, {}),
        ]
        for path, body, headers in calls:
            response = client.post(path, json=body, headers=headers)
            sent[response.headers["x-request-id"]] = (path.strip("/"), response.status_code)

    def logged_rows() -> pl.DataFrame | None:
        rows = logged(served.settings).filter(pl.col("request_id").is_in(list(sent)))
        return rows if rows.height == len(sent) else None

    table = wait_until(logged_rows, 30)
    assert table is not None, "not every request reached the inference log in 30 s"
    rows = {r["request_id"]: r for r in table.iter_rows(named=True)}
    assert {rid: (r["endpoint"], r["status_code"]) for rid, r in rows.items()} == sent
    ask, search, classify, bad, unauthorised = (rows[rid] for rid in sent)
    assert ask["query"] == "How are exceptions raised?" and isinstance(ask["answer"], str)
    assert ask["retrieved_ids"] and len(ask["retrieved_ids"]) == len(ask["scores"]) == served.settings.serving.top_k
    assert ask["model_version"] == "tiny-1" and ask["index_version"] and ask["bento_tag"] == served.bento.tag
    assert ask["latency_ms"] > 0 and ask["index_alias"] == served.settings.qdrant.alias
    assert search["label_filter"] == "statements" and search["retrieved_ids"]
    assert search["query"] == "for loops, asks [EMAIL]"  # monitoring.redact_queries: stored redacted
    assert classify["predicted_label"] in TEST_LABELS and classify["classifier_version"] == "untrained-1"
    assert bad["error"] and "string_too_short" in bad["error"]
    assert "unauthorized" in unauthorised["error"] and unauthorised["query"] == "no key"


def test_oversized_and_deeply_nested_bodies_are_refused_and_logged(served: Served):
    limit = served.settings.serving.max_request_bytes
    json_type = {"content-type": "application/json"}
    big = b'{"question": "' + b"x" * limit + b'"}'
    deep = b'{"question": ' + b"[" * 5000 + b"]" * 5000 + b"}"  # RecursionError for json.loads
    with httpx.Client(base_url=served.url, headers=HEADERS, timeout=60) as client:
        responses = {
            "declared": client.post("/ask", content=big, headers=json_type),
            "chunked": client.post("/search", content=iter([big[:65536]] * (limit // 65536 + 2)), headers=json_type),
            "nested": client.post("/ask", content=deep, headers=json_type),
            "nested_no_key": client.post("/classify", content=deep, headers={**json_type, "X-API-Key": "wrong"}),
            "after": client.post("/ask", json={"question": "Is logging still fine?"}),
        }
    codes = {name: r.status_code for name, r in responses.items()}
    assert codes == {"declared": 413, "chunked": 413, "nested": 400, "nested_no_key": 401, "after": 200}, codes
    assert responses["declared"].json()["error"] == "request body too large"
    ids = {r.headers["x-request-id"]: name for name, r in responses.items()}

    def logged_rows() -> pl.DataFrame | None:
        rows = logged(served.settings).filter(pl.col("request_id").is_in(list(ids)))
        return rows if rows.height == len(ids) else None

    table = wait_until(logged_rows, 30)
    assert table is not None, "not every refused request reached the inference log in 30 s"
    rows = {ids[r["request_id"]]: r for r in table.iter_rows(named=True)}
    assert {name: r["status_code"] for name, r in rows.items()} == codes
    assert "request body too large" in rows["declared"]["error"] and rows["declared"]["query"] is None
    assert rows["chunked"]["query"].startswith('{"question": "xxx')  # what arrived before the cut, as text
    assert rows["nested"]["query"].startswith('{"question": [[[') and "recursion" in rows["nested"]["error"]
    assert (
        rows["nested_no_key"]["query"].startswith('{"question": [[[')
        and "unauthorized" in rows["nested_no_key"]["error"]
    )


def test_a_corrupt_spill_file_neither_stops_nor_loses_inference_logging(served: Served):
    spill = served.settings.storage.serving_dir / "inference_log_spill"
    spill.mkdir(parents=True, exist_ok=True)
    planted_ids = [f"planted-{uuid.uuid4().hex}" for _ in range(2)]
    row = {column: None for column in INFERENCE_LOG.columns} | {
        "ts": datetime.now(UTC).isoformat(),
        "endpoint": "search",
        "status_code": 200,
        "latency_ms": 1.0,
        "model_version": "tiny-1",
        "classifier_version": "untrained-1",
        "index_alias": served.settings.qdrant.alias,
        "bento_tag": served.bento.tag,
    }
    lines = [json.dumps({**row, "request_id": rid}).encode() + b"\n" for rid in planted_ids]
    damaged = json.dumps({**row, "request_id": "cut-off"}).encode()[:40]  # a write cut off mid-line
    name = f"spill-{time.time_ns()}-planted.jsonl"
    (spill / f".planting-{name}").write_bytes(b"".join(lines) + damaged)
    (spill / f".planting-{name}").rename(spill / name)  # in place at once: the running writer scans this directory
    with httpx.Client(base_url=served.url, headers=HEADERS, timeout=60) as client:
        sent = [client.post("/search", json={"query": f"after the damage {i}"}) for i in range(3)]
    assert [r.status_code for r in sent] == [200] * 3
    expected = set(planted_ids) | {r.headers["x-request-id"] for r in sent}

    def all_logged() -> bool:
        return expected <= set(logged(served.settings)["request_id"])

    assert wait_until(all_logged, 60), "the planted file's good rows or later requests did not reach Delta in 60 s"
    assert (spill / "corrupt" / name).read_bytes() == damaged + b"\n" and not (spill / name).exists()
    assert "truncated" in (spill / "corrupt" / f"{name}.reasons.txt").read_text()


def test_index_alias_swap_while_queries_run_gives_no_errors_and_no_empty_results(served: Served):
    new_rows = topic_rows(served.encoder_dir, 30, offset=30, suffix="-v2")
    queries = ["assert statement", "binary arithmetic", "class definitions", "exceptions", "for loops", "imports"]
    results: list[tuple[int, int, str]] = []
    swapped: dict[str, str] = {}

    def query_until_swapped(worker: int) -> None:
        with httpx.Client(base_url=served.url, headers=HEADERS, timeout=60) as client:
            deadline = time.monotonic() + 90
            i = 0
            while time.monotonic() < deadline:
                r = client.post("/search", json={"query": queries[(worker + i) % len(queries)], "k": 3})
                body = r.json() if r.status_code == 200 else {}
                results.append((r.status_code, len(body.get("hits", [])), body.get("index_version", "")))
                i += 1
                if "version" in swapped and body.get("index_version") == swapped["version"] and i > 5:
                    return

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(query_until_swapped, w) for w in range(4)]
        wait_until(lambda: len(results) >= 20 or None, 60)
        swapped["version"] = build_test_index(served.settings.qdrant, new_rows, model_id="minilm")
        for f in futures:
            f.result()
    codes = Counter(code for code, _, _ in results)
    assert codes == {200: len(results)}, codes
    assert all(n == 3 for _, n, _ in results)
    versions = [v for _, _, v in results]
    assert (
        versions[0] == served.first_index
        and swapped["version"] in versions
        and swapped["version"] != served.first_index
    )


def test_bounded_load_gives_no_server_errors(served: Served):
    requests = []
    for i in range(1000):
        if i % 10 == 0:
            requests.append(("/ask", {"question": f"What is item {i} of a list?", "k": 2}))
        elif i % 10 < 4:
            requests.append(("/classify", {"text": f"Text about sockets number {i}"}))
        else:
            requests.append(("/search", {"query": f"dictionary methods {i}", "k": 4}))
    with httpx.Client(
        base_url=served.url, headers=HEADERS, timeout=120, limits=httpx.Limits(max_connections=16)
    ) as client:
        with ThreadPoolExecutor(16) as pool:
            codes = Counter(pool.map(lambda req: client.post(req[0], json=req[1]).status_code, requests))
    assert codes == {200: 1000}, codes


def test_a_new_bento_replaces_the_running_one_on_the_same_port(served: Served):
    before = process.running_server(served.settings.storage)
    assert before is not None and before.bento_tag == served.bento.tag
    # The new Bento: top_k 2, and a 1 s request timeout that 8 queued 600-token generations cannot all meet.
    serving = served.settings.serving.model_copy(update={"top_k": 2, "request_timeout_s": 1, "max_new_tokens": 600})
    changed = served.settings.model_copy(update={"serving": serving})
    bento = build_bento(changed, *served.models, changed.qdrant.alias)
    assert bento.tag != served.bento.tag and not bento.reused
    deployment = process.deploy(
        bento.tag, storage=changed.storage, serving=changed.serving, secrets=secrets_of(changed)
    )
    assert (deployment.action, deployment.previous_tag, deployment.state.port) == (
        "replaced",
        served.bento.tag,
        before.port,
    )
    assert not process.is_running(before) and process.running_server(changed.storage).bento_tag == bento.tag
    with httpx.Client(base_url=served.url, headers=HEADERS, timeout=60) as client:
        assert len(client.post("/search", json={"query": "lists"}).json()["hits"]) == 2  # the new Bento's top_k
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda _: client.post("/ask", json={"question": "Write a very long essay about loops."}), range(8)
                )
            )
    codes = Counter(a.status_code for a in answers)
    assert set(codes) <= {200, 504} and codes[504] >= 1, codes
    assert all("1 seconds" in a.json()["error"] for a in answers if a.status_code == 504)

    def essay_rows() -> pl.DataFrame | None:
        # BentoML's timeout answers from outside our middleware: no X-Request-Id, so find the rows by their query.
        rows = logged(served.settings).filter(pl.col("query") == "Write a very long essay about loops.")
        return rows if rows.height == len(answers) else None

    rows = wait_until(essay_rows, 120)  # a cancelled request is logged when its generation thread returns
    assert rows is not None and Counter(rows["status_code"].to_list()) == codes
    assert set(rows["bento_tag"]) == {bento.tag}
    redeployed = process.deploy(
        bento.tag, storage=changed.storage, serving=changed.serving, secrets=secrets_of(changed)
    )
    assert redeployed.action == "unchanged"
    assert build_bento(changed, *served.models, changed.qdrant.alias).reused
