"""The code location loads the same way through every entry point, and its lineage is snapshotted.

Set UPDATE_SNAPSHOTS=1 to rewrite tests/snapshots/asset_specs.json after an intended change;
the diff then shows the lineage change in review.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from aiinfra_dagster.definitions import build_definitions
from aiinfra_dagster.instance import write_instance_yaml
from aiinfra_dagster.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT = REPO / "tests" / "snapshots" / "asset_specs.json"
BIN = Path(sys.executable).parent


def spec_snapshot(defs: dg.Definitions) -> dict[str, dict]:
    graph = defs.resolve_asset_graph()
    checks_by_asset: dict[str, list[dict]] = {}
    for check_key in graph.asset_check_keys:
        node = graph.get_check_spec(check_key)
        checks_by_asset.setdefault(check_key.asset_key.to_user_string(), []).append(
            {"name": check_key.name, "blocking": node.blocking}
        )
    snapshot = {}
    for spec in defs.resolve_all_asset_specs():
        key = spec.key.to_user_string()
        snapshot[key] = {
            "group": spec.group_name,
            "deps": sorted(d.asset_key.to_user_string() for d in spec.deps),
            "kinds": sorted(spec.kinds),
            "owners": sorted(spec.owners),
            "tags": dict(sorted((k, v) for k, v in spec.tags.items() if not k.startswith("dagster/kind/"))),
            "description": bool(spec.description),
            "checks": sorted(checks_by_asset.get(key, []), key=lambda c: c["name"]),
            "automation": str(spec.automation_condition.get_label() or type(spec.automation_condition).__name__)
            if spec.automation_condition
            else None,
        }
    return dict(sorted(snapshot.items()))


def test_asset_specs_match_snapshot(tmp_path):
    snapshot = spec_snapshot(build_definitions(load_settings(None, profile="quick")))
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(snapshot, indent=2) + "\n")
    assert snapshot == json.loads(SNAPSHOT.read_text()), (
        "asset lineage changed: rerun with UPDATE_SNAPSHOTS=1 and review"
    )


def test_every_asset_is_documented_owned_grouped_and_checked():
    defs = build_definitions(load_settings(None, profile="quick"))
    for key, spec in spec_snapshot(defs).items():
        assert spec["group"] and spec["group"] != "default", key
        assert spec["owners"] and spec["kinds"] and spec["description"], key
    checked = {k for k, s in spec_snapshot(defs).items() if s["checks"]}
    assert {"raw_documents", "validated_documents", "document_chunks", "golden_qa"} <= checked


def test_golden_set_feeds_no_training_asset():
    """golden_qa reaches the synthetic/training side only through decontamination, which a blocking check guards."""
    snapshot = spec_snapshot(build_definitions(load_settings(None, profile="quick")))
    children = {key for key, spec in snapshot.items() if "golden_qa" in spec["deps"]}
    training_side = {key for key in children if snapshot[key]["group"] in {"synthetic", "training"}}
    assert training_side <= {"synthetic_qa"}, training_side
    assert "training_set_decontaminated" in {c["name"] for c in snapshot["training_set"]["checks"] if c["blocking"]}


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIINFRA_PROFILE": "quick", "DAGSTER_HOME": str(cwd / "dagster_home")}
    write_instance_yaml(cwd / "dagster_home")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_all_entry_points_load_the_same_definitions(tmp_path):
    expected = spec_snapshot(build_definitions(load_settings(None, profile="quick")))
    validated = _run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], tmp_path)
    assert "aiinfra_dagster" in validated.stdout + validated.stderr
    listed = json.loads(_run([str(BIN / "dg"), "list", "defs", "--json"], tmp_path).stdout)
    from_dg = {
        a["asset_key"]: {"group": a["group_name"], "deps": sorted(a["dependency_keys"]), "kinds": sorted(a["kinds"])}
        for a in listed["assets"]
    }
    assert from_dg == {k: {"group": v["group"], "deps": v["deps"], "kinds": v["kinds"]} for k, v in expected.items()}
    assert {c["name"] for c in listed["asset_checks"]} == {c["name"] for v in expected.values() for c in v["checks"]}
    assert "main" in {j["name"] for j in listed["jobs"]}
    _run([str(BIN / "dg"), "check", "defs"], tmp_path)
