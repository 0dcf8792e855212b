"""Usage: the domain logic behind the routes and the ``usage`` service.

Recording is one write transaction: lost rollup triggers are put back first (SQLite), every
named session is checked, the rows are inserted (see :meth:`Records.insert` for the order),
costs the server estimated are marked, and, when a budget is set, the budgets of the agents
involved are checked under the budget lock (a PostgreSQL advisory lock; on SQLite the
transaction already excludes every other writer) so the alert goes out exactly once, with the
rows that crossed it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kernel.api import BadRequest, IntegrityError, to_db

from .budget import BUDGET_LOCK, Budgets, budget_out
from .config import UsageConfig
from .events import UsageRecorded
from .prices import PriceTable
from .records import NewRow, Records
from .rollup import Rollups
from .schemas import BudgetPatch, RecordIn
from .summary import Filters, Summaries
from .timekeys import MICROSECOND

if TYPE_CHECKING:
    from kernel.app import Kernel


def span(start: datetime | None, to: datetime | None, field: str = "from") -> tuple[datetime | None, datetime | None]:
    """``from``/``to`` (both inclusive) as the half-open ``[start, end)``; 400 when reversed."""
    if start is not None and to is not None and start > to:
        raise BadRequest(f"{field} must not be after to", fields=[{"field": field, "message": "is after to"}])
    return start, None if to is None else to + MICROSECOND


class UsageService:
    """Token usage and cost; also what other plugins get as ``services.get("usage")``."""

    def __init__(self, kernel: Kernel, config: UsageConfig) -> None:
        self.kernel = kernel
        self.db = kernel.db
        self.config = config
        self.prices = PriceTable(config.prices)
        self.rollups = Rollups(kernel.db)
        self.records = Records(kernel.db, self.prices)
        self.summaries = Summaries(kernel.db, self.prices)
        self.budgets = Budgets(kernel, self.prices)

    # --- writing -------------------------------------------------------------------------------

    def _settle(self, record: RecordIn, stamp: str) -> NewRow:
        cost, estimated = record.cost_estimate, False
        if cost is None:
            cost = self.prices.estimate(record.model, record.input_tokens, record.output_tokens,
                                        record.cache_read_tokens or 0, record.cache_creation_tokens or 0)
            estimated = cost is not None
        return NewRow(
            agent_id=record.agent_id, session_id=record.session_id, timestamp=stamp,
            input_tokens=record.input_tokens, output_tokens=record.output_tokens,
            cache_read_tokens=record.cache_read_tokens, cache_creation_tokens=record.cache_creation_tokens,
            model=record.model, cost_estimate=cost, estimated=estimated,
        )

    async def record(self, records: Sequence[RecordIn],
                     field_of: Callable[[int], str] = lambda i: "") -> list[dict[str, Any]]:
        """Store calls (all or none) at the server's time; the stored rows, in the given order.

        ``field_of(i)`` prefixes the field names of record ``i`` in errors (``records.3.``).
        """
        now = self.kernel.clock.now()
        stamp = to_db(now)
        rows = [self._settle(record, stamp) for record in records]
        agents = {row.agent_id for row in rows}
        try:
            async with self.db.transaction():
                await self.rollups.ensure()
                await self._check_sessions(rows, field_of)
                budget = await self.budgets.load(agents)
                if budget.active:
                    await self.db.serialise(BUDGET_LOCK)
                    budget = await self.budgets.load(agents)
                ids = await self.records.insert(rows)
                await self.budgets.check(now, budget, agents)
                self.kernel.publish(UsageRecorded(count=len(rows), agent_ids=sorted(agents)))
        except IntegrityError:  # a session deleted between the check and the insert
            await self._check_sessions(rows, field_of)
            raise
        return [self._stored(usage_id, row) for usage_id, row in zip(ids, rows)]

    async def _check_sessions(self, rows: Sequence[NewRow], field_of: Callable[[int], str]) -> None:
        named = {row.session_id for row in rows if row.session_id is not None}
        if not named:
            return
        missing = await self.records.missing_sessions(named)
        if not missing:
            return
        first = next(i for i, row in enumerate(rows) if row.session_id in missing)
        field = f"{field_of(first)}session_id"
        raise BadRequest(
            f"{field}: no session {rows[first].session_id} (the sessions table has no such id)",
            fields=[{"field": field, "message": f"no session {rows[first].session_id}"}],
        )

    def _stored(self, usage_id: int, row: NewRow) -> dict[str, Any]:
        return self.records.shape({
            "id": usage_id, **{name: getattr(row, name) for name in (
                "agent_id", "session_id", "timestamp", "input_tokens", "output_tokens", "cache_read_tokens",
                "cache_creation_tokens", "model", "cost_estimate", "estimated")},
        })

    # --- reading -------------------------------------------------------------------------------

    async def list(self, filters: Filters, start: datetime | None, to: datetime | None, *,
                   limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """One page of rows, newest first, and how many rows match in all."""
        await self.rollups.check()
        low, high = span(start, to)
        counter = self.records.count if filters.session_id is not None else self.summaries.count
        if not self.db.is_sqlite:
            return tuple(await self._together(self.records.page(low, high, filters, limit, offset),
                                              counter(low, high, filters)))
        items = await self.records.page(low, high, filters, limit, offset)
        if len(items) < limit and (items or not offset):
            return items, offset + len(items)
        return items, await counter(low, high, filters)

    async def summary(self, filters: Filters, start: datetime | None, to: datetime | None, *,
                      by_day: bool = False) -> dict[str, Any]:
        """Sums by agent and model (and day) with totals, and spend against the budgets."""
        await self.rollups.check()
        low, high = span(start, to)
        result, budget = await self._together(self.summaries.summary(low, high, filters, by_day=by_day),
                                              self.budget_status(filters.agent_id))
        result["budget"] = budget
        return result

    async def summarize(self, agent_id: str | None = None, model: str | None = None,
                        start: datetime | None = None, to: datetime | None = None, *,
                        by_day: bool = False) -> dict[str, Any]:
        """``GET /usage/summary`` from plain arguments, for other plugins (the dashboard):
        the same answer as the route's for ``agent_id``, ``model``, ``from`` and ``to``."""
        return await self.summary(Filters(agent_id=agent_id, model=model), start, to, by_day=by_day)

    async def budget_status(self, agent_id: str | None = None) -> dict[str, Any]:
        """Spend in the current UTC day and month against the budgets (overall and agents')."""
        now = self.kernel.clock.now()
        budget, spending = await self._together(self.budgets.load(), self.budgets.spending(now))
        return await self.budgets.status(now, budget, agent_id, spending)

    async def budget(self) -> dict[str, Any]:
        """The budgets and the spend against them."""
        budget = await self.budgets.load()
        status = await self.budgets.status(self.kernel.clock.now(), budget)
        return {**budget_out(budget), "status": status}

    async def update_budget(self, patch: BudgetPatch) -> dict[str, Any]:
        """Change the budgets (a merge patch); alerts now due are sent at once."""
        budget = await self.budgets.update(patch)
        status = await self.budgets.status(self.kernel.clock.now(), budget)
        return {**budget_out(budget), "status": status}

    async def alerts(self, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return await self.budgets.alerts(limit, offset)

    async def _together(self, *reads: Awaitable[Any]) -> list[Any]:
        """Independent reads: at once on PostgreSQL (each on a pooled connection), one after
        the other on SQLite's single connection."""
        if self.db.is_sqlite:
            return [await read for read in reads]
        return list(await asyncio.gather(*reads))

    # --- background ----------------------------------------------------------------------------

    async def check_budgets(self) -> int:
        """Check every budget against every row (the CLI's included); the new alerts' count."""
        await self.rollups.check()
        budget = await self.budgets.load()
        if not budget.active:
            return 0
        async with self.db.transaction():
            await self.db.serialise(BUDGET_LOCK)
            budget = await self.budgets.load()
            return await self.budgets.check(self.kernel.clock.now(), budget)
