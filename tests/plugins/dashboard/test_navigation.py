"""Working the dashboard from the keyboard: the search box (Ctrl-K) over issues, comments and
knowledge, "g <letter>" between pages, j/k and Enter in lists, "/" to the filter, "?" help."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from .browser import SESSION_LOOP
from .seed import seed_api

pytestmark = [pytest.mark.slow, SESSION_LOOP]


async def test_search_box_and_keyboard_navigation(repo, live_server_factory, tab_factory):
    live = live_server_factory()
    seeded = seed_api(live.url)
    auth = seeded.issues["auth"]
    tab = await tab_factory(live.url)
    page = await tab.goto("/")

    await page.keyboard.press("Control+k")
    dialog = page.locator("#search-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#search-input")).to_be_focused()
    await page.keyboard.type("auth timeout")
    results = page.locator("#search-results [role=option]")
    await expect(results.first).to_contain_text(f"#{auth} Fix auth timeout")
    await expect(results.first).to_have_attribute("aria-selected", "true")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{live.url}/issues/{auth}")
    await tab.screenshot("search-result-opened")

    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    await page.locator("#search-open").click()
    await page.keyboard.type("bounded")
    await expect(results.first).to_contain_text("Connection pool tips")
    await tab.screenshot("search-box")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{live.url}/knowledge/pool-tips")

    await page.keyboard.press("Control+k")
    await page.keyboard.type("Root cause")
    await expect(results.first.locator(".badge")).to_have_text("comment")
    await results.first.locator("a").click()
    await page.wait_for_url(re.compile(rf"/issues/{auth}#comment-"))

    await page.keyboard.press("g")
    await page.keyboard.press("i")
    await page.wait_for_url(f"{live.url}/issues")
    await expect(page.locator(".site-nav a[aria-current=page]")).to_have_text("Issues")
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    rows = page.locator("table.issues tbody tr")
    await expect(rows.nth(1)).to_have_class(re.compile("is-selected"))
    second = await rows.nth(1).locator("[data-nav-primary]").get_attribute("href")
    await page.keyboard.press("k")
    await expect(rows.nth(0)).to_have_class(re.compile("is-selected"))
    await page.keyboard.press("j")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{live.url}{second}")

    await page.keyboard.press("g")
    await page.keyboard.press("k")
    await page.wait_for_url(f"{live.url}/knowledge")
    await page.keyboard.press("/")
    await expect(page.locator("#knowledge-q")).to_be_focused()
    await page.keyboard.type("timeout")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{live.url}/knowledge?q=timeout")  # a bookmarkable search
    await expect(page.locator(".search-matches mark").first).to_have_text("timeout")

    await page.locator("body").click()
    await page.keyboard.press("?")
    await expect(page.locator("#help-dialog")).to_be_visible()
    await expect(page.locator("#help-dialog")).to_contain_text("Knowledge")
    await page.keyboard.press("Escape")
    await expect(page.locator("#help-dialog")).to_be_hidden()
    await page.keyboard.press("n")
    await page.wait_for_url(f"{live.url}/knowledge/new")
    tab.assert_clean()
