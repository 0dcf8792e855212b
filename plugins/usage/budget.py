"""Budgets: limits per UTC day and month, overall and per agent; spend against them; alerts.

The budgets live in ``server_usage_budget`` (one row: the threshold percent and the overall
limits) and ``server_usage_agent_budgets`` (one row per agent). Spend is read from the daily
rollup (the current day) and the monthly one (the current month), rows without a cost priced
from the price table as the summary prices them.

An alert is recorded in ``server_usage_alerts`` under a unique key (scope, agent, period,
period start, level, amount) with ``INSERT ... ON CONFLICT DO NOTHING``, in the same
transaction as the rows that made the spend cross the amount, and its event is published only
when the insert took: one alert per budget, level and period, whichever server (of several on
one PostgreSQL database) got there first. The amount is part of the key, so a budget changed to
another limit can warn again in the same period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kernel.api import to_api, to_db

from .events import UsageBudgetAlert, UsageBudgetChanged
from .prices import PriceTable
from .rollup import DAILY, MONTHLY
from .schemas import DEFAULT_THRESHOLD_PERCENT, BudgetPatch
from .summary import money
from .timekeys import day_key, month_key

if TYPE_CHECKING:
    from kernel.app import Kernel

#: Every writer that may cross a budget serialises on this (PostgreSQL advisory lock), so a
#: check always sees the rows committed before it.
BUDGET_LOCK = "crosslink.usage.budget"
#: Spend within this much of an amount counts as reaching it (float noise of long sums).
EPSILON = 1e-9
PERIODS = (("day", 0), ("month", 1))


@dataclass
class Budget:
    """The budgets as stored. ``agents`` maps an agent to its (daily, monthly) limits."""

    threshold_percent: float = DEFAULT_THRESHOLD_PERCENT
    daily_limit: float | None = None
    monthly_limit: float | None = None
    agents: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    updated_at: str | None = None

    @property
    def overall(self) -> tuple[float | None, float | None]:
        return self.daily_limit, self.monthly_limit

    @property
    def active(self) -> bool:
        """Some limit is set."""
        return any(self.overall) or any(any(limits) for limits in self.agents.values())


@dataclass
class Spending:
    """Spend of the current UTC day and month (dollars), overall and per agent."""

    day: str
    month: str
    overall: list[float] = field(default_factory=lambda: [0.0, 0.0])
    agents: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0.0, 0.0]))

    def of(self, agent_id: str | None) -> list[float]:
        return self.overall if agent_id is None else self.agents.get(agent_id, [0.0, 0.0])


def period_spend(period_start: str, spent: float, limit: float | None, threshold_percent: float) -> dict[str, Any]:
    """One period's spend against its limit, as the API answers it."""
    if limit is None:
        return {"period_start": period_start, "spent": money(spent), "limit": None, "percent": None, "level": None}
    if spent + EPSILON >= limit:
        level = "limit"
    elif spent + EPSILON >= limit * threshold_percent / 100:
        level = "threshold"
    else:
        level = "ok"
    return {"period_start": period_start, "spent": money(spent), "limit": limit,
            "percent": round(spent / limit * 100, 2), "level": level}


class Budgets:
    """Reading and changing the budgets, spend against them, and the alerts."""

    def __init__(self, kernel: Kernel, prices: PriceTable) -> None:
        self.kernel = kernel
        self.db = kernel.db
        self.prices = prices

    # --- the budgets -----------------------------------------------------------------------------

    async def load(self, agents: Iterable[str] | None = None) -> Budget:
        """The budgets: the overall ones and those of ``agents`` (``None``: every agent), in one
        statement (at most a batch's 1000 agents are named)."""
        wanted = None if agents is None else sorted(set(agents))
        if wanted is None:
            only = ""
        else:
            only = f" WHERE agent_id IN ({', '.join('?' for _ in wanted)})" if wanted else " WHERE 1 = 0"
        rows = await self.db.fetch_all(
            "SELECT NULL AS agent_id, threshold_percent, daily_limit, monthly_limit, updated_at "
            "FROM server_usage_budget WHERE id = 1 UNION ALL "
            f"SELECT agent_id, NULL, daily_limit, monthly_limit, NULL FROM server_usage_agent_budgets{only}",
            wanted or [],
        )
        budget = Budget()
        for row in rows:
            limits = (_real(row["daily_limit"]), _real(row["monthly_limit"]))
            if row["agent_id"] is None:
                budget.threshold_percent = float(row["threshold_percent"])
                budget.daily_limit, budget.monthly_limit = limits
                budget.updated_at = row["updated_at"]
            else:
                budget.agents[row["agent_id"]] = limits
        budget.agents = dict(sorted(budget.agents.items()))
        return budget

    async def update(self, patch: BudgetPatch) -> Budget:
        """Apply a merge patch, then check the budgets at once (a lowered limit warns now)."""
        given = patch.model_fields_set
        now = self.kernel.clock.now()
        stamp = to_db(now)
        async with self.db.transaction():
            await self.db.serialise(BUDGET_LOCK)
            current = await self.load(patch.agents or ())
            threshold = patch.threshold_percent if "threshold_percent" in given else current.threshold_percent
            daily = patch.daily_limit if "daily_limit" in given else current.daily_limit
            monthly = patch.monthly_limit if "monthly_limit" in given else current.monthly_limit
            changed = await self.db.execute(
                "UPDATE server_usage_budget SET threshold_percent = ?, daily_limit = ?, monthly_limit = ?, "
                "updated_at = ? WHERE id = 1",
                [threshold, daily, monthly, stamp],
            )
            if not changed:
                await self.db.execute(
                    "INSERT INTO server_usage_budget (id, threshold_percent, daily_limit, monthly_limit, updated_at) "
                    "VALUES (1, ?, ?, ?, ?)",
                    [threshold, daily, monthly, stamp],
                )
            for agent_id, limits in sorted((patch.agents or {}).items()):
                old_daily, old_monthly = current.agents.get(agent_id, (None, None))
                if limits is not None:
                    named = limits.model_fields_set
                    new = (limits.daily_limit if "daily_limit" in named else old_daily,
                           limits.monthly_limit if "monthly_limit" in named else old_monthly)
                if limits is None or not any(new):
                    await self.db.execute("DELETE FROM server_usage_agent_budgets WHERE agent_id = ?", [agent_id])
                    continue
                await self.db.execute(
                    "INSERT INTO server_usage_agent_budgets (agent_id, daily_limit, monthly_limit, updated_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET daily_limit = excluded.daily_limit, "
                    "monthly_limit = excluded.monthly_limit, updated_at = excluded.updated_at",
                    [agent_id, new[0], new[1], stamp],
                )
            budget = await self.load()
            await self.check(now, budget)
            self.kernel.publish(UsageBudgetChanged(agent_ids=sorted(patch.agents or {})))
        return budget

    # --- spend ---------------------------------------------------------------------------------

    async def spending(self, now: datetime, agents: Iterable[str] | None = None) -> Spending:
        """Spend of ``now``'s UTC day and month, overall and per agent (``agents``: only those
        agents, and then no overall figure)."""
        today, month = day_key(now), month_key(now)
        wanted = None if agents is None else sorted(set(agents))
        if wanted is not None and not wanted:
            return Spending(day=today, month=month)
        only = "" if wanted is None else f" AND agent_id IN ({', '.join('?' for _ in wanted)})"
        sums = ("sum(cost) AS cost, sum(uncosted_requests) AS uncosted, sum(uncosted_input_tokens) AS input, "
                "sum(uncosted_output_tokens) AS output, sum(uncosted_cache_read_tokens) AS cache_read, "
                "sum(uncosted_cache_creation_tokens) AS cache_creation")
        rows = await self.db.fetch_all(
            f"SELECT agent_id, model, 1 AS today, {sums} FROM {DAILY} WHERE day = ?{only} GROUP BY agent_id, model "
            f"UNION ALL SELECT agent_id, model, 0 AS today, {sums} FROM {MONTHLY} WHERE month = ?{only} "
            "GROUP BY agent_id, model",
            [today, *(wanted or []), month, *(wanted or [])],
        )
        spending = Spending(day=today, month=month_key(now))
        for row in rows:
            cost = float(row["cost"] or 0.0)
            if int(row["uncosted"] or 0):
                estimate = self.prices.estimate(row["model"], int(row["input"] or 0), int(row["output"] or 0),
                                                int(row["cache_read"] or 0), int(row["cache_creation"] or 0))
                cost += estimate or 0.0
            targets = [spending.agents[row["agent_id"]]]
            if wanted is None:
                targets.append(spending.overall)
            for target in targets:
                target[0 if int(row["today"]) else 1] += cost
        return spending

    async def status(self, now: datetime, budget: Budget, agent_id: str | None = None,
                     spending: Spending | None = None) -> dict[str, Any]:
        """Spend against every budget now (``agent_id``: that agent's budget only);
        ``spending`` when the caller has read it already."""
        agents = sorted(budget.agents) if agent_id is None else [a for a in budget.agents if a == agent_id]
        if spending is None:
            spending = await self.spending(now)
        pct = budget.threshold_percent

        def spend(limits: tuple[float | None, float | None], spent: list[float]) -> dict[str, Any]:
            return {"daily": period_spend(spending.day, spent[0], limits[0], pct),
                    "monthly": period_spend(spending.month, spent[1], limits[1], pct)}

        return {
            "threshold_percent": pct,
            "overall": spend(budget.overall, spending.overall),
            "agents": [{"agent_id": a, **spend(budget.agents[a], spending.of(a))} for a in agents],
        }

    # --- alerts --------------------------------------------------------------------------------

    async def check(self, now: datetime, budget: Budget, agents: Iterable[str] | None = None) -> int:
        """Inside a write transaction: record and announce every alert now due (each once).

        ``agents``: only the overall budget and those agents' budgets can have moved (the rows
        just inserted); ``None``: check every budget. Returns the number of new alerts.
        """
        if not budget.active:
            return 0
        names = sorted(budget.agents) if agents is None else sorted(set(agents) & set(budget.agents))
        scopes: list[tuple[str | None, tuple[float | None, float | None]]] = []
        if any(budget.overall):
            scopes.append((None, budget.overall))
        scopes += [(name, budget.agents[name]) for name in names if any(budget.agents[name])]
        if not scopes:
            return 0
        spending = await self.spending(now, None if any(budget.overall) else names)
        periods = (spending.day, spending.month)
        fired = 0
        for agent_id, limits in scopes:
            spent = spending.of(agent_id)
            for (period, index), period_start in zip(PERIODS, periods):
                limit = limits[index]
                if limit is None:
                    continue
                for level, amount in self._levels(limit, budget.threshold_percent):
                    if spent[index] + EPSILON < amount:
                        continue
                    if await self._record_alert(now, agent_id, period, period_start, level, amount,
                                                spent[index], limit, budget.threshold_percent):
                        fired += 1
        return fired

    @staticmethod
    def _levels(limit: float, threshold_percent: float) -> list[tuple[str, float]]:
        if threshold_percent >= 100:
            return [("limit", limit)]
        return [("threshold", limit * threshold_percent / 100), ("limit", limit)]

    async def _record_alert(self, now: datetime, agent_id: str | None, period: str, period_start: str,
                            level: str, amount: float, spent: float, limit: float, threshold_percent: float) -> bool:
        scope = "overall" if agent_id is None else "agent"
        row = await self.db.fetch_one(
            "INSERT INTO server_usage_alerts (scope, agent_id, period, period_start, level, amount, spent, "
            "limit_amount, threshold_percent, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (scope, agent_id, period, period_start, level, amount) DO NOTHING RETURNING id",
            [scope, agent_id or "", period, period_start, level, amount, spent, limit, threshold_percent, to_db(now)],
        )
        if row is None:
            return False
        self.kernel.publish(UsageBudgetAlert(
            scope=scope, agent_id=agent_id, period=period, period_start=period_start, level=level,
            spent=money(spent), limit=limit, threshold_percent=threshold_percent,
        ))
        return True

    async def alerts(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """The recorded alerts, newest first, and how many there are."""
        rows = await self.db.fetch_all(
            "SELECT id, scope, agent_id, period, period_start, level, spent, limit_amount, threshold_percent, "
            "created_at FROM server_usage_alerts ORDER BY id DESC LIMIT ? OFFSET ?",
            [limit, offset],
        )
        total = await self.db.fetch_value("SELECT count(*) FROM server_usage_alerts")
        return [
            {"id": int(r["id"]), "scope": r["scope"], "agent_id": r["agent_id"] or None, "period": r["period"],
             "period_start": r["period_start"], "level": r["level"], "spent": money(r["spent"]),
             "limit": float(r["limit_amount"]), "threshold_percent": float(r["threshold_percent"]),
             "created_at": to_api(r["created_at"])}
            for r in rows
        ], int(total)


def budget_out(budget: Budget) -> dict[str, Any]:
    """The budgets as ``GET /usage/budget`` answers them (without the status)."""
    return {
        "threshold_percent": budget.threshold_percent,
        "daily_limit": budget.daily_limit,
        "monthly_limit": budget.monthly_limit,
        "agents": {a: {"daily_limit": d, "monthly_limit": m} for a, (d, m) in sorted(budget.agents.items())},
        "updated_at": to_api(budget.updated_at),
    }


def _real(value: Any) -> float | None:
    return None if value is None else float(value)
