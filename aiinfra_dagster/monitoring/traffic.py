"""`aiinfra traffic`: realistic requests to the deployed service, bounded in count and rate.

Two populations, so drift monitoring can be demonstrated and tested end to end:

- ``in-distribution``: questions sampled from the ``training_set`` table (what the model
  was trained on; drift_report should stay quiet);
- ``shifted``: questions from other domains (a packaged file, or
  ``monitoring.traffic.shifted_questions_path``): other topics, longer, with weaker
  retrieval matches (drift_report should flag them).

Requests are paced by a monotonic schedule anchored at the first request (request i
is sent no earlier than ``i / rate`` seconds after it) by a small thread pool, so a slow
answer does not stall the schedule and no burst ever outruns the requested rate.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
import numpy as np

from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.markdown import markdown_table
from aiinfra_dagster.serving.gateway import API_KEY_HEADER, REQUEST_ID_HEADER
from aiinfra_dagster.serving.process import running_server
from aiinfra_dagster.settings import StorageSettings, TrafficSettings
from aiinfra_dagster.synthetic.tables import TRAINING_SET

Kind = Literal["in-distribution", "shifted"]
Endpoint = Literal["ask", "search"]
KINDS: tuple[Kind, ...] = ("in-distribution", "shifted")
BODY_FIELD: dict[str, str] = {"ask": "question", "search": "query"}
"""The JSON field each endpoint reads the text from."""
DEFAULT_WORKERS = 4
"""Requests in flight at most: enough to hold a few requests/s against a CPU-bound /ask."""
NO_RESPONSE = "no response"
"""The status_counts key of requests that got no HTTP response (timeout, connection reset)."""
MAX_ERROR_CHARS = 300
DEPLOY_HINT = (
    "materialize bento_deployment first (`python -m aiinfra_dagster.serving.process status` shows what is served)"
)


class TrafficError(ValueError):
    """Bad input or nothing to send to: the message says which setting or step to fix."""


@dataclass(frozen=True)
class RequestResult:
    index: int
    question: str
    status_code: int | None
    """None when no HTTP response came back (the error says why)."""
    sent_s: float
    """When the request was released, in seconds after the first one."""
    latency_s: float
    error: str | None
    request_id: str | None
    """The service's X-Request-Id (the inference_log row of this request)."""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class TrafficSummary:
    url: str
    endpoint: str
    sent: int
    ok: int
    status_counts: dict[str, int]
    """HTTP status (as text) or NO_RESPONSE -> requests."""
    errors: dict[str, int]
    """error message -> requests that failed with it"""
    elapsed_s: float
    """from the first request's release to the last response"""
    achieved_rate_per_second: float | None
    """requests released per second (first to last release); None for a single request"""
    requested_rate_per_second: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    results: tuple[RequestResult, ...]

    @property
    def failed(self) -> int:
        return self.sent - self.ok


# --------------------------------------------------------------------------- questions


def training_questions(storage: StorageSettings) -> list[str]:
    """The distinct questions of the training_set table, sorted (a stable pool to sample from)."""
    store = DeltaStore.for_storage(storage)
    if not store.exists(TRAINING_SET.name):
        raise TrafficError(f"no training_set table at {store.uri(TRAINING_SET.name)}: materialize training_set first")
    pool = _distinct(store.read(TRAINING_SET, columns=["question"])["question"].to_list())
    if not pool:
        raise TrafficError(
            f"training_set at {store.uri(TRAINING_SET.name)} has no questions: materialize training_set first"
        )
    return pool


def packaged_shifted_questions() -> str:
    """The text of the packaged off-domain questions (aiinfra_dagster/monitoring/data/shifted_questions.txt)."""
    return (
        resources.files("aiinfra_dagster.monitoring").joinpath("data/shifted_questions.txt").read_text(encoding="utf-8")
    )


def shifted_questions(path: str | Path | None = None) -> list[str]:
    """One question per line of `path` (the packaged file when None); blank lines and # comments skipped."""
    if path is None:
        text, where = packaged_shifted_questions(), "the packaged shifted_questions.txt"
    else:
        where = f"monitoring.traffic.shifted_questions_path {path}"
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise TrafficError(f"cannot read {where}: {exc}") from exc
    pool = _distinct(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    if not pool:
        raise TrafficError(f"{where} has no questions (one per line)")
    return pool


def question_pool(kind: Kind, *, storage: StorageSettings, traffic: TrafficSettings) -> list[str]:
    """In-distribution questions from the training_set table under `storage`, or `traffic`'s shifted questions."""
    if kind == "in-distribution":
        return training_questions(storage)
    if kind == "shifted":
        return shifted_questions(traffic.shifted_questions_path)
    raise TrafficError(f"unknown traffic kind {kind!r}: one of {', '.join(KINDS)}")


def sample_questions(pool: Sequence[str], count: int, seed: int) -> list[str]:
    """`count` questions from `pool`, the same for the same seed; with replacement only when count exceeds the pool."""
    if not pool:
        raise TrafficError("no questions to sample from")
    rng = random.Random(seed)
    return rng.sample(list(pool), count) if count <= len(pool) else rng.choices(list(pool), k=count)


def _distinct(questions: Iterable[str]) -> list[str]:
    return sorted({q.strip() for q in questions if q and q.strip()})


# --------------------------------------------------------------------------- sending


def check_bounds(count: int, rate_per_second: float, limits: TrafficSettings) -> None:
    """Refuse a count or rate beyond the configured bounds, naming the setting to raise."""
    if count < 1:
        raise TrafficError(f"count must be at least 1 (got {count})")
    if count > limits.max_count:
        raise TrafficError(f"count {count} exceeds monitoring.traffic.max_count ({limits.max_count})")
    if not rate_per_second > 0:
        raise TrafficError(f"rate must be above 0 requests/s (got {rate_per_second})")
    if rate_per_second > limits.max_rate_per_second:
        raise TrafficError(
            f"rate {rate_per_second}/s exceeds monitoring.traffic.max_rate_per_second ({limits.max_rate_per_second})"
        )


def deployed_url(storage: StorageSettings) -> str:
    """The URL of the `bentoml serve` this storage home runs (the bento_deployment asset starts it)."""
    state = running_server(storage)
    if state is None:
        raise TrafficError(f"nothing is served for storage home {storage.home}: {DEPLOY_HINT}, or pass --url")
    return state.url


def check_reachable(url: str, timeout_s: float = 5.0) -> None:
    """Open (and close) a TCP connection to the service, so a missing deployment fails before any traffic."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TrafficError(f"not an http(s) URL: {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            pass
    except (OSError, ValueError) as exc:
        raise TrafficError(f"cannot connect to {url} ({exc}): is the service deployed? {DEPLOY_HINT}") from exc


def send_traffic(
    url: str,
    questions: Sequence[str],
    *,
    count: int,
    rate_per_second: float,
    endpoint: Endpoint = "ask",
    api_key: str | None = None,
    timeout_s: float,
    on_response: Callable[[RequestResult], None] | None = None,
    workers: int = DEFAULT_WORKERS,
    limits: TrafficSettings | None = None,
) -> TrafficSummary:
    """POST `count` questions (cycling through `questions`) to `url`/`endpoint` at most `rate_per_second`.

    Request i is released no earlier than i / rate seconds after the first; at most
    `workers` are in flight. `on_response` is called once per request, one call at a time.
    Failed requests are counted with their messages, never raised; only bad bounds or an
    unreachable service raise TrafficError.
    """
    check_bounds(count, rate_per_second, limits or TrafficSettings())
    if endpoint not in BODY_FIELD:
        raise TrafficError(f"unknown endpoint {endpoint!r}: one of {', '.join(BODY_FIELD)}")
    if not questions:
        raise TrafficError("no questions to send")
    if workers < 1:
        raise TrafficError(f"workers must be at least 1 (got {workers})")
    base = url.rstrip("/")
    check_reachable(base, min(timeout_s, 10.0))
    headers = {API_KEY_HEADER: api_key} if api_key else {}
    results: list[RequestResult] = []
    report = threading.Lock()
    slots = threading.BoundedSemaphore(workers)

    def one(index: int, question: str, sent: float, first: float) -> None:
        try:
            result = _post(client, f"/{endpoint}", {BODY_FIELD[endpoint]: question}, index, question, sent - first)
            with report:
                results.append(result)
                if on_response is not None:
                    on_response(result)
        finally:
            slots.release()

    limits_http = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with httpx.Client(base_url=base, headers=headers, timeout=timeout_s, limits=limits_http) as client:
        with ThreadPoolExecutor(workers, thread_name_prefix="traffic") as pool:
            futures = []
            first = 0.0
            for i in range(count):
                slots.acquire()
                if i == 0:
                    first = time.monotonic()
                else:
                    _sleep_until(first + i / rate_per_second)
                futures.append(pool.submit(one, i, questions[i % len(questions)], time.monotonic(), first))
            for future in futures:
                future.result()  # re-raises an exception of on_response
        elapsed = time.monotonic() - first
    return summarize(base, endpoint, rate_per_second, results, elapsed)


def _post(
    client: httpx.Client, path: str, body: dict[str, str], index: int, question: str, sent_s: float
) -> RequestResult:
    began = time.monotonic()
    try:
        response = client.post(path, json=body)
    except httpx.HTTPError as exc:
        return RequestResult(
            index, question, None, sent_s, time.monotonic() - began, _clip(f"{type(exc).__name__}: {exc}"), None
        )
    latency = time.monotonic() - began
    error = None if response.is_success else _clip(f"HTTP {response.status_code}: {_error_text(response)}")
    return RequestResult(
        index, question, response.status_code, sent_s, latency, error, response.headers.get(REQUEST_ID_HEADER)
    )


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()
    return str(body.get("error", body)) if isinstance(body, dict) else str(body)


def _clip(message: str) -> str:
    return message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 1] + "…"


def _sleep_until(deadline: float) -> None:
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(left)


def summarize(
    url: str, endpoint: str, rate_per_second: float, results: Sequence[RequestResult], elapsed_s: float
) -> TrafficSummary:
    ordered = tuple(sorted(results, key=lambda r: r.index))
    statuses = Counter(str(r.status_code) if r.status_code is not None else NO_RESPONSE for r in ordered)
    errors = Counter(r.error for r in ordered if r.error is not None)
    latencies = [r.latency_s * 1000 for r in ordered if r.status_code is not None]
    span = ordered[-1].sent_s - ordered[0].sent_s if len(ordered) > 1 else 0.0
    return TrafficSummary(
        url=url,
        endpoint=endpoint,
        sent=len(ordered),
        ok=sum(r.ok for r in ordered),
        status_counts=dict(sorted(statuses.items())),
        errors=dict(errors.most_common()),
        elapsed_s=elapsed_s,
        achieved_rate_per_second=(len(ordered) - 1) / span if span > 0 else None,
        requested_rate_per_second=rate_per_second,
        latency_p50_ms=float(np.percentile(latencies, 50)) if latencies else None,
        latency_p95_ms=float(np.percentile(latencies, 95)) if latencies else None,
        results=ordered,
    )


def summary_table(summary: TrafficSummary, kind: str | None = None) -> str:
    """The summary as a markdown table (readable in a terminal too); errors follow it, most frequent first."""
    rate = f"{summary.achieved_rate_per_second:.2f}" if summary.achieved_rate_per_second is not None else "-"
    rows: list[tuple[str, object]] = [
        ("url", f"{summary.url}/{summary.endpoint}"),
        *([("kind", kind)] if kind else []),
        ("sent", summary.sent),
        ("ok", summary.ok),
        ("status codes", ", ".join(f"{code}: {n}" for code, n in summary.status_counts.items())),
        ("elapsed", f"{summary.elapsed_s:.1f} s"),
        ("rate (requests/s)", f"{rate} of {summary.requested_rate_per_second:g} requested"),
        ("latency p50 / p95", f"{_ms(summary.latency_p50_ms)} / {_ms(summary.latency_p95_ms)}"),
    ]
    table = markdown_table(["traffic", "value"], rows)
    errors = [f"  {n} x {message}" for message, n in summary.errors.items()]
    return "\n".join([table, *(["errors:", *errors] if errors else [])])


def _ms(value: float | None) -> str:
    return f"{value:.0f} ms" if value is not None else "-"
