"""Sums over any span, read from the rollups: monthly buckets for whole UTC months, daily ones
for whole days at the ends, hourly ones for whole hours at the ends of those, raw rows (through
the index on ``timestamp``) for the part of an hour at each edge; an end may also be read as the
coarser bucket around it minus the finer parts outside the span, when that is shorter
(:func:`timekeys.plan`). One statement: the parts (signed) are ``UNION ALL``-ed and grouped
again.

Costs: ``cost`` in the rollups is what the rows store (reported by the caller, or estimated by
the server when it stored them: ``estimated_cost``); rows stored without a cost are priced here
from the price table, per model, and counted as estimated; the rest is ``unpriced``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .prices import PriceTable
from .rollup import DAILY, ESTIMATED, REAL_VALUES, TABLES, VALUES, contributions
from .timekeys import Plan, key, plan

if TYPE_CHECKING:
    from kernel.storage.database import Database


@dataclass(frozen=True)
class Filters:
    """Equality filters of a summary or a listing (``None``: any)."""

    agent_id: str | None = None
    model: str | None = None
    session_id: int | None = None


def money(value: float) -> float:
    """Dollars as answered: float noise from long sums rounded away, never ``-0.0``."""
    value = round(float(value), 10)
    return 0.0 if abs(value) < 1e-10 else value


def time_column(db: Database, column: str) -> str:
    """A timestamp column compared bytewise (PostgreSQL: the ``C`` collation, whatever the
    database's default)."""
    return column if db.is_sqlite else f'{column} COLLATE "C"'


def raw_conditions(db: Database, span: tuple[datetime | None, datetime | None], filters: Filters,
                   alias: str = "t") -> tuple[list[str], list[Any]]:
    """``WHERE`` conditions on raw rows: the span ``[lo, hi)`` and the filters."""
    conditions, params = [], []
    column = time_column(db, f"{alias}.timestamp")
    low, high = span
    if low is not None:
        conditions.append(f"{column} >= ?")
        params.append(key(low))
    if high is not None:
        conditions.append(f"{column} < ?")
        params.append(key(high))
    for name in ("agent_id", "model", "session_id"):
        value = getattr(filters, name)
        if value is not None:
            conditions.append(f"{alias}.{name} = ?")
            params.append(value)
    return conditions, params


def _bucket_conditions(bucket: str, low: str | None, high: str | None, filters: Filters) -> tuple[list[str], list[Any]]:
    conditions, params = [], []
    if low is not None:
        conditions.append(f"{bucket} >= ?")
        params.append(low)
    if high is not None:
        conditions.append(f"{bucket} < ?")
        params.append(high)
    for name in ("agent_id", "model"):
        value = getattr(filters, name)
        if value is not None:
            conditions.append(f"{name} = ?")
            params.append(value)
    return conditions, params


def _where(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


class Summaries:
    """Grouped sums and counts of ``token_usage`` over a span, with costs priced."""

    def __init__(self, db: Database, prices: PriceTable) -> None:
        self.db = db
        self.prices = prices

    @staticmethod
    def plan_for(start: datetime | None, end: datetime | None, filters: Filters, by_day: bool = False) -> Plan:
        """The rollups know no sessions: a session's rows (few) are read raw. Sums by day stop
        at the daily rollup."""
        if filters.session_id is not None:
            return Plan(raw=((start, end, 1),)) if start is None or end is None or start < end else Plan()
        return plan(start, end, "day" if by_day else "month")

    # --- statements ----------------------------------------------------------------------------

    def _grouped_parts(self, span_plan: Plan, filters: Filters, by_day: bool) -> tuple[list[str], list[Any]]:
        parts, params = [], []
        for bucket, low, high, sign in span_plan.buckets:
            table = TABLES[bucket]
            day = (bucket if table == DAILY else f"substr({bucket}, 1, 10)") if by_day else "NULL"
            conditions, values = _bucket_conditions(bucket, low, high, filters)
            group = ", day" if by_day else ""
            sums = ", ".join(f"{sign} * sum({name}) AS {name}" for name in VALUES)
            parts.append(f"SELECT agent_id, model, {day} AS day, {sums} FROM {table}{_where(conditions)} "
                         f"GROUP BY agent_id, model{group}")
            params += values
        for low, high, sign in span_plan.raw:
            day = "substr(t.timestamp, 1, 10)" if by_day else "NULL"
            conditions, values = raw_conditions(self.db, (low, high), filters)
            group = f", {day}" if by_day else ""
            raw_sums = ", ".join(f"{sign} * sum({value}) AS {name}"
                                 for name, value in zip(VALUES, contributions("t", "e.usage_id IS NOT NULL")))
            parts.append(
                f"SELECT t.agent_id AS agent_id, t.model AS model, {day} AS day, {raw_sums} "
                f"FROM token_usage t LEFT JOIN {ESTIMATED} e ON e.usage_id = t.id{_where(conditions)} "
                f"GROUP BY t.agent_id, t.model{group}"
            )
            params += values
        return parts, params

    async def groups(self, start: datetime | None, end: datetime | None, filters: Filters,
                     *, by_day: bool = False) -> list[dict[str, Any]]:
        """Raw sums (the rollup columns) per agent and model (and day) over ``[start, end)``."""
        parts, params = self._grouped_parts(self.plan_for(start, end, filters, by_day), filters, by_day)
        if not parts:
            return []
        sums = ", ".join(
            f"coalesce(sum({name}), 0) AS {name}" if name in REAL_VALUES
            else f"CAST(coalesce(sum({name}), 0) AS BIGINT) AS {name}"  # PostgreSQL: int, not decimal
            for name in VALUES
        )
        rows = await self.db.fetch_all(
            f"SELECT agent_id, model, day, {sums} FROM ({' UNION ALL '.join(parts)}) parts "
            "GROUP BY agent_id, model, day HAVING sum(requests) <> 0",
            params,
        )
        return rows

    async def count(self, start: datetime | None, end: datetime | None, filters: Filters) -> int:
        """How many rows ``[start, end)`` and the filters select."""
        span_plan = self.plan_for(start, end, filters)
        parts, params = [], []
        for bucket, low, high, sign in span_plan.buckets:
            conditions, values = _bucket_conditions(bucket, low, high, filters)
            parts.append(f"SELECT {sign} * sum(requests) AS n FROM {TABLES[bucket]}{_where(conditions)}")
            params += values
        for low, high, sign in span_plan.raw:
            conditions, values = raw_conditions(self.db, (low, high), filters)
            parts.append(f"SELECT {sign} * count(*) AS n FROM token_usage t{_where(conditions)}")
            params += values
        if not parts:
            return 0
        total = await self.db.fetch_value(
            f"SELECT coalesce(sum(n), 0) AS total FROM ({' UNION ALL '.join(parts)}) parts", params
        )
        return int(total or 0)

    # --- pricing -------------------------------------------------------------------------------

    def item(self, group: dict[str, Any]) -> dict[str, Any]:
        """A group's sums as the API answers them (money not rounded yet), the rows stored
        without a cost priced now."""
        model, cost, stored_estimates = group["model"], group["cost"], group["estimated_cost"]
        uncosted, now_estimated, unpriced = group["uncosted_requests"], 0.0, 0
        if uncosted:
            estimate = self.prices.estimate(model, group["uncosted_input_tokens"], group["uncosted_output_tokens"],
                                            group["uncosted_cache_read_tokens"], group["uncosted_cache_creation_tokens"])
            if estimate is None:
                unpriced = uncosted
            else:
                now_estimated = estimate
        return {
            "agent_id": group["agent_id"],
            "model": model,
            "day": group["day"],
            "request_count": group["requests"],
            "total_input_tokens": group["input_tokens"],
            "total_output_tokens": group["output_tokens"],
            "total_cache_read_tokens": group["cache_read_tokens"],
            "total_cache_creation_tokens": group["cache_creation_tokens"],
            "total_cost": cost + now_estimated,
            "reported_cost": cost - stored_estimates,
            "estimated_cost": stored_estimates + now_estimated,
            "estimated_requests": group["estimated_requests"] + uncosted - unpriced,
            "unpriced_requests": unpriced,
        }

    async def summary(self, start: datetime | None, end: datetime | None, filters: Filters,
                      *, by_day: bool = False) -> dict[str, Any]:
        """Items by agent and model (and day), and their totals (without the budget part)."""
        items = [self.item(group) for group in await self.groups(start, end, filters, by_day=by_day)]
        if by_day:
            items.sort(key=lambda i: (i["day"], -i["total_cost"], i["agent_id"], i["model"]))
        else:
            items.sort(key=lambda i: (-i["total_cost"], i["agent_id"], i["model"]))
        totals = dict.fromkeys(SUM_KEYS, 0)
        for item in items:
            for name in SUM_KEYS:
                totals[name] += item[name]
            finish(item)
        return {**finish(totals), "items": items}


SUM_KEYS = (
    "request_count", "total_input_tokens", "total_output_tokens", "total_cache_read_tokens",
    "total_cache_creation_tokens", "total_cost", "reported_cost", "estimated_cost", "estimated_requests",
    "unpriced_requests",
)
MONEY_KEYS = ("total_cost", "reported_cost", "estimated_cost")


def finish(sums: dict[str, Any]) -> dict[str, Any]:
    """Round the money, mark whether any of it is estimated (in place; returned)."""
    for name in MONEY_KEYS:
        sums[name] = money(sums[name])
    sums["cost_estimated"] = sums["estimated_requests"] > 0
    return sums
