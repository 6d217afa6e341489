"""`aiinfra init` writes settings from what a folder holds; `aiinfra check` dry-runs them, per format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from aiinfra_dagster.cli import main
from aiinfra_dagster.settings import load_settings
from tests.helpers import write_files

PROSE = (
    "The {topic} service keeps the {thing} consistent across regions. To restart the {thing}, run the restart "
    "job from the operations console and watch the dashboard. The job drains traffic before it stops anything."
)
FOLDER = {
    "deploy/rollout.md": "# Rollout\n\n## Canary\n\n" + PROSE.format(topic="rollout", thing="canary fleet") + "\n",
    "deploy/rollback.md": "# Rollback\n\n## Steps\n\n" + PROSE.format(topic="rollback", thing="release train") + "\n",
    "security/keys.txt": "KEY ROTATION\n\n       " + PROSE.format(topic="key", thing="signing keys") + "\n",
    "security/vault.md": "# Vault\n\n" + PROSE.format(topic="vault", thing="secret store") + "\n",
    "security/logo.md": b"\x89PNG\r\n\x1a\n" + bytes(300),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_files(tmp_path / "docs", FOLDER)


def test_init_writes_starter_settings_from_the_folder(folder: Path, tmp_path: Path, capsys) -> None:
    golden = tmp_path / "golden.jsonl"
    golden.write_text(
        json.dumps(
            {
                "question": "How do I restart the canary fleet?",
                "answer": "To restart the canary fleet, run the restart job",
                "source": "deploy/rollout.md",
            }
        )
        + "\n"
    )
    out = tmp_path / "aiinfra.yaml"
    assert main(["init", str(folder), "--golden", str(golden), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "5 documents (binary 1, markdown 3, text 1)" in printed and "aiinfra check" in printed
    text = out.read_text()
    assert "# Found:" in text and "Label classes: suggested from sub-folder names" in text
    data = yaml.safe_load(text)
    assert data["sources"][0]["path"] == str(folder.resolve()) and data["sources"][0]["kind"] == "directory"
    assert data["labels"]["classes"] == ["Security", "Deploy"] and data["labels"]["reference"] == "none"
    assert data["golden"] == {"kind": "files", "paths": [str(golden.resolve())]}
    settings = load_settings(out)  # what init writes is valid settings
    assert settings.labels.keyword_functions["Security"] == ["security"]
    # It never overwrites a file it did not write this time.
    assert main(["init", str(folder), "--output", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


def test_check_reports_per_format_and_names_problems(folder: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "aiinfra.yaml"
    assert main(["init", str(folder), "--output", str(out)]) == 0
    capsys.readouterr()
    code = main(["check", "--config", str(out)])
    report = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in report.splitlines() if line[:1].isalpha() and "  " in line}
    assert lines["markdown"][1:4] == ["3", "0", "3"]  # documents, quarantined, sections
    assert lines["binary"][1:3] == ["1", "1"]  # the PNG would be quarantined
    assert lines["text"][1:4] == ["1", "0", "1"]  # the capitalised heading is a section
    assert "parses" in report and "PNG image" in report
    assert "template Q/A filters:" in report
    # init wrote no golden set: the check says so and which setting to change, and fails.
    assert code == 1 and "PROBLEM: The golden set is empty" in report and "golden.paths" in report


def test_init_suggests_titles_of_a_few_flat_documents_and_says_when_it_has_nothing(tmp_path: Path) -> None:
    from aiinfra_dagster.onboarding.init import scan_folder, suggest_classes

    flat = write_files(
        tmp_path / "flat",
        {f"{t.lower()}.md": f"# {t}\n\n{PROSE.format(topic=t, thing='queue')}\n" for t in ("Billing", "Search")},
    )
    assert suggest_classes([scan_folder(flat)]) == (
        ["Billing", "Search"],
        "document titles (few documents: one class per document)",
    )
    single = write_files(tmp_path / "single", {"only.md": "# Only\n\nOne document about one thing only.\n"})
    classes, origin = suggest_classes([scan_folder(single)])
    assert classes == [] and "set labels.classes yourself" in origin
