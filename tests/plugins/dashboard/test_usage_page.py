"""The Usage page shows the usage plugin's own figures (compared with what its routes answer,
never hard-coded), follows new records live, and changes the budget through the API."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from .browser import SESSION_LOOP

pytestmark = [pytest.mark.slow, SESSION_LOOP]

SECOND_MS = 1000


def api(live, method: str, path: str, **kwargs) -> dict:
    response = httpx.request(method, f"{live.url}/api/v1{path}", timeout=30, **kwargs)
    assert response.status_code < 400, response.text
    return response.json()


def money(value: float) -> str:
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


async def test_usage_figures_budget_and_alerts(repo, live_server_factory, tab_factory):
    live = live_server_factory()
    api(live, "POST", "/usage/batch", json={"records": [
        {"agent_id": "worker-1", "model": "model-a", "input_tokens": 12000, "output_tokens": 3400, "cost_estimate": 0.5},
        {"agent_id": "worker-2", "model": "model-b", "input_tokens": 800, "output_tokens": 90, "cost_estimate": 1.25},
        {"agent_id": "worker-1", "model": "model-b", "input_tokens": 100, "output_tokens": 10},
    ]})
    summary = api(live, "GET", "/usage/summary")
    tab = await tab_factory(live.url)
    page = await tab.goto("/usage")
    await expect(page.locator("#usage-total-cost")).to_have_text(money(summary["total_cost"]))
    await expect(page.locator("#usage-requests")).to_have_text(str(summary["request_count"]))
    await expect(page.locator("#usage-input")).to_have_text(f"{summary['total_input_tokens']:,}")
    await expect(page.locator("#usage-output")).to_have_text(f"{summary['total_output_tokens']:,}")
    rows = page.locator("#usage-by-agent tbody tr")
    await expect(rows).to_have_count(len(summary["items"]))
    first = summary["items"][0]
    await expect(rows.first).to_contain_text(first["agent_id"])
    await expect(rows.first).to_contain_text(money(first["total_cost"]))
    await expect(page.locator("#usage-totals")).to_contain_text("1 without a price")
    days = api(live, "GET", "/usage/summary", params={"group_by": "day"})["items"]
    await expect(page.locator("#usage-by-day .day-bar")).to_have_count(len({item["day"] for item in days}))

    # a record made over the API while the page is open
    api(live, "POST", "/usage", json={"agent_id": "worker-3", "model": "model-a", "input_tokens": 5,
                                      "output_tokens": 5, "cost_estimate": 0.25})
    await expect(page.locator("#usage-requests")).to_have_text(str(summary["request_count"] + 1), timeout=SECOND_MS)
    await expect(page.locator("#usage-by-agent")).to_contain_text("worker-3")

    # the budget from the page: 1.50 a day, already spent, so the limit alert goes out
    await page.locator("#budget-daily").fill("1.5")
    await page.locator("#budget-form button[type=submit]").click()
    await expect(page.locator("#budget-form .form-status")).to_have_attribute("data-kind", "ok")
    assert api(live, "GET", "/usage/budget")["daily_limit"] == 1.5
    await expect(page.locator("#budget-status")).to_contain_text("of $1.50")
    await expect(page.locator("#usage-alerts")).to_contain_text("limit")
    alerts = api(live, "GET", "/usage/alerts")
    await expect(page.locator("#usage-alerts li")).to_have_count(alerts["total"])
    await tab.screenshot("usage")

    # a refused value is shown next to its field
    await page.locator("#budget-threshold").fill("250")
    await page.locator("#budget-form button[type=submit]").click()
    await expect(page.locator('#budget-form [data-error-for="threshold_percent"]')).to_be_visible()

    page = await tab.goto("/usage?agent_id=worker-2")
    await expect(rows).to_have_count(1)
    await expect(page.locator("#usage-total-cost")).to_have_text("$1.25")
    page = await tab.goto("/")
    await expect(page.locator("#panel-usage")).to_contain_text("of $1.50")
    tab.assert_clean(refused=(400,))


async def test_no_usage_page_without_the_usage_plugin(repo, live_server_factory, tab_factory):
    live = live_server_factory("--plugins", "issues,locks")
    tab = await tab_factory(live.url)
    page = await tab.goto("/")
    await expect(page.locator(".site-nav")).not_to_contain_text("Usage")
    await expect(page.locator(".site-nav")).not_to_contain_text("Orchestrator")
    assert httpx.get(f"{live.url}/usage").status_code == 404
    tab.assert_clean()
