"""Fixtures of the dashboard's browser tests: a headless Chromium per test, and its tabs.

The async Playwright API is used: pytest-asyncio runs each test in its own event loop, which
the sync API would collide with.
"""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright

from .browser import CHROMIUM_ARGS, chromium_path, new_tab


@pytest.fixture
async def browser():
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


@pytest.fixture
async def tab_factory(browser):
    """``await tab_factory(base_url, **context options)`` -> a :class:`Tab`."""
    tabs = []

    async def make(base_url: str, **options):
        tab = await new_tab(browser, base_url, **options)
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        await tab.context.close()
