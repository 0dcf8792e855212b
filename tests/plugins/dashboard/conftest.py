"""Fixtures of the dashboard's browser tests: one headless Chromium for the whole session, a
fresh browser context (cookies, storage) per tab.

The async Playwright API is used: the browser and the tests that use it run in pytest-asyncio's
session event loop (each browser test module's ``pytestmark`` has ``SESSION_LOOP``), since Playwright's objects
belong to the loop that started them.
"""

from __future__ import annotations

import pytest_asyncio
from playwright.async_api import async_playwright

from .browser import CHROMIUM_ARGS, chromium_path, new_tab


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser():
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


@pytest_asyncio.fixture(loop_scope="session")
async def tab_factory(browser):
    """``await tab_factory(base_url, **context options)`` -> a :class:`Tab` in its own context."""
    tabs = []

    async def make(base_url: str, **options):
        tab = await new_tab(browser, base_url, **options)
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        await tab.context.close()
