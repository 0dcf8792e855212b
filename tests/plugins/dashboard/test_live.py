"""The pages stay live without polling: a change made over the API while a page is open
appears on it within a second; the connection indicator shows when the server is gone, and the
page catches up when it is back."""

from __future__ import annotations

import socket

import httpx
import pytest
from playwright.async_api import expect

from .browser import SESSION_LOOP
from .seed import seed_api

pytestmark = [pytest.mark.slow, SESSION_LOOP]

#: The dashboard's promise: an API change is on an open page within a second.
SECOND_MS = 1000


def api(live, method: str, path: str, **kwargs) -> httpx.Response:
    response = httpx.request(method, f"{live.url}/api/v1{path}", timeout=30, **kwargs)
    assert response.status_code < 400, response.text
    return response


async def test_api_changes_appear_on_open_pages_within_a_second(repo, live_server_factory, tab_factory):
    live = live_server_factory()
    seeded = seed_api(live.url)
    tab = await tab_factory(live.url)

    page = await tab.goto("/issues")
    issue = api(live, "POST", "/issues", json={"title": "Arrived while watching"}).json()["id"]
    await expect(page.locator(f"#issue-row-{issue}")).to_contain_text("Arrived while watching", timeout=SECOND_MS)

    page = await tab.goto(f"/issues/{issue}")
    api(live, "POST", f"/issues/{issue}/comments", json={"content": "Seen live", "kind": "result"})
    await expect(page.locator("#issue-comments .comment")).to_contain_text(["Seen live"], timeout=SECOND_MS)
    api(live, "POST", f"/issues/{issue}/labels", json={"label": "live"})
    await expect(page.locator("#issue-labels")).to_contain_text("live", timeout=SECOND_MS)
    api(live, "POST", f"/issues/{issue}/close")
    await expect(page.locator("#issue-head .meta .badge").first).to_have_text("closed", timeout=SECOND_MS)

    page = await tab.goto("/")
    api(live, "POST", "/agents/night-owl/heartbeat", json={"active_issue_id": issue})
    await expect(page.locator("#panel-agents")).to_contain_text("night-owl", timeout=SECOND_MS)
    api(live, "POST", f"/locks/{seeded.issues['crash']}/claim", json={"agent_id": "night-owl"})
    await expect(page.locator("#panel-locks")).to_contain_text("night-owl", timeout=SECOND_MS)
    api(live, "POST", "/sessions/start", json={"agent_id": "night-owl"})
    await expect(page.locator("#panel-sessions")).to_contain_text("night-owl", timeout=SECOND_MS)
    feed = page.locator("#activity-feed li")
    await expect(feed.first).to_contain_text("night-owl session started", timeout=SECOND_MS)
    await expect(page.locator("#activity-feed")).to_contain_text(f"#{seeded.issues['crash']} lock claimed by night-owl")
    await expect(page.locator("#activity-empty")).to_be_hidden()

    page = await tab.goto("/knowledge")
    api(live, "POST", "/knowledge", json={"slug": "fresh", "title": "A fresh page", "content": "new"})
    await expect(page.locator("#knowledge-list")).to_contain_text("A fresh page", timeout=SECOND_MS)

    page = await tab.goto("/sessions")
    api(live, "POST", "/sessions/end", json={"agent_id": "night-owl", "notes": "Left a note for the morning"})
    await expect(page.locator("#session-groups")).to_contain_text("Left a note for the morning", timeout=SECOND_MS)
    tab.assert_clean()


async def test_a_live_update_keeps_what_the_person_is_typing(repo, live_server_factory, tab_factory):
    live = live_server_factory()
    seeded = seed_api(live.url)
    tab = await tab_factory(live.url)
    page = await tab.goto("/locks")
    auth_row = page.locator(f"#lock-{seeded.issues['auth']}")
    await auth_row.locator(".steal-form input[name=agent_id]").fill("half-typed")
    api(live, "POST", f"/locks/{seeded.issues['crash']}/claim", json={"agent_id": "newcomer"})
    await expect(page.locator(f"#lock-{seeded.issues['crash']}")).to_contain_text("newcomer", timeout=SECOND_MS)
    await expect(auth_row.locator(".steal-form input[name=agent_id]")).to_have_value("half-typed")
    tab.assert_clean()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_offline_indicator_and_catch_up_after_a_reconnect(repo, live_server_factory, tab_factory):
    port = free_port()
    live = live_server_factory("--port", str(port))
    api(live, "POST", "/issues", json={"title": "Before the outage"})
    tab = await tab_factory(live.url)
    page = await tab.goto("/issues")
    await expect(page.locator("table.issues tbody tr")).to_have_count(1)

    assert live.stop() == 0
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "offline")
    await expect(page.locator("#live-status")).to_have_text("offline")

    again = live_server_factory("--port", str(port))
    assert again.url == live.url
    api(again, "POST", "/issues", json={"title": "Made while the page was away"})
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=15_000)
    await expect(page.locator("table.issues")).to_contain_text("Made while the page was away")
    # while the server was down, the reconnect attempts fail (Chromium logs each one)
    tab.problems = [p for p in tab.problems if "WebSocket connection" not in p and "ERR_CONNECTION_REFUSED" not in p]
    tab.assert_clean()
