"""`bentoml serve` as a managed background process on loopback.

One server per storage home: its pid file and state JSON live in
`<storage.home>/serving/`.  The server runs in its own session, so it outlives
the Dagster run that started it and is stopped as a process group.  Only a
process this module started is ever signalled: its pid must be alive and its
command line must be the recorded `bentoml serve <tag>`.

Replacing a Bento stops the old server and starts the new one on the same port
(the URL stays stable); the downtime is the new server's start-up time, and if
the new Bento never becomes ready the old one is started again.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from aiinfra_dagster.atomic import write_text_atomic
from aiinfra_dagster.net import free_port
from aiinfra_dagster.serving.bento import bentoml_env, thread_env
from aiinfra_dagster.settings import ServingSettings, StorageSettings, get_settings
from aiinfra_dagster.settings.secrets import Secrets, is_secret_env, secret_environment

STOP_TIMEOUT_S = 30.0
STATE_FILE = "server.json"
PID_FILE = "server.pid"


class ServerError(RuntimeError):
    """The server did not start or become ready; the message carries the end of its log."""


@dataclass(frozen=True)
class ServerState:
    pid: int
    host: str
    port: int
    bento_tag: str
    started_at: str
    log_path: str

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class Deployment:
    state: ServerState
    action: str  # started | replaced | unchanged
    previous_tag: str | None
    downtime_s: float
    ready_s: float


def serving_dir(storage: StorageSettings) -> Path:
    path = storage.serving_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_state(storage: StorageSettings) -> ServerState | None:
    path = serving_dir(storage) / STATE_FILE
    if not path.is_file():
        return None
    try:
        return ServerState(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:  # written in place by an older version and cut short
        raise ServerError(
            f"{path} is unreadable ({exc}): if the server it recorded still runs (pid in {path.with_name(PID_FILE)}), "
            f"stop it, then delete {path}"
        ) from None


def _write_state(storage: StorageSettings, state: ServerState | None) -> None:
    """Record (or forget) the running server; each file is replaced whole, so a crash leaves the old state."""
    directory = serving_dir(storage)
    if state is None:
        (directory / STATE_FILE).unlink(missing_ok=True)
        (directory / PID_FILE).unlink(missing_ok=True)
        return
    write_text_atomic(directory / STATE_FILE, json.dumps(asdict(state), indent=2))
    write_text_atomic(directory / PID_FILE, f"{state.pid}\n")


def is_running(state: ServerState) -> bool:
    """The recorded process is alive (not a zombie) and is our `bentoml serve <tag>`."""
    proc = Path(f"/proc/{state.pid}")
    try:
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        status = (proc / "status").read_text()
    except OSError:
        return _alive_without_proc(state.pid)
    if "\nState:\tZ" in status:
        return False
    return b"serve" in cmdline and state.bento_tag.encode() in cmdline


def _alive_without_proc(pid: int) -> bool:
    if Path("/proc").is_dir():
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def running_server(storage: StorageSettings) -> ServerState | None:
    state = read_state(storage)
    return state if state is not None and is_running(state) else None


def start(
    bento_tag: str,
    port: int | None = None,
    *,
    storage: StorageSettings,
    serving: ServingSettings,
    secrets: Secrets,
) -> ServerState:
    """Start `bentoml serve <bento_tag>` detached and wait until /readyz answers 200."""
    port = port or serving.port or free_port()
    directory = serving_dir(storage)
    log_path = directory / "logs" / f"{bento_tag.replace(':', '-')}-{int(time.time())}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "bentoml", "serve", bento_tag, "--host", serving.host, "--port", str(port)]
    with log_path.open("ab") as log:
        env = {k: v for k, v in bentoml_env(storage).items() if not is_secret_env(k)}
        env |= thread_env(serving) | secret_environment(secrets)
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=directory,
            start_new_session=True,
        )
    state = ServerState(proc.pid, serving.host, port, bento_tag, datetime.now(UTC).isoformat(), str(log_path))
    _write_state(storage, state)
    try:
        wait_ready(state, serving.ready_timeout_s, proc)
    except ServerError:
        stop(storage, state)
        raise
    return state


def wait_ready(state: ServerState, timeout_s: float, proc: subprocess.Popen | None = None) -> float:
    """Poll /readyz until 200 (seconds waited), or raise ServerError at the deadline or if the server exits."""
    started = time.monotonic()
    deadline = started + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if (proc is not None and proc.poll() is not None) or not is_running(state):
                raise ServerError(
                    f"bentoml serve {state.bento_tag} exited before it was ready:\n{_tail(state.log_path)}"
                )
            try:
                if client.get(f"{state.url}/readyz").status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
    raise ServerError(
        f"bentoml serve {state.bento_tag} not ready after {timeout_s}s at {state.url}:\n{_tail(state.log_path)}"
    )


def stop(storage: StorageSettings, state: ServerState | None = None, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """SIGTERM the server's process group (graceful: the inference log is flushed), SIGKILL at the deadline."""
    state = state or read_state(storage)
    if state is None:
        return False
    stopped = _terminate(state, timeout_s)
    current = read_state(storage)
    if current is not None and current.pid == state.pid:
        _write_state(storage, None)
    return stopped


def stop_all_under(root: Path) -> list[ServerState]:
    """Stop every server whose state file lies under `root` (a test's tmp dir); the ones stopped.

    For test teardown: a run of the main job leaves its Bento serving, by design.
    """
    stopped = []
    for path in sorted(Path(root).glob("**/serving/server.json")):
        state = ServerState(**json.loads(path.read_text()))
        if _terminate(state, STOP_TIMEOUT_S):
            stopped.append(state)
        path.unlink(missing_ok=True)
        (path.parent / "server.pid").unlink(missing_ok=True)
    return stopped


@contextmanager
def deployment_lock(storage: StorageSettings, timeout_s: float) -> Iterator[None]:
    """One deployment at a time per serving directory (an exclusive `flock`, released if the holder dies): two runs
    replacing the server at once would each stop what the other started."""
    path = serving_dir(storage) / "deploy.lock"
    with path.open("a+") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ServerError(
                        f"another deployment holds {path} for more than {timeout_s:.0f} s; run again when it ends"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def deploy(bento_tag: str, *, storage: StorageSettings, serving: ServingSettings, secrets: Secrets) -> Deployment:
    """Serve `bento_tag`: start it, keep it when it already runs, or replace the running Bento.

    `storage` says where the server's state lives, `serving` how it is served; the `secrets` (API keys, storage
    options) reach the server through its environment, never the Bento. Deployments are serialised.
    """
    with deployment_lock(storage, timeout_s=2 * serving.ready_timeout_s):
        return _deploy(bento_tag, storage=storage, serving=serving, secrets=secrets)


def _deploy(bento_tag: str, *, storage: StorageSettings, serving: ServingSettings, secrets: Secrets) -> Deployment:
    current = running_server(storage)
    if current is not None and current.bento_tag == bento_tag:
        ready = wait_ready(current, serving.ready_timeout_s)
        return Deployment(current, "unchanged", bento_tag, 0.0, ready)
    port = serving.port or (current.port if current else free_port())
    down_since = time.monotonic()
    if current is not None:
        stop(storage, current)
    try:
        state = start(bento_tag, port, storage=storage, serving=serving, secrets=secrets)
    except ServerError:
        if current is not None:  # roll back to what was serving
            start(current.bento_tag, port, storage=storage, serving=serving, secrets=secrets)
        raise
    downtime = time.monotonic() - down_since if current is not None else 0.0
    return Deployment(
        state,
        "replaced" if current else "started",
        current.bento_tag if current else None,
        downtime,
        time.monotonic() - down_since,
    )


def _terminate(state: ServerState, timeout_s: float) -> bool:
    """SIGTERM the group, SIGKILL at the deadline; False when it was not running."""
    if not is_running(state):
        return False
    _signal_group(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and is_running(state):
        _reap(state.pid)
        time.sleep(0.1)
    if is_running(state):
        _signal_group(state.pid, signal.SIGKILL)
    _reap(state.pid)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # the server leads its own session: pgid == pid
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _tail(path: str, lines: int = 40) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def main(argv: list[str] | None = None) -> int:
    """`python -m aiinfra_dagster.serving.process status|stop`: the server of the configured storage home."""
    parser = argparse.ArgumentParser(prog="python -m aiinfra_dagster.serving.process", description=main.__doc__)
    parser.add_argument("command", choices=["status", "stop"])
    args = parser.parse_args(argv)
    storage = get_settings().storage
    state = running_server(storage)
    if args.command == "status":
        print(
            f"serving {state.bento_tag} at {state.url} (pid {state.pid}, log {state.log_path})"
            if state
            else "not serving"
        )
        return 0 if state else 1
    print(f"stopped {state.bento_tag} (pid {state.pid})" if stop(storage, state) and state else "not serving")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
