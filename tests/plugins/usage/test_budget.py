"""Budgets: ``GET``/``PATCH /usage/budget``, spend against them, and ``usage_budget_alert``
sent exactly once per budget, level and UTC period (the clock moved by hand across days and
months)."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import BACKENDS, receive_json

from .conftest import expected_cost

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def spend(api, cost: float, agent: str = "w1", **extra) -> None:
    await api.record(agent_id=agent, input_tokens=10, output_tokens=10, cost_estimate=cost, **extra)


def alert(level: str, period: str, period_start: str, spent: float, limit: float, *, agent: str | None = None,
          threshold: float = 80.0) -> dict:
    return {"type": "usage_budget_alert", "scope": "overall" if agent is None else "agent", "agent_id": agent,
            "period": period, "period_start": period_start, "level": level, "spent": pytest.approx(spent),
            "limit": limit, "threshold_percent": threshold}


async def test_the_budget_starts_empty(api):
    body = await api.get("/usage/budget")
    assert body["threshold_percent"] == 80.0
    assert (body["daily_limit"], body["monthly_limit"], body["agents"], body["updated_at"]) == (None, None, {}, None)
    overall = body["status"]["overall"]
    assert overall["daily"] == {"period_start": "2026-03-10", "spent": 0.0, "limit": None, "percent": None, "level": None}
    assert overall["monthly"]["period_start"] == "2026-03"
    assert body["status"]["agents"] == []


async def test_patch_merges(api, clock, watch):
    body = await api.patch_budget(daily_limit=10, agents={"w1": {"daily_limit": 2}, "w2": {"monthly_limit": 30}})
    assert (body["threshold_percent"], body["daily_limit"], body["monthly_limit"]) == (80.0, 10.0, None)
    assert body["agents"] == {"w1": {"daily_limit": 2.0, "monthly_limit": None},
                              "w2": {"daily_limit": None, "monthly_limit": 30.0}}
    assert body["updated_at"] == "2026-03-10T03:15:00Z"
    clock.advance(minutes=1)
    body = await api.patch_budget(monthly_limit=100, threshold_percent=50,
                                  agents={"w1": {"monthly_limit": 20}, "w2": None, "w3": {"daily_limit": 1}})
    assert (body["threshold_percent"], body["daily_limit"], body["monthly_limit"]) == (50.0, 10.0, 100.0)
    assert body["agents"] == {"w1": {"daily_limit": 2.0, "monthly_limit": 20.0},
                              "w3": {"daily_limit": 1.0, "monthly_limit": None}}
    assert body["updated_at"] == "2026-03-10T03:16:00Z"
    body = await api.patch_budget(daily_limit=None, agents={"w1": {"daily_limit": None, "monthly_limit": None}})
    assert (body["daily_limit"], body["monthly_limit"]) == (None, 100.0)
    assert body["agents"] == {"w3": {"daily_limit": 1.0, "monthly_limit": None}}
    assert await api.get("/usage/budget") == body
    assert [e for e in await watch.events() if e["type"] == "usage_budget_changed"] == [
        {"type": "usage_budget_changed", "agent_ids": ["w1", "w2"]},
        {"type": "usage_budget_changed", "agent_ids": ["w1", "w2", "w3"]},
        {"type": "usage_budget_changed", "agent_ids": ["w1"]},
    ]


async def test_a_daily_budget_warns_once_at_the_threshold_and_once_at_the_limit_each_day(api, clock, watch):
    await api.patch_budget(daily_limit=1.0)
    await spend(api, 0.5)
    assert await watch.alerts() == []
    await spend(api, 0.35)  # 0.85: past 80 %
    assert await watch.alerts() == [alert("threshold", "day", "2026-03-10", 0.85, 1.0)]
    await spend(api, 0.1)  # 0.95
    await spend(api, 0.04)  # 0.99
    assert await watch.alerts() == []
    await spend(api, 0.02, agent="w2")  # 1.01: the overall limit counts every agent
    assert await watch.alerts() == [alert("limit", "day", "2026-03-10", 1.01, 1.0)]
    for _ in range(3):
        await spend(api, 0.5)
    assert await watch.alerts() == []
    # the next UTC day starts again; one request that crosses both levels sends both
    clock.advance(hours=20, minutes=45)  # 2026-03-11T00:00:00Z
    await spend(api, 0.7)
    assert await watch.alerts() == []
    await spend(api, 0.4)
    assert await watch.alerts() == [alert("threshold", "day", "2026-03-11", 1.1, 1.0),
                                    alert("limit", "day", "2026-03-11", 1.1, 1.0)]
    await spend(api, 0.4)
    assert await watch.alerts() == []
    listed = await api.get("/usage/alerts")
    assert listed["total"] == 4
    assert [(a["period_start"], a["level"]) for a in listed["items"]] == [
        ("2026-03-11", "limit"), ("2026-03-11", "threshold"), ("2026-03-10", "limit"), ("2026-03-10", "threshold")]
    assert listed["items"][0]["created_at"] == "2026-03-11T00:00:00Z"


async def test_a_monthly_budget_spans_the_days_of_a_utc_month(api, clock, watch):
    await api.patch_budget(monthly_limit=10.0, threshold_percent=50)
    for _ in range(4):
        await spend(api, 1.2)
        clock.advance(days=1)
    assert await watch.alerts() == []
    await spend(api, 0.3)  # 5.1 in March
    assert await watch.alerts() == [alert("threshold", "month", "2026-03", 5.1, 10.0, threshold=50.0)]
    clock.advance(days=20)  # 2026-04-03: a new month
    await spend(api, 5.0)
    assert await watch.alerts() == [alert("threshold", "month", "2026-04", 5.0, 10.0, threshold=50.0)]
    await spend(api, 4.99)
    await spend(api, 0.01)
    assert await watch.alerts() == [alert("limit", "month", "2026-04", 10.0, 10.0, threshold=50.0)]
    status = (await api.get("/usage/summary"))["budget"]["overall"]["monthly"]
    assert status == {"period_start": "2026-04", "spent": pytest.approx(10.0), "limit": 10.0, "percent": 100.0,
                      "level": "limit"}


async def test_an_agent_budget_counts_that_agent_only(api, watch):
    await api.patch_budget(agents={"w1": {"daily_limit": 1.0, "monthly_limit": 3.0}}, daily_limit=50)
    await spend(api, 5.0, agent="w2")
    await spend(api, 0.7, agent="w1")
    assert await watch.alerts() == []
    await spend(api, 0.2, agent="w1")
    assert await watch.alerts() == [alert("threshold", "day", "2026-03-10", 0.9, 1.0, agent="w1")]
    await spend(api, 1.5, agent="w1")  # 2.4 today, 2.4 this month (80 % of 3)
    assert await watch.alerts() == [alert("limit", "day", "2026-03-10", 2.4, 1.0, agent="w1"),
                                    alert("threshold", "month", "2026-03", 2.4, 3.0, agent="w1")]
    status = (await api.get("/usage/summary", agent_id="w1"))["budget"]
    assert status["overall"]["daily"]["spent"] == pytest.approx(7.4)
    [agent] = status["agents"]
    assert agent["agent_id"] == "w1"
    assert agent["daily"] == {"period_start": "2026-03-10", "spent": pytest.approx(2.4), "limit": 1.0,
                              "percent": 240.0, "level": "limit"}
    assert agent["monthly"]["level"] == "threshold" and agent["monthly"]["percent"] == 80.0
    assert (await api.get("/usage/summary", agent_id="w2"))["budget"]["agents"] == []


async def test_a_changed_budget_warns_again_and_a_lowered_one_warns_at_once(api, watch):
    await api.patch_budget(daily_limit=1.0)
    await spend(api, 1.05)
    assert [a["level"] for a in await watch.alerts()] == ["threshold", "limit"]
    await api.patch_budget(daily_limit=2.0)  # 1.05 is below 1.6: nothing yet
    assert await watch.alerts() == []
    await spend(api, 0.6)
    assert await watch.alerts() == [alert("threshold", "day", "2026-03-10", 1.65, 2.0)]
    await api.patch_budget(daily_limit=1.5)  # already spent: the PATCH itself warns
    assert await watch.alerts() == [alert("threshold", "day", "2026-03-10", 1.65, 1.5),
                                    alert("limit", "day", "2026-03-10", 1.65, 1.5)]
    await api.patch_budget(daily_limit=1.5)  # the same budget again: nothing new
    assert await watch.alerts() == []


async def test_estimated_costs_count_against_the_budget(api, watch):
    await api.patch_budget(daily_limit=1.0, threshold_percent=100)
    cost = expected_cost("claude-sonnet-4-5", 200_000, 40_000, None, None)  # 0.6 + 0.6
    body = await api.record(agent_id="w1", input_tokens=200_000, output_tokens=40_000, model="claude-sonnet-4-5")
    assert body["cost_source"] == "estimated" and body["cost_estimate"] == pytest.approx(cost)
    assert await watch.alerts() == [alert("limit", "day", "2026-03-10", cost, 1.0, threshold=100.0)]


async def test_rows_the_cli_writes_are_checked_by_the_worker(api, watch):
    await api.patch_budget(daily_limit=1.0)
    assert await watch.alerts() == []
    # no cost stored: priced from the price table (gpt-4o, 2.5 per million input tokens)
    await api.cli_insert("cli-agent", "2026-03-10T02:00:00.000000+00:00", 400_000, 0, model="gpt-4o")
    assert api.kernel.workers.wake("usage-budgets")
    seen = []
    while not any(e.get("level") == "threshold" for e in seen):
        message = await receive_json(watch.connection, 10.0)
        if message["type"] == "usage_budget_alert":
            seen.append({k: v for k, v in message.items() if k not in ("seq", "event_id")})
    assert seen == [alert("threshold", "day", "2026-03-10", 1.0, 1.0)]
    # the limit (1.0 exactly) was reached too, in the same check
    assert [a["level"] for a in (await api.get("/usage/alerts"))["items"]] == ["limit", "threshold"]
    assert await watch.alerts() == [alert("limit", "day", "2026-03-10", 1.0, 1.0)]
    assert api.kernel.workers.wake("usage-budgets")
    await asyncio.sleep(0.2)
    assert await watch.alerts() == []


async def test_the_summary_shows_spend_against_the_budget(api, clock):
    await api.patch_budget(daily_limit=4.0, monthly_limit=100.0, agents={"w2": {"daily_limit": 1.0}})
    await spend(api, 1.0)
    await spend(api, 0.5, agent="w2")
    clock.advance(days=1)
    await spend(api, 2.0)
    budget = (await api.get("/usage/summary"))["budget"]
    assert budget["threshold_percent"] == 80.0
    assert budget["overall"]["daily"] == {"period_start": "2026-03-11", "spent": 2.0, "limit": 4.0, "percent": 50.0,
                                          "level": "ok"}
    assert budget["overall"]["monthly"] == {"period_start": "2026-03", "spent": 3.5, "limit": 100.0, "percent": 3.5,
                                            "level": "ok"}
    assert [a["agent_id"] for a in budget["agents"]] == ["w2"]
    assert budget["agents"][0]["daily"]["spent"] == 0.0 and budget["agents"][0]["monthly"]["spent"] == 0.5
    assert budget["agents"][0]["monthly"]["limit"] is None and budget["agents"][0]["monthly"]["level"] is None
