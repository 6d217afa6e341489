"""ASGI middleware in front of the service: API key, request ids, and one log row per API request.

It sees every request, including those the service rejects before any handler
runs (bad JSON, failed validation, a missing key), so the inference log holds
every call with its status.  Handlers add what only they know (answer,
retrieved ids, versions) with `RequestLog.note(request_id, ...)`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from threading import Lock
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

API_PATHS = {"/ask": "ask", "/search": "search", "/classify": "classify"}
OPEN_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})
API_KEY_HEADER = "x-api-key"
REQUEST_ID_HEADER = "x-request-id"
QUERY_FIELDS = ("question", "query", "text")
MAX_NOTES = 10_000
MAX_CAPTURED_BODY = 64_000
MAX_ERROR_CHARS = 1000


class RequestLog:
    """Per-process holder: where rows go and what every row carries (versions)."""

    def __init__(self) -> None:
        self.writer: Any = None
        self.base: dict[str, Any] = {}
        self.max_query_chars = 2000
        self._notes: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = Lock()

    def configure(self, writer: Any, base: dict[str, Any], max_query_chars: int) -> None:
        self.writer, self.base, self.max_query_chars = writer, dict(base), max_query_chars

    def note(self, request_id: str | None, **details: Any) -> None:
        if not request_id:
            return
        with self._lock:
            self._notes[request_id] = details
            while len(self._notes) > MAX_NOTES:
                self._notes.popitem(last=False)

    def pop(self, request_id: str) -> dict[str, Any]:
        with self._lock:
            return self._notes.pop(request_id, {})

    def record(self, row: dict[str, Any]) -> None:
        if self.writer is not None:
            self.writer.log({**self.base, **row})


REQUEST_LOG = RequestLog()


class Gateway:
    """Checks the API key (when configured) and logs each API request; health and metrics stay open."""

    def __init__(self, app: ASGIApp, api_key: str | None = None, request_log: RequestLog = REQUEST_LOG) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.log = request_log

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        endpoint = API_PATHS.get(path.rstrip("/") or "/")
        if path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        arrived = datetime.now(UTC)
        request_id = uuid.uuid4().hex
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != REQUEST_ID_HEADER.encode()]
        scope = {**scope, "headers": [*headers, (REQUEST_ID_HEADER.encode(), request_id.encode())]}
        body = bytearray()

        async def capture() -> Message:
            message = await receive()
            if message.get("type") == "http.request" and len(body) < MAX_CAPTURED_BODY:
                body.extend(message.get("body", b"")[: MAX_CAPTURED_BODY - len(body)])
            return message

        status = {"code": 500}
        error_body = bytearray()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (REQUEST_ID_HEADER.encode(), request_id.encode())],
                }
            elif (
                message["type"] == "http.response.body" and status["code"] >= 400 and len(error_body) < MAX_ERROR_CHARS
            ):
                error_body.extend(message.get("body", b"")[:MAX_ERROR_CHARS])
            await send(message)

        if self.api_key is not None and not self._authorised(headers):
            if endpoint:
                await _drain(capture)
            await _json_response(
                send_with_id,
                401,
                {
                    "error": "unauthorized",
                    "detail": f"missing or wrong API key (send it in the {API_KEY_HEADER} header or as a Bearer token)",
                },
            )
        else:
            try:
                await self.app(scope, capture, send_with_id)
            except asyncio.CancelledError:  # serving.request_timeout_s ran out (BentoML answers 504)
                if endpoint:
                    self._record(
                        endpoint, request_id, arrived, started, 504, body, {"error": "timeout: request cancelled"}
                    )
                raise
            except Exception as exc:
                if endpoint:
                    self._record(endpoint, request_id, arrived, started, status["code"], body, {"error": repr(exc)})
                raise
        if endpoint:
            details = self.log.pop(request_id)
            if status["code"] >= 400 and error_body:
                details.setdefault("error", error_body[:MAX_ERROR_CHARS].decode("utf-8", "replace"))
            self._record(endpoint, request_id, arrived, started, status["code"], body, details)

    def _authorised(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """The key in X-API-Key, or as `Authorization: Bearer <key>` (what bentoml's clients send for `token=`)."""
        expected = self.api_key or b""
        for key, value in headers:
            name = key.lower()
            if name == API_KEY_HEADER.encode() and hmac.compare_digest(value, expected):
                return True
            if (
                name == b"authorization"
                and value[:7].lower() == b"bearer "
                and hmac.compare_digest(value[7:].strip(), expected)
            ):
                return True
        return False

    def _record(
        self,
        endpoint: str,
        request_id: str,
        arrived: datetime,
        started: float,
        code: int,
        body: bytes | bytearray,
        details: dict[str, Any],
    ) -> None:
        row = {
            "request_id": request_id,
            "ts": arrived,
            "endpoint": endpoint,
            "status_code": code,
            "latency_ms": (time.perf_counter() - started) * 1000.0,
            "query": _query_from(body, self.log.max_query_chars),
            "label_filter": None,
            "answer": None,
            "retrieved_ids": None,
            "scores": None,
            "predicted_label": None,
            "index_version": None,
            "error": None if code < 400 else _error_from(code),
        }
        row.update(details)
        self.log.record(row)


def _query_from(body: bytes | bytearray, limit: int) -> str | None:
    try:
        payload = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        return body[:limit].decode("utf-8", "replace") or None
    if isinstance(payload, dict):
        for name in QUERY_FIELDS:
            if name in payload:
                value = payload[name]
                return (value if isinstance(value, str) else json.dumps(value))[:limit]
    return None


def _error_from(code: int) -> str:
    return {400: "invalid input", 401: "unauthorized", 404: "not found", 422: "invalid input", 504: "timeout"}.get(
        code, f"HTTP {code}"
    )


async def _drain(receive: Callable[[], Awaitable[Message]]) -> None:
    while True:
        message = await receive()
        if message.get("type") != "http.request" or not message.get("more_body"):
            return


async def _json_response(send: Callable[[Message], Awaitable[None]], code: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": code,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})
