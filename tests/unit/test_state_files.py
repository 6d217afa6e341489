"""State files a later run reads back are replaced whole: a write cut short leaves the previous file (or none).

The write is cut short for real: a child process lowers RLIMIT_FSIZE below the new content's size (and ignores
SIGXFSZ), so the kernel refuses the write midway with EFBIG, as a full disk would. Written in place, the file is
then truncated to the limit; written through `aiinfra_dagster.atomic`, only a temporary was, and it is gone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aiinfra_dagster.serving.process import ServerError, ServerState, _write_state, deployment_lock, read_state
from aiinfra_dagster.settings import Settings

LIMIT_BYTES = 120  # below every payload written under the limit, above nothing that matters

CUT_SHORT = """
import errno, json, resource, signal, sys


def cut_short(write, *args, **kwargs):
    '''Call `write` with files limited to {limit} bytes; the errno it failed with, or None.'''
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, hard))
    try:
        write(*args, **kwargs)
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    return None
"""


def run_child(body: str) -> dict:
    """Run `body` (which may call `cut_short(...)`) in a fresh interpreter; what it printed last, as JSON."""
    script = textwrap.dedent(CUT_SHORT.format(limit=LIMIT_BYTES)) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_a_server_state_write_cut_short_leaves_the_previous_state_readable(make_settings, tmp_path):
    settings: Settings = make_settings()
    old = ServerState(4242, "127.0.0.1", 3100, "aiinfra-docs-assistant:old", "2026-12-01T00:00:00+00:00", "/l.log")
    _write_state(settings.storage, old)
    directory = settings.storage.serving_dir
    before = {p.name: p.read_bytes() for p in directory.iterdir()}

    failed = run_child(
        f"""
        from aiinfra_dagster.serving.process import ServerState, _write_state
        from aiinfra_dagster.settings import load_settings

        storage = load_settings(None, profile="quick", storage={{"home": {str(settings.storage.home)!r}}}).storage
        new = ServerState(5151, "127.0.0.1", 3100, "aiinfra-docs-assistant:new", "2026-12-02T00:00:00+00:00",
                          "/logs/" + "x" * 400 + ".log")
        print(json.dumps({{"errno": cut_short(_write_state, storage, new)}}))
        """
    )
    assert failed == {"errno": "EFBIG"}  # the write really failed midway
    assert read_state(settings.storage) == old  # the previous state, whole; a later run can still stop that server
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before  # server.pid too, and no temporary


def test_a_half_written_server_state_is_an_error_naming_the_file(make_settings):
    settings: Settings = make_settings()
    path = settings.storage.serving_dir / "server.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"pid": 4242, "host": "127.0.0.1", "po')  # what writing in place left behind before
    with pytest.raises(ServerError, match=r"server\.json is unreadable .*stop it, then delete"):
        read_state(settings.storage)
    path.unlink()  # as the message says (the teardown's stop_all_under reads every server.json under tmp_path)


def test_classifier_metrics_cut_short_never_mark_a_directory_trained(tmp_path):
    fresh, retrained = tmp_path / "fresh", tmp_path / "retrained"
    outcome = run_child(
        f"""
        import time
        from pathlib import Path

        from aiinfra_dagster.training.classifier import ClassifierResult, _finish

        def result(out, accuracy, note):
            return ClassifierResult(
                output_dir=out, classes=["a", "b"], accuracy=accuracy, macro_f1=accuracy, agreement_with_labels=1.0,
                label_model_accuracy=0.5, label_model_macro_f1=0.5, per_class=[{{"class": "a", "note": note}}],
                history=[], train_examples=10, eval_examples=4, wall_seconds=0.0, train_seconds=1.0,
                train_tokens_per_second=100.0, size_bytes=0,
            )

        fresh, retrained = Path({str(fresh)!r}), Path({str(retrained)!r})
        for out in (fresh, retrained):
            out.mkdir()
            (out / "config.json").write_text("{{}}")  # the model, saved before metrics.json
        _finish(result(retrained, 0.25, "old"), time.perf_counter())  # an earlier training of this directory
        print(json.dumps({{
            "fresh": cut_short(_finish, result(fresh, 0.75, "x" * 400), time.perf_counter()),
            "retrained": cut_short(_finish, result(retrained, 0.75, "x" * 400), time.perf_counter()),
        }}))
        """
    )
    assert outcome == {"fresh": "EFBIG", "retrained": "EFBIG"}
    # metrics.json is the "trained" marker (fit_topic_classifier reuses a directory that has one): a write cut short
    # leaves none, so the next run trains again instead of failing forever on a half file.
    assert not (fresh / "metrics.json").exists()
    assert leftovers(fresh, keep=set()) == ["config.json"]
    # A directory trained before keeps its previous, readable metrics.
    from aiinfra_dagster.training.classifier import load_classifier_result  # local import: torch, only needed here

    previous = load_classifier_result(retrained)
    assert previous.accuracy == 0.25 and previous.per_class == [{"class": "a", "note": "old"}]
    assert leftovers(retrained, keep=set()) == ["config.json", "metrics.json"]


def test_a_second_deployment_waits_for_the_first_and_gives_up_with_a_reason(make_settings):
    """Two runs deploying at once would each stop the server the other started: the lock serialises them."""
    storage = make_settings().storage
    done = Path(storage.home) / "holder-done"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from aiinfra_dagster.serving.process import deployment_lock\n"
            "from aiinfra_dagster.settings import StorageSettings\n"
            "storage = StorageSettings.model_validate_json(sys.argv[1])\n"
            "with deployment_lock(storage, timeout_s=5):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(3)\n"
            "    open(sys.argv[2], 'w').close()\n",
            storage.model_dump_json(),
            str(done),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ServerError, match="another deployment holds"):
            with deployment_lock(storage, timeout_s=0.5):
                pass
        with deployment_lock(storage, timeout_s=30):  # waits until the holder is done, then goes ahead
            assert done.exists()
    finally:
        holder.kill()
        holder.wait()
