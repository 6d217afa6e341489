"""The eval report (headline table with CIs, gate verdict, chart) renders in the Dagster UI of a real run."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import Browser, expect

from aiinfra_dagster.testing.webserver import running_webserver, write_instance_yaml
from tests.helpers import materialization_metadata
from tests.integration.test_evaluation import eval_settings, run, write_golden
from tests.integration.test_training import write_training_set
from tests.integration.test_ui import (  # noqa: F401
    SETTLE_TIMEOUT_MS,
    VIEWPORT,
    WORKSPACE,
    _artifacts_dir,
    browser,
    open_events,
    show_markdown,
)


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_ui_shows_the_eval_report_and_its_gate(tmp_path: Path, browser: Browser, make_settings, tiny_causal_lm) -> None:  # noqa: F811
    dagster_home = tmp_path / "dagster_home"
    write_instance_yaml(dagster_home)
    settings = eval_settings(make_settings, tiny_causal_lm, max_steps=8)
    write_training_set(settings)
    write_golden(settings)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        result = run(settings, instance, ["base_model", "lora_checkpoint", "eval_report"])
    assert result.success
    meta = materialization_metadata(result, "eval_report")

    env = {"AIINFRA_STORAGE__HOME": str(settings.storage.home), "AIINFRA_PROFILE": "quick"}
    with running_webserver(WORKSPACE, dagster_home=dagster_home, env=env) as base_url:
        page = browser.new_page(viewport=VIEWPORT)
        open_events(page, base_url, "eval_report", "headline_improvement_ci_low")
        dialog = show_markdown(page, "report")
        expect(dialog.get_by_text("Gate: PASSED")).to_be_visible(timeout=SETTLE_TIMEOUT_MS)
        expect(dialog.get_by_text(meta["candidate_version"].value, exact=False).first).to_be_visible()
        picture = dialog.locator('img[src^="data:image/png;base64,"]').first
        expect(picture).to_be_visible(timeout=SETTLE_TIMEOUT_MS)
        assert picture.evaluate("img => img.naturalWidth") >= 200, "the metrics chart decoded in the browser"
        page.screenshot(path=str(_artifacts_dir() / "ui-eval-report.png"))
        page.close()
