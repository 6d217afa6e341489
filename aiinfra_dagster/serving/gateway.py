"""ASGI middleware in front of the service: body size limit, API key, request ids, one log row per API request.

It sees every request, including those the service rejects before any handler
runs (a body over `serving.max_request_bytes` -> 413, bad JSON, failed
validation, a missing key), so the inference log holds every call with its
status; building the row never raises (a body nested too deep to parse is
logged as text).  Handlers add what only they know (answer, retrieved ids,
versions) with `RequestLog.note(request_id, ...)`.  With a redactor
(`monitoring.redact_queries`, `pii_redactor`) the row's free text (query,
answer, error: a validation error echoes the input) is redacted before it
reaches the writer, so neither the Delta table nor a spill file holds it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, MutableMapping, Sequence
from datetime import UTC, datetime
from threading import Lock
from typing import Any

from aiinfra_dagster.data.pii import redact_pii

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

logger = logging.getLogger(__name__)
API_PATHS = {"/ask": "ask", "/search": "search", "/classify": "classify"}
OPEN_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})
API_KEY_HEADER = "x-api-key"
REQUEST_ID_HEADER = "x-request-id"
QUERY_FIELDS = ("question", "query", "text")
MAX_NOTES = 10_000
MAX_ERROR_CHARS = 1000
DEFAULT_MAX_REQUEST_BYTES = 1 << 20
"""serving.max_request_bytes's default: a body over it gets 413 before anything parses it."""
CLIENT_CLOSED = 499
"""Logged (never sent) when the client went away before its body arrived, as nginx logs it."""
REDACTED_FIELDS = ("query", "answer", "error")
REDACTION_FAILED = "[REDACTION FAILED]"
"""Stored instead of a text the redactor raised on: better no text than unredacted text."""


def pii_redactor(types: Sequence[str], allowlist: Collection[str] = ()) -> Callable[[str], str]:
    """The documents' PII redaction (`data.pii`) as a text -> text function for the log."""

    def redact(text: str) -> str:
        return redact_pii(text, types, allowlist).text

    return redact


class RequestLog:
    """Per-process holder: where rows go and what every row carries (versions)."""

    def __init__(self) -> None:
        self.writer: Any = None
        self.base: dict[str, Any] = {}
        self.max_query_chars = 2000
        self.redact: Callable[[str], str] | None = None
        self._notes: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = Lock()

    def configure(
        self,
        writer: Any,
        base: dict[str, Any],
        max_query_chars: int,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self.writer, self.base, self.max_query_chars, self.redact = writer, dict(base), max_query_chars, redact

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
        """Never raises: logging must not fail the request it logs."""
        if self.writer is None:
            return
        try:
            self.writer.log(self.redacted({**self.base, **row}))
        except Exception:
            logger.exception("inference log row for request %s could not be handed on", row.get("request_id"))

    def redacted(self, row: dict[str, Any]) -> dict[str, Any]:
        """`row` with its free text redacted (unchanged without a redactor); never raises."""
        if self.redact is None:
            return row
        out = dict(row)
        for name in REDACTED_FIELDS:
            value = out.get(name)
            if isinstance(value, str):
                try:
                    out[name] = self.redact(value)
                except Exception:
                    logger.exception("redacting %s of request %s failed; not stored", name, row.get("request_id"))
                    out[name] = REDACTION_FAILED
        return out


REQUEST_LOG = RequestLog()


class Gateway:
    """Checks the body size and the API key (when configured) and logs each API request; health and metrics stay
    open. The body is read (at most `max_request_bytes`, else 413 before anything parses it) and handed on whole."""

    def __init__(
        self,
        app: ASGIApp,
        api_key: str | None = None,
        request_log: RequestLog = REQUEST_LOG,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    ) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.log = request_log
        self.max_request_bytes = max_request_bytes

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

        details: dict[str, Any] = {}
        try:
            if _content_length(headers) > self.max_request_bytes:
                arrival = "too large"  # refused unread
            else:
                arrival = await _read_body(receive, body, self.max_request_bytes)
            if arrival == "too large":
                await _json_response(
                    send_with_id,
                    413,
                    {"error": "request body too large", "detail": f"the limit is {self.max_request_bytes} bytes"},
                )
            elif arrival == "disconnected":
                status["code"] = CLIENT_CLOSED
                details["error"] = "client disconnected before sending the whole body"
            elif self.api_key is not None and not self._authorised(headers):
                await _json_response(
                    send_with_id,
                    401,
                    {
                        "error": "unauthorized",
                        "detail": f"missing or wrong API key (send it in the {API_KEY_HEADER} header "
                        "or as a Bearer token)",
                    },
                )
            else:
                await self.app(scope, _replay(body, receive), send_with_id)
        except asyncio.CancelledError:  # serving.request_timeout_s ran out (BentoML answers 504)
            if endpoint:
                self._record(endpoint, request_id, arrived, started, 504, body, {"error": "timeout: request cancelled"})
            raise
        except Exception as exc:
            if endpoint:
                self._record(endpoint, request_id, arrived, started, status["code"], body, {"error": repr(exc)})
            raise
        if endpoint:
            details = {**self.log.pop(request_id), **details}
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
        """Hand one row to the log; whatever goes wrong building it, a row with the error still goes."""
        try:
            row = self._row(endpoint, request_id, arrived, started, code, body, details)
        except Exception as exc:  # e.g. a body nested too deep for json (RecursionError): log the request anyway
            row = self._row(endpoint, request_id, arrived, started, code, b"", {"error": f"logging failed: {exc!r}"})
        self.log.record(row)

    def _row(
        self,
        endpoint: str,
        request_id: str,
        arrived: datetime,
        started: float,
        code: int,
        body: bytes | bytearray,
        details: dict[str, Any],
    ) -> dict[str, Any]:
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
        if isinstance(row["error"], str):
            row["error"] = row["error"][:MAX_ERROR_CHARS]
        return row


def _query_from(body: bytes | bytearray, limit: int) -> str | None:
    """The query field of a JSON body; the body's start as text when it is not JSON (or nested too deep to parse)."""
    try:
        payload = json.loads(body or b"null")
        if isinstance(payload, dict):
            for name in QUERY_FIELDS:
                if name in payload:
                    value = payload[name]
                    return (value if isinstance(value, str) else json.dumps(value))[:limit]
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return bytes(body[: limit * 4]).decode("utf-8", "replace")[:limit] or None
    return None


def _content_length(headers: list[tuple[bytes, bytes]]) -> int:
    """The declared body size; 0 when absent (chunked) or unreadable (the server refuses those itself)."""
    for key, value in headers:
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _read_body(receive: Callable[[], Awaitable[Message]], body: bytearray, limit: int) -> str:
    """Read the whole body into `body`: "complete", or "too large" as soon as it passes `limit` (what arrived so far is
    kept), or "disconnected"."""
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            return "disconnected"
        body.extend(message.get("body", b""))
        if len(body) > limit:
            return "too large"
        if not message.get("more_body"):
            return "complete"


def _replay(body: bytearray, receive: Callable[[], Awaitable[Message]]) -> Callable[[], Awaitable[Message]]:
    """A `receive` that hands the app the body already read, then passes on what follows (a disconnect)."""
    pending = [{"type": "http.request", "body": bytes(body), "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _error_from(code: int) -> str:
    return {
        400: "invalid input",
        401: "unauthorized",
        404: "not found",
        413: "request body too large",
        422: "invalid input",
        504: "timeout",
    }.get(code, f"HTTP {code}")


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
