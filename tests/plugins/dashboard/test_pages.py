"""Every page of the dashboard renders seeded data in a real browser, with no console error,
on SQLite and on PostgreSQL; screenshots of each page go to ``screenshots/``."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support import BACKENDS

from .browser import SESSION_LOOP
from .seed import seed_api, seed_hub

pytestmark = [pytest.mark.slow, SESSION_LOOP, pytest.mark.parametrize("backend", BACKENDS, indirect=True)]


async def test_every_page_renders_seeded_data(repo, backend, live_server_factory, tab_factory):
    seed_hub(repo)
    live = live_server_factory()
    assert f"Dashboard: {live.url}/" in live.text()
    seeded = seed_api(live.url)
    auth = seeded.issues["auth"]
    tab = await tab_factory(live.url)
    shot = f"{backend}-" if backend != "sqlite" else ""

    page = await tab.goto("/")
    nav = page.locator(".site-nav a")
    await expect(nav).to_have_text(["Overview", "Issues", "Milestones", "Agents", "Locks", "Sessions", "Knowledge",
                                  "Orchestrator", "Usage", "Sync", "Config"])
    await expect(page.locator('#panel-issues [data-count="open"]')).to_have_text("5")
    await expect(page.locator('#panel-issues [data-count="blocked"]')).to_have_text("1")
    await expect(page.locator('#panel-agents [data-count="active"]')).to_have_text("2")
    await expect(page.locator('#panel-agents [data-count="stale"]')).to_have_text("1")
    await expect(page.locator("#panel-locks tr.is-stale")).to_contain_text("gone-agent")
    await expect(page.locator("#panel-locks")).to_contain_text("worker-1")
    await expect(page.locator("#panel-sessions")).to_contain_text("worker-1")
    await expect(page.locator("#panel-milestones")).to_contain_text("v1.0")
    await expect(page.locator("#panel-milestones progress")).to_have_attribute("value", "33.3")
    await tab.screenshot(f"{shot}overview")

    page = await tab.goto("/issues")
    await expect(page.locator("table.issues tbody tr")).to_have_count(5)
    await expect(page.locator(f"#issue-row-{auth}")).to_contain_text("locked · worker-1")
    await expect(page.locator(f"#issue-row-{auth}")).to_contain_text("bug")
    await tab.screenshot(f"{shot}issues")
    page = await tab.goto("/issues?status=all&label=bug")
    await expect(page.locator("table.issues tbody tr")).to_have_count(1)
    page = await tab.goto("/issues?view=blocked")
    await expect(page.locator("table.issues tbody tr")).to_contain_text(["Add dark mode"])
    page = await tab.goto(f"/issues/{auth}")
    await expect(page.locator("h1")).to_contain_text("Fix auth timeout")
    await expect(page.locator("#issue-labels")).to_contain_text("backend")
    await expect(page.locator("#issue-comments .badge.kind")).to_have_text(["observation", "decision"])
    await expect(page.locator("#issue-blocking")).to_contain_text("Add dark mode")
    await expect(page.locator("#issue-subissues .tree .tree")).to_contain_text("Benchmark pools")
    await expect(page.locator("#issue-milestone")).to_contain_text("v1.0")
    await expect(page.locator("#issue-lock")).to_contain_text("worker-1")
    await expect(page.locator("#issue-description strong")).to_have_text("Fix auth timeout")
    await tab.screenshot(f"{shot}issue-detail")
    page = await tab.goto("/issues/new")
    await expect(page.locator("h1")).to_have_text("New issue")
    await tab.screenshot(f"{shot}issue-new")

    page = await tab.goto("/milestones")
    await expect(page.locator(f"#milestone-{seeded.milestone}")).to_contain_text("1 of 3 issues closed")
    await tab.screenshot(f"{shot}milestones")

    page = await tab.goto("/agents")
    await expect(page.locator("#agent-worker-1 .agent-status")).to_have_text("active")
    await expect(page.locator("#agent-gone-agent .agent-status")).to_have_text("stale")
    await expect(page.locator("#agent-gone-agent")).to_contain_text("2 h ago")
    await expect(page.locator("#agent-worker-1")).to_contain_text("feature/auth")
    await tab.screenshot(f"{shot}agents")
    page = await tab.goto("/agents/worker-1")
    await expect(page.locator("#kickoff-status")).to_have_text("In progress: step 3/5")
    await expect(page.locator(".timeline rect.tick")).not_to_have_count(0)
    await expect(page.locator("#agent-sessions")).to_contain_text("Working on #")
    await tab.screenshot(f"{shot}agent-detail")

    page = await tab.goto("/locks")
    await expect(page.locator("#lock-4")).to_have_class("is-stale")
    await expect(page.locator("#lock-4")).to_contain_text("hub-v2")
    await expect(page.locator(f"#lock-{auth}")).to_contain_text("live")
    await tab.screenshot(f"{shot}locks")

    page = await tab.goto("/sessions")
    await expect(page.locator("#session-groups")).to_contain_text("guide drafted")
    await expect(page.locator("#session-groups .handoff strong")).to_have_text("guide drafted")
    await tab.screenshot(f"{shot}sessions")

    page = await tab.goto("/knowledge")
    await expect(page.locator("#knowledge-list tbody tr")).to_have_count(3)  # with the CLI's index page
    await tab.screenshot(f"{shot}knowledge")
    page = await tab.goto("/knowledge?tag=db")
    await expect(page.locator("#knowledge-list tbody tr")).to_have_count(1)
    page = await tab.goto("/knowledge?q=timeout")
    await expect(page.locator(".search-matches mark").first).to_have_text("timeout")
    await expect(page.locator(".search-matches > li")).to_have_count(2)
    await tab.screenshot(f"{shot}knowledge-search")
    page = await tab.goto("/knowledge/pool-tips")
    await expect(page.locator("#knowledge-content h1")).to_have_text("Pools")
    await expect(page.locator("#knowledge-content table td").first).to_have_text("8")
    await expect(page.locator(".sources a")).to_have_attribute("href", "https://example.org/pools")
    await tab.screenshot(f"{shot}knowledge-page")
    page = await tab.goto("/knowledge/pool-tips/edit")
    assert "bounded" in await page.locator("#page-content").input_value()
    await tab.screenshot(f"{shot}knowledge-edit")

    page = await tab.goto("/config")
    await expect(page.locator("#config-stale_lock_timeout_minutes")).to_have_value("30")
    await expect(page.locator("#config-tracking_mode option")).to_have_text(["strict", "normal", "relaxed"])
    await tab.screenshot(f"{shot}config")

    tab.assert_clean()

    # pages that answer an error status (the browser logs that status as a console error)
    page = await tab.goto("/issues/999999")
    await expect(page.locator(".error-page")).to_contain_text("Issue #999999 does not exist")
    page = await tab.goto("/issues?priority=nonsense")
    await expect(page.locator(".filters .field-error")).to_contain_text("must be one of")

