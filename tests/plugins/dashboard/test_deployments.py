"""What the dashboard shows follows what is enabled: a trimmed deployment shows only its pages,
a third-party plugin adds its page and overview panel through the dashboard's hooks, and a
disabled plugin's page is absent rather than broken."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from .browser import SESSION_LOOP

pytestmark = [pytest.mark.slow, SESSION_LOOP]

PAGEDIST = Path(__file__).resolve().parents[2] / "fixtures" / "pagedist"


@pytest.fixture(scope="session")
def pagedist_path(tmp_path_factory) -> Path:
    """The pinboard test distribution, installed with pip into its own directory."""
    target = tmp_path_factory.mktemp("pagedist")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(PAGEDIST)],
        check=True, cwd=tmp_path_factory.mktemp("pagedist-build"),
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return target


async def test_a_trimmed_deployment_shows_only_its_pages(repo, live_server_factory, tab_factory):
    live = live_server_factory("--plugins", "issues,locks,dashboard")
    issue = httpx.post(f"{live.url}/api/v1/issues", json={"title": "Only issues here"}).json()["id"]
    assert httpx.post(f"{live.url}/api/v1/locks/{issue}/claim", json={"agent_id": "solo"}).status_code == 201
    tab = await tab_factory(live.url)
    page = await tab.goto("/")
    await expect(page.locator(".site-nav a")).to_have_text(["Overview", "Issues", "Milestones", "Locks", "Config"])
    await expect(page.locator(".panel h2")).to_have_text(["Issues", "Locks", "Milestones", "Activity"])
    await expect(page.locator("#panel-locks")).to_contain_text("solo")
    await tab.screenshot("trimmed-overview")
    for path in ("/issues", f"/issues/{issue}", "/milestones", "/locks", "/config"):
        page = await tab.goto(path)
        await expect(page.locator("h1")).not_to_be_empty()
    await expect(page.locator("#config-tracking_mode")).to_be_visible()
    page = await tab.goto(f"/issues/{issue}")
    await expect(page.locator("#issue-lock")).to_contain_text("solo")
    tab.assert_clean()
    for missing in ("/agents", "/sessions", "/knowledge"):
        assert httpx.get(live.url + missing).status_code == 404


async def test_a_plugin_adds_its_own_page_and_panel(repo, pagedist_path, live_server_factory, tab_factory):
    env = {"PYTHONPATH": str(pagedist_path), "CROSSLINK_DISABLE_PLUGIN_AUTOLOAD": "0"}
    live = live_server_factory("--plugins", "all", env=env)
    tab = await tab_factory(live.url)
    page = await tab.goto("/")
    await expect(page.locator(".site-nav a")).to_have_text(
        ["Overview", "Issues", "Milestones", "Agents", "Locks", "Sessions", "Knowledge", "Orchestrator", "Pinboard",
         "Usage", "Sync", "Config"])
    await expect(page.locator("#panel-pins")).to_contain_text("2 pins")
    await page.keyboard.press("g")
    await page.keyboard.press("p")
    await page.wait_for_url(f"{live.url}/pinboard")
    await expect(page.locator("#pins li")).to_have_text(["Ship the dashboard", "Water the plants"])
    await expect(page.locator(".site-nav a[aria-current=page]")).to_have_text("Pinboard")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    await tab.screenshot("plugin-page")
    csp = httpx.get(f"{live.url}/pinboard").headers["content-security-policy"]
    assert "script-src 'self'" in csp  # the dashboard's headers on the plugin's page too
    tab.assert_clean()

    without = live_server_factory("--plugins", "all,-pinboard", env=env)
    tab = await tab_factory(without.url)
    page = await tab.goto("/")
    await expect(page.locator(".site-nav")).not_to_contain_text("Pinboard")
    await expect(page.locator("#panel-pins")).to_have_count(0)
    assert httpx.get(f"{without.url}/pinboard").status_code == 404
    tab.assert_clean()

    headless = live_server_factory("--plugins", "all,-dashboard", env=env)
    assert httpx.get(f"{headless.url}/api/v1/pinboard").json() == {"pins": ["Ship the dashboard", "Water the plants"]}
    assert httpx.get(f"{headless.url}/").status_code == 404
    assert "Dashboard:" not in headless.text()
