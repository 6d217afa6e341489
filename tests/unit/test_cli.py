"""The `aiinfra` command: effective settings and clear errors."""

import yaml

from aiinfra_dagster.cli import main


def test_settings_prints_effective_values(tmp_path, monkeypatch, capsys):
    path = tmp_path / "aiinfra.yaml"
    path.write_text("profile: quick\n")
    monkeypatch.setenv("AIINFRA_QDRANT__URL", "http://qdrant:6333")
    assert main(["settings", "--config", str(path)]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["profile"] == "quick" and shown["qdrant"]["url"] == "http://qdrant:6333"


def test_settings_error_names_the_field_and_exits_2(tmp_path, capsys):
    path = tmp_path / "aiinfra.yaml"
    path.write_text("chunking: {max_tokens: lots}\n")
    assert main(["settings", "--config", str(path)]) == 2
    assert "chunking.max_tokens" in capsys.readouterr().err


def test_instance_writes_telemetry_off(tmp_path, capsys):
    assert main(["instance", str(tmp_path / "home")]) == 0
    config = yaml.safe_load((tmp_path / "home" / "dagster.yaml").read_text())
    assert config["telemetry"] == {"enabled": False}
