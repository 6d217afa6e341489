from pathlib import Path

import pytest

from aiinfra_dagster.settings import PROFILES, Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("AIINFRA_"):
            monkeypatch.delenv(key)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aiinfra.yaml"
    path.write_text(text)
    return path


def test_repo_settings_file_loads_every_profile(monkeypatch):
    for profile in PROFILES:
        monkeypatch.setenv("AIINFRA_PROFILE", profile)
        settings = load_settings(REPO / "aiinfra.yaml")
        assert settings.profile == profile
    assert load_settings(REPO / "aiinfra.yaml", profile="quick").sources[1].max_documents == 30


def test_profiles_change_sizes(tmp_path):
    path = write(tmp_path, "profile: quick\n")
    quick = load_settings(path)
    full = load_settings(path, profile="full")
    assert quick.chunking.max_tokens < full.chunking.max_tokens
    assert full.k8s.enabled and not quick.k8s.enabled


def test_precedence_preset_file_profile_section_env(tmp_path, monkeypatch):
    path = write(
        tmp_path,
        "profile: quick\nchunking: {max_tokens: 100}\nprofiles:\n  quick: {chunking: {min_tokens: 3}}\n",
    )
    s = load_settings(path)
    assert (s.chunking.max_tokens, s.chunking.min_tokens) == (100, 3)
    assert s.chunking.dedup_num_perm == 64  # from the quick preset
    monkeypatch.setenv("AIINFRA_CHUNKING__MAX_TOKENS", "77")
    monkeypatch.setenv("AIINFRA_QDRANT__URL", "http://qdrant:6333")
    s = load_settings(path)
    assert s.chunking.max_tokens == 77 and s.chunking.min_tokens == 3
    assert s.qdrant.url == "http://qdrant:6333"


def test_config_path_from_env(tmp_path, monkeypatch):
    path = write(tmp_path, "storage: {root: s3://bucket/lake}\n")
    monkeypatch.setenv("AIINFRA_CONFIG", str(path))
    assert load_settings().storage.lake_root == "s3://bucket/lake"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("chunking: {max_tokens: many}\n", "chunking.max_tokens"),
        ("validation: {max_control_char_ratio: 2}\n", "validation.max_control_char_ratio"),
        ("sources: [{name: x, kind: directory}]\n", "sources.0"),
        ("storage: {rooot: /tmp}\n", "storage.rooot"),
        ("models: {embedding: {source: hub}}\n", "models.embedding"),
        ("chunking: {max_tokens: 20, min_tokens: 30}\n", "chunking"),
    ],
)
def test_invalid_settings_name_the_field(tmp_path, text, field):
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, text))
    assert field in str(err.value)


def test_invalid_env_value_names_the_field(tmp_path, monkeypatch):
    monkeypatch.setenv("AIINFRA_VALIDATION__MIN_CHARS", "-5")
    with pytest.raises(SettingsError, match="validation.min_chars"):
        load_settings(write(tmp_path, ""))


def test_env_value_that_is_not_json_gives_a_settings_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AIINFRA_SOURCES", "not json")
    with pytest.raises(SettingsError, match="sources"):
        load_settings(write(tmp_path, "profile: quick\n"))


def test_a_settings_error_never_prints_a_secret(tmp_path, monkeypatch):
    """A section-level rule fails with the whole section as input: the message names it without its values."""
    monkeypatch.setenv("AIINFRA_SERVING__API_KEY", "SUPERSECRET123")
    monkeypatch.setenv("AIINFRA_SERVING__TOP_K", "50")
    with pytest.raises(SettingsError, match="serving.top_k must not exceed") as err:
        load_settings(write(tmp_path, ""))
    assert "SUPERSECRET123" not in str(err.value)
    monkeypatch.setenv("AIINFRA_SERVING__TOP_K", "3")
    monkeypatch.setenv("AIINFRA_SERVING__REQUEST_TIMEOUT_S", "-1")
    with pytest.raises(SettingsError, match=r"serving.request_timeout_s: .* \(got '-1'\)") as err:
        load_settings(write(tmp_path, ""))
    assert "SUPERSECRET123" not in str(err.value)


def test_unknown_profile_and_missing_file(tmp_path, monkeypatch):
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.yaml")
    monkeypatch.setenv("AIINFRA_PROFILE", "huge")
    with pytest.raises(SettingsError, match="profile"):
        load_settings(write(tmp_path, ""))


def test_locations_are_resolved_once_at_load(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(profile="quick", storage={"home": "work/home"})
    home = tmp_path / "work" / "home"
    assert settings.storage.home == str(home)
    assert settings.storage.root == str(home / "lake")
    assert settings.model_store == home / "models"
    assert settings.qdrant.path == str(home / "qdrant")
    assert settings.evaluation.reports_dir == str(home / "reports")
    assert settings.monitoring.audit_dir == str(home / "reports" / "lineage_audit")
    assert settings.training.deepspeed.extensions_dir == str(home / "cache" / "torch_extensions")
    assert settings.storage.serving_dir == home / "serving"
    assert settings.storage.bentoml_home == home / "bentoml"

    # What every Dagster run does with the resource's JSON, from another working directory: nothing moves.
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert Settings.model_validate_json(settings.model_dump_json()) == settings


def test_explicit_locations_win_and_object_store_uris_are_kept(tmp_path):
    settings = load_settings(
        profile="quick",
        storage={"home": str(tmp_path), "root": "s3://bucket/lake"},
        qdrant={"url": "http://qdrant:6333"},
        monitoring={"audit_dir": str(tmp_path / "audits")},
        models={"store": "file-store"},
    )
    assert settings.storage.root == "s3://bucket/lake"
    assert settings.qdrant.path is None  # a server holds the index
    assert settings.monitoring.audit_dir == str(tmp_path / "audits")
    assert Path(settings.models.store).is_absolute() and settings.models.store.endswith("file-store")
