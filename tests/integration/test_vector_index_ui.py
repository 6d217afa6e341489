"""The index's golden recall@k shows in the Dagster UI (real webserver, real Chromium, a real vector_index run)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import Browser, expect

from aiinfra_dagster.testing.webserver import running_webserver, write_instance_yaml
from tests.helpers import materialization_metadata, materialize_assets
from tests.integration.test_ui import RENDER_TIMEOUT_MS, VIEWPORT, WORKSPACE, _artifacts_dir, browser  # noqa: F401
from tests.integration.test_vector_index import MINI_DOCS, UPSTREAM


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_ui_shows_the_recall_of_the_vector_index(tmp_path: Path, browser: Browser, make_settings) -> None:  # noqa: F811
    dagster_home = tmp_path / "dagster_home"
    write_instance_yaml(dagster_home)
    settings = make_settings(python_docs_dir=str(MINI_DOCS), chunking={"max_tokens": 96, "min_tokens": 4})
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        result = materialize_assets(settings, instance, [*UPSTREAM, "vector_index"])
    recall = materialization_metadata(result, "vector_index")["recall_at_10"].value

    env = {"AIINFRA_STORAGE__HOME": str(settings.storage.home), "AIINFRA_PROFILE": "quick"}
    with running_webserver(WORKSPACE, dagster_home=dagster_home, env=env) as base_url:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{base_url}/assets/vector_index?view=events", wait_until="domcontentloaded")
        for key in ("recall_at_1", "recall_at_5", "recall_at_10", "mrr", "index_version"):
            expect(page.locator("tr", has=page.get_by_text(key, exact=True)).first).to_be_visible(
                timeout=RENDER_TIMEOUT_MS
            )
        row = page.locator("tr", has=page.get_by_text("recall_at_10", exact=True)).first
        expect(row).to_contain_text(f"{recall:g}"[:4])
        row = page.locator("tr", has=page.get_by_text("retrieval_metrics", exact=True)).first
        row.scroll_into_view_if_needed()  # a short markdown table renders inline
        expect(row.get_by_text("recall@10", exact=True)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
        page.screenshot(path=str(_artifacts_dir() / "ui-vector-index-recall.png"))
        page.close()
