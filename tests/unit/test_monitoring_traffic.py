"""`aiinfra traffic`: question sources, bounds, and pacing against a real local HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

import polars as pl
import pytest

from aiinfra_dagster.cli import main
from aiinfra_dagster.lakehouse import DeltaStore
from aiinfra_dagster.monitoring.traffic import (
    NO_RESPONSE,
    TrafficError,
    check_bounds,
    question_pool,
    sample_questions,
    send_traffic,
    shifted_questions,
    summary_table,
    training_questions,
)
from aiinfra_dagster.net import free_port
from aiinfra_dagster.settings import Settings, TrafficSettings
from aiinfra_dagster.synthetic.tables import TRAINING_SET

TRAINING_QUESTIONS = [
    "What does len() do?",
    "How do I open a file?",
    "What is the os module for?",
    "When is KeyError raised?",
]


def write_training_set(settings: Settings, questions: list[str]) -> None:
    rows = [
        {
            "example_id": f"ex-{i}",
            "source": "synthetic",
            "chunk_id": f"chunk-{i}",
            "question": q,
            "answer": "An answer.",
            "context": "Some context.",
            "messages": "[]",
            "split": "train",
            "synthetic_qa_version": 0,
            "document_chunks_version": 0,
        }
        for i, q in enumerate(questions)
    ]
    DeltaStore.for_storage(settings.storage).write(TRAINING_SET, pl.DataFrame(rows, schema=TRAINING_SET.polars_schema))


# --------------------------------------------------------------------------- questions


def test_in_distribution_questions_come_from_the_training_set_table(make_settings) -> None:
    settings = make_settings()
    write_training_set(settings, [*TRAINING_QUESTIONS, "  How do I open a file?  "])  # a duplicate, padded

    assert training_questions(settings.storage) == sorted(TRAINING_QUESTIONS)
    pool = question_pool("in-distribution", storage=settings.storage, traffic=settings.monitoring.traffic)
    assert pool == sorted(TRAINING_QUESTIONS)


def test_in_distribution_without_a_training_set_says_to_materialize_it(make_settings) -> None:
    with pytest.raises(TrafficError, match="materialize training_set first"):
        training_questions(make_settings().storage)


def test_sample_is_stable_per_seed_and_repeats_only_beyond_the_pool() -> None:
    pool = [f"question {i}" for i in range(10)]

    first, again, other = sample_questions(pool, 6, 0), sample_questions(pool, 6, 0), sample_questions(pool, 6, 1)
    assert first == again and first != other
    assert len(set(first)) == 6 and set(first) <= set(pool)
    assert sorted(sample_questions(pool, 10, 0)) == pool  # the whole pool, no repeats
    more = sample_questions(pool, 25, 0)
    assert len(more) == 25 and set(more) <= set(pool)


def test_packaged_shifted_questions_are_readable_off_domain_and_longer() -> None:
    text = (
        resources.files("aiinfra_dagster.monitoring").joinpath("data/shifted_questions.txt").read_text(encoding="utf-8")
    )
    questions = shifted_questions()

    assert len(questions) >= 60 and len(set(questions)) == len(questions)
    assert set(questions) <= {line.strip() for line in text.splitlines()}
    assert not any(q.startswith("#") for q in questions)
    assert all(q.endswith("?") for q in questions)
    assert not [q for q in questions if "python" in q.lower()]
    words = [len(q.split()) for q in questions]
    assert sum(words) / len(words) > 2 * sum(len(q.split()) for q in TRAINING_QUESTIONS) / len(TRAINING_QUESTIONS)


def test_shifted_questions_from_a_configured_file(make_settings, tmp_path) -> None:
    path = tmp_path / "questions.txt"
    path.write_text("# comment\nHow do I reset my router?\n\nWhat is a VLAN?\n")
    settings = make_settings(monitoring={"traffic": {"shifted_questions_path": str(path)}})

    pool = question_pool("shifted", storage=settings.storage, traffic=settings.monitoring.traffic)
    assert pool == ["How do I reset my router?", "What is a VLAN?"]
    path.write_text("# only a comment\n\n")
    with pytest.raises(TrafficError, match="shifted_questions_path .* has no questions"):
        shifted_questions(path)
    with pytest.raises(TrafficError, match="cannot read monitoring.traffic.shifted_questions_path"):
        shifted_questions(tmp_path / "missing.txt")


# --------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(
    ("count", "rate", "message"),
    [
        (0, 1.0, "count must be at least 1"),
        (11, 1.0, r"count 11 exceeds monitoring.traffic.max_count \(10\)"),
        (5, 0.0, "rate must be above 0"),
        (5, 2.5, r"rate 2.5/s exceeds monitoring.traffic.max_rate_per_second \(2.0\)"),
    ],
)
def test_bounds_name_the_setting(count: int, rate: float, message: str) -> None:
    limits = TrafficSettings(max_count=10, max_rate_per_second=2.0)
    with pytest.raises(TrafficError, match=message):
        check_bounds(count, rate, limits)
    with pytest.raises(TrafficError, match=message):  # send_traffic checks before connecting anywhere
        send_traffic("http://127.0.0.1:1", ["q?"], count=count, rate_per_second=rate, timeout_s=1, limits=limits)


def test_a_refused_connection_names_the_url_and_how_to_deploy() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(TrafficError, match=rf"cannot connect to {url} .*bento_deployment"):
        send_traffic(url, ["q?"], count=1, rate_per_second=1.0, timeout_s=5)


# --------------------------------------------------------------------------- a real local server


@dataclass
class Recorder:
    """What the test server saw: arrival times, bodies, headers, the most requests handled at once."""

    arrivals: list[float] = field(default_factory=list)
    requests: list[tuple[str, dict, str | None]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    hold_s: float = 0.0
    fail_on: str = "\0"
    lock: threading.Lock = field(default_factory=threading.Lock)


def handler_for(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrived = time.monotonic()
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            with recorder.lock:
                recorder.arrivals.append(arrived)
                recorder.requests.append((self.path, body, self.headers.get("x-api-key")))
                recorder.in_flight += 1
                recorder.max_in_flight = max(recorder.max_in_flight, recorder.in_flight)
                number = len(recorder.requests)
            if recorder.hold_s:
                time.sleep(recorder.hold_s)  # a slow handler, so requests overlap
            text = body.get("question") or body.get("query") or ""
            failed = recorder.fail_on in text
            payload = json.dumps({"error": "model exploded"} if failed else {"answer": "ok", "citations": []}).encode()
            self.send_response(500 if failed else 200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.send_header("x-request-id", f"req-{number}")
            self.end_headers()
            self.wfile.write(payload)
            with recorder.lock:
                recorder.in_flight -= 1

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(recorder))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", recorder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_requests_are_paced_no_faster_than_the_rate(server) -> None:
    url, recorder = server
    questions = [f"How do I configure thing {i}?" for i in range(5)]
    rate, count = 20.0, 16
    seen = []

    summary = send_traffic(
        url, questions, count=count, rate_per_second=rate, timeout_s=10, on_response=seen.append, api_key="k-1"
    )

    assert len(recorder.requests) == count == summary.sent == summary.ok == len(seen)
    assert sorted(body["question"] for _, body, _ in recorder.requests) == sorted(
        questions[i % 5] for i in range(count)
    )
    assert {path for path, _, _ in recorder.requests} == {"/ask"} and {key for _, _, key in recorder.requests} == {
        "k-1"
    }
    assert summary.status_counts == {"200": count} and summary.errors == {}
    # Released on the schedule: request i no earlier than i / rate after the first.
    assert all(r.sent_s >= r.index / rate for r in summary.results)
    assert summary.achieved_rate_per_second is not None and summary.achieved_rate_per_second <= rate
    # As the server saw it (arrival jitter of the first request allowed for).
    arrivals = sorted(recorder.arrivals)
    assert (count - 1) / (arrivals[-1] - arrivals[0]) <= rate * 1.15
    assert {r.request_id for r in summary.results} == {f"req-{i}" for i in range(1, count + 1)}
    assert summary.latency_p50_ms is not None and summary.latency_p95_ms >= summary.latency_p50_ms > 0


def test_in_flight_requests_are_bounded_by_the_workers(server) -> None:
    url, recorder = server
    recorder.hold_s = 0.3

    summary = send_traffic(url, ["q?"], count=6, rate_per_second=50.0, timeout_s=10, workers=2)

    assert summary.ok == 6 and recorder.max_in_flight <= 2


def test_failed_requests_are_counted_with_their_messages(server) -> None:
    url, recorder = server
    recorder.fail_on = "boom"

    summary = send_traffic(url, ["fine?", "boom?"], count=6, rate_per_second=50.0, endpoint="search", timeout_s=10)

    assert {path for path, _, _ in recorder.requests} == {"/search"}
    assert sorted(body["query"] for _, body, _ in recorder.requests) == ["boom?"] * 3 + ["fine?"] * 3
    assert (summary.sent, summary.ok, summary.failed) == (6, 3, 3)
    assert summary.status_counts == {"200": 3, "500": 3}
    assert summary.errors == {"HTTP 500: model exploded": 3}
    table = summary_table(summary, "shifted")
    assert "| status codes | 200: 3, 500: 3 |" in table and "3 x HTTP 500: model exploded" in table


def test_a_timeout_is_a_failed_request_not_a_crash(server) -> None:
    url, recorder = server
    recorder.hold_s = 1.0

    summary = send_traffic(url, ["slow?"], count=2, rate_per_second=50.0, timeout_s=0.2)

    assert (summary.sent, summary.ok) == (2, 0) and summary.status_counts == {NO_RESPONSE: 2}
    assert all(message.startswith("ReadTimeout") for message in summary.errors)


# --------------------------------------------------------------------------- the CLI


def write_config(tmp_path, **sections: object) -> str:
    import yaml

    path = tmp_path / "aiinfra.yaml"
    path.write_text(yaml.safe_dump({"profile": "quick", "storage": {"home": str(tmp_path / "home")}, **sections}))
    return str(path)


def test_cli_sends_shifted_traffic_and_prints_the_summary(server, tmp_path, capsys) -> None:
    url, recorder = server
    config = write_config(tmp_path, serving={"api_key": "k-2"})

    code = main(["traffic", "--kind", "shifted", "--count", "5", "--rate", "40", "--url", url, "--config", config])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert "shifted traffic: 5/5 sent, 5 ok, 0 failed" in err
    assert "| sent | 5 |" in out and "| status codes | 200: 5 |" in out and f"| url | {url}/ask |" in out
    assert len(recorder.requests) == 5 and {key for _, _, key in recorder.requests} == {"k-2"}
    assert {body["question"] for _, body, _ in recorder.requests} <= set(shifted_questions())


def test_cli_in_distribution_sends_training_questions(server, tmp_path, capsys, make_settings) -> None:
    url, recorder = server
    config = write_config(tmp_path)
    write_training_set(make_settings(storage={"home": str(tmp_path / "home")}), TRAINING_QUESTIONS)

    code = main(
        [
            "traffic",
            "--kind",
            "in-distribution",
            "--count",
            "6",
            "--rate",
            "40",
            "--url",
            url,
            "--endpoint",
            "search",
            "--config",
            config,
        ]
    )

    assert code == 0, capsys.readouterr().err
    assert {path for path, _, _ in recorder.requests} == {"/search"}
    assert {body["query"] for _, body, _ in recorder.requests} <= set(TRAINING_QUESTIONS)


def test_cli_exits_1_when_requests_fail(server, tmp_path, capsys) -> None:
    url, recorder = server
    recorder.fail_on = "?"  # every question
    code = main(
        [
            "traffic",
            "--kind",
            "shifted",
            "--count",
            "2",
            "--rate",
            "40",
            "--url",
            url,
            "--config",
            write_config(tmp_path),
        ]
    )
    assert code == 1 and "2 x HTTP 500: model exploded" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "shifted", "--count", "6000"], "exceeds monitoring.traffic.max_count (5000)"),
        (["--kind", "shifted", "--rate", "51"], "exceeds monitoring.traffic.max_rate_per_second (50.0)"),
        (["--kind", "shifted"], "nothing is served for storage home"),
        (["--kind", "in-distribution", "--url", "http://127.0.0.1:1"], "materialize training_set first"),
    ],
)
def test_cli_bad_input_or_no_deployment_exits_2(tmp_path, capsys, args: list[str], message: str) -> None:
    assert main(["traffic", *args, "--config", write_config(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    if "nothing is served" in message:
        assert "bento_deployment" in err and "--url" in err
