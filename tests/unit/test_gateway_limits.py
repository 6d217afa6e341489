"""The gateway middleware over plain ASGI: the body size limit (413, declared or chunked) and a log row for every
request whatever its body does to the logging path. The real server is in tests/integration/test_serving.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiinfra_dagster.serving.gateway import Gateway, Message, RequestLog

LIMIT = 4096
KEY = "k-123"


class Rows:
    """What the gateway hands the inference-log writer."""

    def __init__(self, fail: bool = False) -> None:
        self.rows: list[dict[str, Any]] = []
        self.fail = fail

    def log(self, row: dict[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("writer broken")
        self.rows.append(row)


class EchoApp:
    """Reads the whole body like BentoML does, answers 400 when it is not JSON it can use, else 200."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        try:
            ok = isinstance(json.loads(body), dict)
        except (ValueError, RecursionError):
            ok = False
        data = json.dumps({"ok": True} if ok else {"error": "Invalid JSON input"}).encode()
        await send({"type": "http.response.start", "status": 200 if ok else 400, "headers": []})
        await send({"type": "http.response.body", "body": data})


def call(
    gateway: Gateway, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, bytes, int]:
    """One request; returns (status, response body, how many body messages the gateway read)."""
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    read = {"n": 0}
    sent: list[Message] = []

    async def receive() -> Message:
        if read["n"] < len(messages):
            read["n"] += 1
            return messages[read["n"] - 1]
        await asyncio.sleep(3600)  # the client waits for the answer
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers or []}
    asyncio.run(gateway(scope, receive, send))
    status = next(int(m["status"]) for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"), read["n"]


def gateway_with(rows: Rows, api_key: str | None = None) -> tuple[Gateway, EchoApp]:
    log = RequestLog()
    log.configure(rows, {"bento_tag": "b:1"}, max_query_chars=100)
    app = EchoApp()
    return Gateway(app, api_key=api_key, request_log=log, max_request_bytes=LIMIT), app


def test_a_declared_body_over_the_limit_gets_413_unread_and_is_logged():
    rows = Rows()
    gateway, app = gateway_with(rows)
    body = json.dumps({"question": "x" * LIMIT}).encode()
    status, answer, read = call(gateway, "/ask", [body], [(b"content-length", str(len(body)).encode())])
    assert status == 413 and json.loads(answer)["error"] == "request body too large" and read == 0
    assert app.bodies == []  # never reached the service, nothing parsed it
    (row,) = rows.rows
    assert (row["endpoint"], row["status_code"], row["query"], row["bento_tag"]) == ("ask", 413, None, "b:1")
    assert "request body too large" in row["error"]


def test_a_chunked_body_is_cut_off_at_the_limit():
    rows = Rows()
    gateway, app = gateway_with(rows)
    chunks = [b'{"question": "' + b"y" * 1000] + [b"y" * 1000] * 10 + [b'"}']  # no content-length
    status, _, read = call(gateway, "/search", chunks)
    assert status == 413 and app.bodies == [] and read == 5  # 5 x ~1000 bytes passes 4096: nothing more is read
    assert rows.rows[0]["status_code"] == 413 and rows.rows[0]["query"].startswith('{"question": "yyy')


def test_a_body_within_the_limit_reaches_the_service_whole():
    rows = Rows()
    gateway, app = gateway_with(rows)
    body = json.dumps({"question": "z" * (LIMIT - 20)}).encode()
    status, _, _ = call(gateway, "/ask", [body[:100], body[100:2000], body[2000:]])
    assert status == 200 and app.bodies == [body] and len(body) <= LIMIT
    assert rows.rows[0]["query"] == "z" * 100  # truncated to max_query_chars


def test_a_body_nested_too_deep_to_parse_is_answered_and_logged():
    rows = Rows()
    gateway, _ = gateway_with(rows, api_key=KEY)
    deep = b'{"question": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    with_key = call(gateway, "/ask", [deep], [(b"x-api-key", KEY.encode())])
    without_key = call(gateway, "/ask", [deep])
    assert (with_key[0], without_key[0]) == (400, 401)
    assert [(r["status_code"], r["query"]) for r in rows.rows] == [
        (400, deep[:100].decode()),
        (401, deep[:100].decode()),
    ]
    assert "Invalid JSON" in rows.rows[0]["error"] and "unauthorized" in rows.rows[1]["error"]


def test_a_broken_writer_never_fails_the_request():
    gateway, _ = gateway_with(Rows(fail=True))
    assert call(gateway, "/ask", [b'{"question": "fine"}'])[0] == 200
