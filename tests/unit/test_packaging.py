"""The wheel installs the top-level folders under aiinfra_dagster and claims no generic names."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAPPED = {
    "assets": "aiinfra_dagster/assets",
    "resources": "aiinfra_dagster/resources",
    "sensors": "aiinfra_dagster/sensors",
}


def test_wheel_maps_top_level_folders_under_the_namespace(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel = next(tmp_path.glob("aiinfra_dagster-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top_level == {"aiinfra_dagster"}

    expected, data = set(), set()
    for folder, target in {"aiinfra_dagster": "aiinfra_dagster", **MAPPED}.items():
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                name = f"{target}/{path.relative_to(REPO / folder).as_posix()}"
                (expected if path.suffix == ".py" else data).add(name)
    missing = sorted(expected - names)
    assert not missing, f"not in the wheel (add the package to [tool.setuptools] packages): {missing}"
    # Package data read at run time (e.g. monitoring/data/shifted_questions.txt via importlib.resources).
    assert "aiinfra_dagster/monitoring/data/shifted_questions.txt" in data
    missing_data = sorted(data - names)
    assert not missing_data, f"not in the wheel (add it to [tool.setuptools.package-data]): {missing_data}"
