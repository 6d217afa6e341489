"""A real browser against a real ``dagster-webserver``: every asset and group of the code location is visible.

The expected names come from ``aiinfra_dagster.definitions.defs`` (not a hard-coded list), so the
test keeps working as assets and groups are added. Pages checked:

* ``/asset-groups`` (Global asset lineage): every asset is drawn, either as its own node or inside
  its group's node (the UI collapses groups when there are several);
* ``/locations/<location>/asset-groups/<group>`` for every group: the group name and a node for
  every asset of the group.

Screenshots go to ``$AIINFRA_TEST_ARTIFACTS`` (default ``<repo>/test-artifacts/``):
``ui-asset-graph.png`` and ``ui-asset-group-<group>.png``; on failure ``ui-failure-<page>.png``.
Needs the Debian ``chromium`` package (the test fails, it does not skip, when it is missing).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from aiinfra_dagster.testing.webserver import (
    graphql,
    running_webserver,
    write_instance_yaml,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = REPO_ROOT / "workspace.yaml"
DEFINITIONS_MODULE = "aiinfra_dagster.definitions"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1920, "height": 1200}  # larger graphs stay above the UI's "minimal node" zoom
RENDER_TIMEOUT_MS = 45_000  # first page load compiles/fetches the UI bundle and lays out the graph
SETTLE_TIMEOUT_MS = 15_000  # live data ("Loading...") filling in after the graph is drawn

_ASSET_NODES_QUERY = """
query AiinfraUiTestAssetNodes {
  assetNodes {
    assetKey { path }
    groupName
    repository { name location { name } }
  }
}
"""


def _chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.fail(
            "Debian chromium is not installed (no `chromium` on PATH, no /usr/bin/chromium). "
            "Install it with `apt-get install chromium`; this test never downloads a browser.",
            pytrace=False,
        )
    return path


def metadata_row(page: Page, label: str) -> Locator:
    """The row of metadata entry `label` on an asset's events page."""
    return page.locator("tr", has=page.get_by_text(label, exact=True)).first


def open_events(page: Page, base_url: str, asset: str, rendered_row: str) -> Locator:
    """Go to the asset's events page and wait until metadata row `rendered_row` shows (the first load is slow)."""
    page.goto(f"{base_url}/assets/{asset}?view=events", wait_until="domcontentloaded")
    row = metadata_row(page, rendered_row)
    expect(row).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    return row


def show_markdown(page: Page, label: str) -> Locator:
    """Open markdown metadata entry `label`: it opens in a dialog, returned."""
    metadata_row(page, label).get_by_text("[Show Markdown]").click()
    return page.get_by_role("dialog")


def _artifacts_dir() -> Path:
    directory = Path(os.environ.get("AIINFRA_TEST_ARTIFACTS") or REPO_ROOT / "test-artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _expected_names() -> dict[str, set[str]]:
    """Group name -> displayed names (last key component) of its assets, from the Definitions."""
    # Imported in-process with the caller's environment: asset names and groups do not depend on
    # storage paths, and importing must not materialize anything.
    module = __import__(DEFINITIONS_MODULE, fromlist=["defs"])
    groups: dict[str, set[str]] = defaultdict(set)
    for spec in module.defs.resolve_all_asset_specs():
        groups[spec.group_name or "default"].add(spec.key.path[-1])
    assert groups, f"{DEFINITIONS_MODULE}.defs has no assets"
    return dict(groups)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _truncated_pattern(name: str) -> re.Pattern[str]:
    """``name`` as the UI middle-truncates it in small graph nodes: ``<prefix>…<suffix>``."""
    prefixes = "|".join(re.escape(name[:i]) for i in range(len(name) - 1, 0, -1))
    suffixes = "|".join(re.escape(name[-i:]) for i in range(len(name) - 1, 0, -1))
    return re.compile(f"^(?:{prefixes})\u2026(?:{suffixes})?$")


def _name_locator(page: Page, name: str) -> Locator:
    """A visible element showing ``name``. Graph nodes middle-truncate long names (keeping the full
    name in ``data-tooltip``/``title`` at normal zoom, only ``pre…fix`` when zoomed far out)."""
    return (
        page.get_by_text(name, exact=True)
        .or_(page.locator(f'[data-tooltip="{name}"]'))
        .or_(page.locator(f'[title="{name}"]'))
        .or_(page.get_by_text(_truncated_pattern(name)))
        .filter(visible=True)
        .first
    )


def _expect_visible(page: Page, names: dict[str, str], what: str, errors: list[str]) -> None:
    """Wait until each ``names`` entry (label -> a visible name standing for it) is visible."""
    missing: list[str] = []
    for label, name in sorted(names.items()):
        try:
            expect(_name_locator(page, name)).to_be_visible(timeout=RENDER_TIMEOUT_MS if not missing else 2_000)
        except AssertionError:
            missing.append(label if label == name else f"{label} (shown as {name!r})")
    if missing:
        detail = f"; browser errors: {errors[-5:]}" if errors else ""
        raise AssertionError(f"{what}: not visible at {page.url}: {missing}{detail}")


def _settle(page: Page) -> None:
    """Best effort: let the asset nodes' live data replace their 'Loading...' rows before the screenshot."""
    try:
        expect(page.get_by_text("Loading...", exact=True).filter(visible=True)).to_have_count(
            0, timeout=SETTLE_TIMEOUT_MS
        )
    except AssertionError:
        pass


def _check_page(page: Page, url: str, names: dict[str, str], what: str, shot: Path, errors: list[str]) -> None:
    page.goto(url, wait_until="domcontentloaded")
    try:
        _expect_visible(page, names, what, errors)
    except AssertionError:
        page.screenshot(path=str(shot.with_name(f"ui-failure-{shot.stem.removeprefix('ui-')}.png")), full_page=True)
        raise
    _settle(page)
    page.screenshot(path=str(shot), full_page=True)


@pytest.fixture
def browser() -> Iterator[Browser]:
    executable = _chromium_path()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ui_shows_every_asset_and_group(tmp_path: Path, browser: Browser) -> None:
    expected = _expected_names()
    artifacts = _artifacts_dir()
    dagster_home = tmp_path / "dagster_home"
    write_instance_yaml(dagster_home)
    env = {"AIINFRA_STORAGE__HOME": str(tmp_path / "aiinfra"), "AIINFRA_PROFILE": "quick"}

    started = time.monotonic()
    with running_webserver(WORKSPACE, dagster_home=dagster_home, env=env) as base_url:
        print(f"\ndagster-webserver ready at {base_url} in {time.monotonic() - started:.1f} s")

        # The server must have loaded the same Definitions the test imported.
        payload = graphql(base_url, _ASSET_NODES_QUERY)
        assert not payload.get("errors"), payload["errors"]
        nodes = payload["data"]["assetNodes"]
        served = {(node["groupName"], node["assetKey"]["path"][-1]) for node in nodes}
        wanted = {(group, name) for group, names in expected.items() for name in names}
        assert wanted <= served, f"assets missing from the webserver: {sorted(wanted - served)}"
        group_address: dict[str, str] = {}
        for node in nodes:
            repository = node["repository"]
            location = repository["location"]["name"]
            name = repository["name"]
            group_address.setdefault(node["groupName"], location if name == "__repository__" else f"{name}@{location}")

        page = browser.new_page(viewport=VIEWPORT)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # Global lineage: each asset is its own node, or sits inside its (collapsed) group node.
        multiple_groups = len(expected) > 1
        graph_names = {
            asset: (group if multiple_groups else asset) for group, assets in expected.items() for asset in assets
        }
        t0 = time.monotonic()
        _check_page(
            page,
            f"{base_url}/asset-groups",
            graph_names,
            "global asset lineage",
            artifacts / "ui-asset-graph.png",
            errors,
        )
        print(f"global asset lineage rendered in {time.monotonic() - t0:.1f} s")

        # One page per group: its name and a node for each of its assets.
        for group, assets in sorted(expected.items()):
            t0 = time.monotonic()
            address = urllib.parse.quote(group_address[group], safe="@:")
            _check_page(
                page,
                f"{base_url}/locations/{address}/asset-groups/{urllib.parse.quote(group, safe='')}",
                {group: group, **{asset: asset for asset in assets}},
                f"asset group {group!r}",
                artifacts / f"ui-asset-group-{_safe(group)}.png",
                errors,
            )
            print(f"asset group {group!r} ({len(assets)} assets) rendered in {time.monotonic() - t0:.1f} s")
        page.close()
    print(f"screenshots in {artifacts}")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_ui_shows_the_loss_curve_of_a_checkpoint(
    tmp_path: Path, browser: Browser, make_settings, tiny_causal_lm
) -> None:
    """The loss curve picture of a real lora_checkpoint materialization renders in the asset's page."""
    import dagster as dg

    from tests.helpers import materialize_assets
    from tests.integration.test_training import tiny_settings, write_training_set

    dagster_home = tmp_path / "dagster_home"
    write_instance_yaml(dagster_home)
    settings = tiny_settings(make_settings, tiny_causal_lm, max_steps=6, save_steps=3)
    write_training_set(settings)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        materialize_assets(settings, instance, ["lora_checkpoint"])

    env = {"AIINFRA_STORAGE__HOME": str(settings.storage.home), "AIINFRA_PROFILE": "quick"}
    with running_webserver(WORKSPACE, dagster_home=dagster_home, env=env) as base_url:
        page = browser.new_page(viewport=VIEWPORT)
        open_events(page, base_url, "lora_checkpoint", "loss_curve")
        show_markdown(page, "loss_curve")
        picture = page.locator('img[src^="data:image/png;base64,"]').first
        expect(picture).to_be_visible(timeout=SETTLE_TIMEOUT_MS)
        assert picture.evaluate("img => img.naturalWidth") >= 200, "the PNG decoded in the browser"
        page.screenshot(path=str(_artifacts_dir() / "ui-lora-checkpoint-loss-curve.png"))
        page.close()
