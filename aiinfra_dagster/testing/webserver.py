"""Run a real ``dagster-webserver`` subprocess for tests and scripts.

Usage::

    write_instance_yaml(dagster_home)
    with running_webserver(repo / "workspace.yaml", dagster_home=dagster_home) as base_url:
        ...  # base_url is e.g. "http://127.0.0.1:40123"

The server is started as ``<sys.executable> -m dagster_webserver -w <workspace> -h <host> -p <port>``
with ``DAGSTER_HOME`` set; the context manager only yields once every code location of the
workspace has loaded without error, and stops the process (by its own PID) on exit.
Only the standard library is used for HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiinfra_dagster.instance import write_instance_yaml
from aiinfra_dagster.net import free_port

__all__ = [
    "WebserverError",
    "free_port",
    "graphql",
    "running_webserver",
    "webserver_command",
    "write_instance_yaml",
]

LOG_FILENAME = "webserver.log"
_LOG_TAIL_CHARS = 6000
_POLL_INTERVAL = 0.5
_TERMINATE_GRACE = 10.0

_WORKSPACE_QUERY = """
query AiinfraWorkspaceLoadStatus {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""


class WebserverError(RuntimeError):
    """The webserver did not start, exited early, or its code location failed to load."""


def webserver_command(workspace: Path, *, host: str, port: int) -> list[str]:
    """The command line used by :func:`running_webserver`."""
    return [sys.executable, "-m", "dagster_webserver", "-w", str(workspace), "-h", host, "-p", str(port)]


def _log_tail(log_path: Path) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<could not read {log_path}: {exc}>"
    return text[-_LOG_TAIL_CHARS:] if text else "<empty log>"


def _http_get(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local URL only
        return bytes(response.read())


def graphql(
    base_url: str, query: str, variables: Mapping[str, Any] | None = None, *, timeout: float = 30
) -> dict[str, Any]:
    """POST ``query`` to ``<base_url>/graphql`` and return the decoded JSON response (``data``/``errors``)."""
    body: dict[str, Any] = {"query": query}
    if variables:
        body["variables"] = dict(variables)
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local URL only
        payload = json.loads(response.read().decode("utf-8"))
    if not isinstance(payload, dict):
        raise ValueError(f"unexpected GraphQL response: {payload!r}")
    return payload


def _location_status(base_url: str) -> tuple[bool, str | None]:
    """Return ``(all_loaded, error)`` for the workspace's code locations."""
    payload = graphql(base_url, _WORKSPACE_QUERY, timeout=10)
    if payload.get("errors"):
        return False, f"GraphQL errors: {payload['errors']}"
    workspace = (payload.get("data") or {}).get("workspaceOrError") or {}
    if workspace.get("__typename") != "Workspace":
        return False, f"workspaceOrError returned {workspace.get('__typename')}: {workspace.get('message')}"
    entries = workspace.get("locationEntries") or []
    if not entries:
        return False, None
    errors: list[str] = []
    all_loaded = True
    for entry in entries:
        if entry.get("loadStatus") != "LOADED":
            all_loaded = False
            continue
        location = entry.get("locationOrLoadError") or {}
        if location.get("__typename") == "PythonError":
            errors.append(f"code location {entry.get('name')!r} failed to load: {location.get('message')}")
        elif location.get("__typename") != "RepositoryLocation":
            all_loaded = False
    if errors:
        return False, "\n".join(errors)
    return all_loaded, None


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=_TERMINATE_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=_TERMINATE_GRACE)


@contextmanager
def running_webserver(
    workspace: Path,
    *,
    dagster_home: Path,
    env: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float = 180,
) -> Iterator[str]:
    """Start ``dagster-webserver`` on ``workspace`` and yield its base URL once every location loaded.

    ``env`` is merged over ``os.environ``; ``DAGSTER_HOME`` is set to ``dagster_home`` (created if
    missing). Output goes to ``<dagster_home>/webserver.log``. Raises :class:`WebserverError` with
    the tail of that log when the process exits, a code location fails to load, or ``timeout``
    seconds pass.
    """
    workspace = Path(workspace).resolve()
    dagster_home = Path(dagster_home).resolve()
    if not workspace.is_file():
        raise FileNotFoundError(f"workspace file not found: {workspace}")
    dagster_home.mkdir(parents=True, exist_ok=True)
    port = free_port() if port is None else port
    base_url = f"http://{host}:{port}"
    log_path = dagster_home / LOG_FILENAME

    child_env = dict(os.environ)
    if env:
        child_env.update(env)
    child_env["DAGSTER_HOME"] = str(dagster_home)

    command = webserver_command(workspace, host=host, port=port)
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command,
            cwd=workspace.parent,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        last_problem = "no answer yet"
        while True:
            returncode = process.poll()
            if returncode is not None:
                raise WebserverError(
                    f"dagster-webserver exited with code {returncode} before it was ready "
                    f"(command: {' '.join(command)}).\nLog tail ({log_path}):\n{_log_tail(log_path)}"
                )
            try:
                _http_get(f"{base_url}/server_info", timeout=5)
                loaded, error = _location_status(base_url)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
            else:
                if error is not None:
                    raise WebserverError(f"{error}\nLog tail ({log_path}):\n{_log_tail(log_path)}")
                if loaded:
                    break
                last_problem = "code location still loading"
            if time.monotonic() >= deadline:
                raise WebserverError(
                    f"dagster-webserver at {base_url} not ready after {timeout:.0f} s ({last_problem}).\n"
                    f"Log tail ({log_path}):\n{_log_tail(log_path)}"
                )
            time.sleep(_POLL_INTERVAL)
        yield base_url
    finally:
        _stop(process)
