"""Driving the dashboard in a real headless Chromium (Debian's, through Playwright).

:class:`Tab` is one browser page on a running ``crosslink serve``: it records every console
error and uncaught page error, waits for the live connection after each navigation, and, when
``CROSSLINK_TEST_SCREENSHOTS=1`` is set (``make screenshots``), writes screenshots (light and
dark) into ``screenshots/`` at the repository root (gitignored). They are for a person to look
at, not assertions, and a full-page capture in two colour schemes costs more than the checks
around it, so an ordinary test run takes none.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "screenshots"
TAKE_SCREENSHOTS = os.environ.get("CROSSLINK_TEST_SCREENSHOTS") == "1"
#: Every browser test runs in pytest-asyncio's session loop, where the one shared browser lives
#: (``pytestmark = [..., SESSION_LOOP]``): Playwright's objects belong to the loop that made them.
SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
    assert Path(found).exists(), "Debian's chromium is needed for the browser tests (make test installs it)"
    return found


class Tab:
    """One page of a browser context, with its console errors collected."""

    def __init__(self, context: BrowserContext, page: Page, base_url: str) -> None:
        self.context = context
        self.base_url = base_url
        self.page = page
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    async def goto(self, path: str, *, live: bool = True) -> Page:
        """Open ``path`` and wait until the page's WebSocket is connected."""
        await self.page.goto(self.base_url + path)
        if live:
            await expect(self.page.locator("#live-status")).to_have_attribute("data-state", "live")
        return self.page

    async def screenshot(self, name: str) -> None:
        """The page as it is now, full length, in light and in dark, as
        ``screenshots/<name>-light.png`` and ``-dark.png`` (only with ``CROSSLINK_TEST_SCREENSHOTS=1``)."""
        if not TAKE_SCREENSHOTS:
            return
        SCREENSHOTS.mkdir(exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
        for scheme in ("light", "dark"):
            await self.page.emulate_media(color_scheme=scheme)
            await self.page.screenshot(path=SCREENSHOTS / f"{safe}-{scheme}.png", full_page=True)
        await self.page.emulate_media(color_scheme="light")

    def assert_clean(self, *, refused: tuple[int, ...] = ()) -> None:
        """No console or page error; ``refused`` lists statuses the test provoked on purpose
        (Chromium logs every 4xx answer to a fetch as a console error)."""
        expected = tuple(f"the server responded with a status of {status} " for status in refused)
        problems = [p for p in self.problems if not (expected and any(e in p for e in expected))]
        assert problems == [], "\n".join(problems)


async def new_tab(browser: Browser, base_url: str, **context_options) -> Tab:
    context = await browser.new_context(viewport={"width": 1366, "height": 860}, **context_options)
    context.set_default_timeout(10_000)
    return Tab(context, await context.new_page(), base_url)
