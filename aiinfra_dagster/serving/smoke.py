"""The smoke check a deployment must pass: ready, and a sample question answered with citations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from aiinfra_dagster.serving.gateway import API_KEY_HEADER
from aiinfra_dagster.settings import ServingSettings


@dataclass(frozen=True)
class SmokeResult:
    ready: bool
    status_code: int
    answer: str
    citations: list[str]
    index_version: str | None
    error: str | None

    @property
    def passed(self) -> bool:
        return self.ready and self.status_code == 200 and self.error is None


def auth_headers(serving: ServingSettings) -> dict[str, str]:
    return {API_KEY_HEADER: serving.api_key.get_secret_value()} if serving.api_key else {}


def smoke_check(url: str, serving: ServingSettings, timeout_s: float | None = None) -> SmokeResult:
    timeout = timeout_s or float(serving.request_timeout_s)
    with httpx.Client(timeout=timeout) as client:
        try:
            ready = client.get(f"{url}/readyz").status_code == 200
            response = client.post(
                f"{url}/ask", json={"question": serving.sample_question}, headers=auth_headers(serving)
            )
        except httpx.HTTPError as exc:
            return SmokeResult(False, 0, "", [], None, f"{type(exc).__name__}: {exc}")
    body: dict[str, Any] = (
        response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    )
    error = None if response.status_code == 200 else f"/ask returned {response.status_code}: {response.text[:300]}"
    if error is None and not isinstance(body.get("answer"), str):
        error = "/ask returned no answer field"
    return SmokeResult(
        ready,
        response.status_code,
        body.get("answer", ""),
        list(body.get("citations", [])),
        body.get("index_version"),
        error,
    )
