"""The Sync page against a real bare git remote on disk: initialize, push and fetch from the
page, each operation's progress and result appearing as its ``sync`` events arrive, and what
the fetch brought (another machine's heartbeat) on the agents page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.async_api import expect

from tests.plugins.sync.conftest import CliHub, attach_hub, machine_a, remote  # noqa: F401  (fixtures)

from .browser import SESSION_LOOP

pytestmark = [pytest.mark.slow, SESSION_LOOP]


async def test_init_push_and_fetch_from_the_page(repo, remote, machine_a, live_server_factory, tab_factory):  # noqa: F811
    live = live_server_factory()
    tab = await tab_factory(live.url)
    page = await tab.goto("/sync")
    await expect(page.locator("#sync-remote")).to_contain_text(str(remote.path))

    if await page.locator("#sync-hub").get_by_text("not initialized").count():
        await page.locator("#sync-init-form button").click()
        await expect(page.locator("#sync-init-form .form-status")).to_have_attribute("data-kind", "ok")
    await expect(page.locator("#sync-hub")).to_contain_text("initialized")

    await page.locator("#sync-push-form button").click()
    await expect(page.locator("#sync-push-form .form-status")).to_contain_text("origin")
    await expect(page.locator("#sync-push-form .form-status")).to_have_attribute("data-kind", "ok")
    await expect(page.locator("#sync-progress")).to_contain_text("push started")
    await expect(page.locator("#sync-progress")).to_contain_text("push completed")
    assert remote.branch_head() is not None  # the hub is on the remote now

    # another machine, working as the crosslink CLI does, publishes a heartbeat
    attach_hub(machine_a)
    other = CliHub(machine_a)
    other.heartbeat_v1("from-machine-a", datetime.now(UTC))
    other.push()

    await page.locator("#sync-fetch-form button").click()
    status = page.locator("#sync-fetch-form .form-status")
    await expect(status).to_have_attribute("data-kind", "ok")
    await expect(status).to_contain_text("1 new heartbeat")
    await expect(page.locator("#sync-progress")).to_contain_text("fetch completed")
    await expect(page.locator("#sync-progress")).to_contain_text("fetching")
    await expect(page.locator("#sync-last-result")).to_contain_text("1 new heartbeat")
    await expect(page.locator("#sync-last-fetch")).to_contain_text("just now")
    await tab.screenshot("sync")

    page = await tab.goto("/agents")
    await expect(page.locator("#agent-from-machine-a")).to_be_visible()
    page = await tab.goto("/")
    await expect(page.locator("#panel-sync")).to_contain_text("1 new heartbeat")
    tab.assert_clean()


async def test_a_failed_sync_shows_the_servers_error(repo, live_server_factory, tab_factory):
    live = live_server_factory()  # no remote configured
    tab = await tab_factory(live.url)
    page = await tab.goto("/sync")
    await expect(page.locator("#sync-remote")).to_contain_text("not configured")
    await page.locator("#sync-fetch-form button").click()
    status = page.locator("#sync-fetch-form .form-status")
    await expect(status).to_have_attribute("data-kind", "error")
    await expect(status).to_contain_text("POST /api/v1/sync/init creates it")
    await expect(page.locator("#sync-progress")).to_contain_text("fetch failed")
    tab.assert_clean(refused=(409,))


async def test_no_sync_page_without_the_sync_plugin(repo, live_server_factory, tab_factory):
    live = live_server_factory("--plugins", "all,-sync")
    tab = await tab_factory(live.url)
    page = await tab.goto("/")
    await expect(page.locator(".site-nav")).not_to_contain_text("Sync")
    await expect(page.locator("#panel-sync")).to_have_count(0)
    tab.assert_clean()
