"""The ``usage`` service other plugins may call: ``kernel.services.get("usage")``.

Plugins must not import this plugin; this module only documents the duck type. Records and
sums are the API's dictionaries (see the plugin's README). Errors are :class:`kernel.APIError`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class UsageAPI(Protocol):
    async def budget_status(self, agent_id: str | None = None) -> dict[str, Any]:
        """Spend in the current UTC day and month against the budgets: ``{threshold_percent,
        overall: {daily, monthly}, agents: [{agent_id, daily, monthly}]}``, each period
        ``{period_start, spent, limit, percent, level}`` (``level``: ``ok``, ``threshold``,
        ``limit``, or ``None`` without a limit). An orchestrator can refuse to start an agent
        whose budget is spent."""

    async def summarize(self, agent_id: str | None = None, model: str | None = None,
                        start: datetime | None = None, to: datetime | None = None, *,
                        by_day: bool = False) -> dict[str, Any]:
        """What ``GET /usage/summary`` answers (totals, ``items`` by agent and model, and by
        UTC day with ``by_day``, ``budget``) for those filters; ``start``/``to`` inclusive,
        aware datetimes."""

    async def budget(self) -> dict[str, Any]:
        """What ``GET /usage/budget`` answers: the limits and the spend against them."""

    async def alerts(self, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """What ``GET /usage/alerts`` answers, as ``(items, total)``, newest first."""

    async def check_budgets(self) -> int:
        """Check every budget now (rows the CLI wrote included); the number of new alerts."""
