"""The page's WebSocket and the kernel's event log: the overview's activity feed starts with the
logged events, then follows live; a page whose socket dropped resumes from the last event id
it saw, so what happened while it was away is replayed (feed and panels); a resume the server
cannot serve (a gap) makes the page re-read what it shows."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.support import git

from .browser import SESSION_LOOP

pytestmark = [pytest.mark.slow, SESSION_LOOP]

SECOND_MS = 1000
LIVE = "/assets/js/live.js"


def api(live, method: str, path: str, **kwargs) -> dict:
    response = httpx.request(method, f"{live.url}/api/v1{path}", timeout=30, **kwargs)
    assert response.status_code < 400, response.text
    return response.json()


async def live_call(page, function: str) -> None:
    """Call an export of the page's own live module (the one its script imported)."""
    await page.evaluate(f"async () => (await import('{LIVE}')).{function}()")


async def test_feed_backfill_then_live_and_resume_after_a_dropped_socket(repo, live_server_factory, tab_factory):
    live = live_server_factory()
    issue = api(live, "POST", "/issues", json={"title": "Logged before the page opened"})["id"]
    api(live, "POST", f"/locks/{issue}/claim", json={"agent_id": "early-bird"})
    head = api(live, "GET", "/events/log", params={"after": 0, "limit": 1000})["last_id"]

    tab = await tab_factory(live.url)
    sockets: list[str] = []
    tab.page.on("websocket", lambda ws: sockets.append(ws.url))
    page = await tab.goto("/")
    feed = page.locator("#activity-feed")
    # backfilled from GET /api/v1/events/log: events made before the page existed
    await expect(feed).to_contain_text(f"#{issue} lock claimed by early-bird")
    await expect(page.locator("#activity-empty")).to_be_hidden()
    # the socket resumed from the event id the page was rendered at
    assert sockets[0].endswith(f"/ws?since={head}"), sockets

    # live
    api(live, "POST", "/agents/live-one/heartbeat", json={})
    await expect(feed).to_contain_text("live-one sent a heartbeat", timeout=SECOND_MS)

    # away: the socket drops, things happen, it comes back
    await live_call(page, "disconnect")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "offline")
    open_before = await page.locator('#panel-issues [data-count="open"]').inner_text()
    api(live, "POST", "/issues", json={"title": "Made while away"})
    api(live, "POST", "/sessions/start", json={"agent_id": "away-agent"})
    seen = api(live, "GET", "/events/log", params={"after": 0, "limit": 1000})["last_id"]
    await expect(feed).not_to_contain_text("away-agent")  # nothing reaches a closed socket

    await live_call(page, "reconnect")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    await expect(feed).to_contain_text("away-agent session started")
    await expect(page.locator("#panel-sessions")).to_contain_text("away-agent")
    await expect(page.locator('#panel-issues [data-count="open"]')).to_have_text(str(int(open_before) + 1))
    assert "?since=" in sockets[-1] and len(sockets) == 2, sockets
    assert int(sockets[-1].rsplit("=", 1)[1]) < seen  # it asked for what it had not seen
    await tab.screenshot("overview-feed")
    tab.assert_clean()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def other_repository(tmp_path: Path) -> Path:
    root = tmp_path / "elsewhere"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-q", "--allow-empty", "-m", "initial")
    return root


async def test_a_gap_makes_the_page_read_again(repo, tmp_path, live_server_factory, tab_factory):
    port = free_port()
    first = live_server_factory("--port", str(port))
    for n in range(6):
        api(first, "POST", "/issues", json={"title": f"Old database issue {n}"})
    tab = await tab_factory(first.url)
    page = await tab.goto("/issues")
    await expect(page.locator("table.issues tbody tr")).to_have_count(6)
    assert first.stop() == 0
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "offline")

    # another server on the same address with another database: the page's event id is unknown
    # there, the server answers a gap, and the page re-reads its regions
    second = live_server_factory("--port", str(port), repo_path=other_repository(tmp_path))
    api(second, "POST", "/issues", json={"title": "From the other database"})
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=15_000)
    await expect(page.locator("table.issues tbody tr")).to_have_count(1)
    await expect(page.locator("table.issues")).to_contain_text("From the other database")
    tab.problems = [p for p in tab.problems if "WebSocket connection" not in p and "ERR_CONNECTION_REFUSED" not in p]
    tab.assert_clean()
