"""The usage page (``/usage``): token usage and cost from the usage plugin's own figures (its
service answers what ``GET /usage/summary``, ``/usage/budget`` and ``/usage/alerts`` answer):
the totals, by agent and model, by UTC day, the budgets with their spend, and the alerts;
the budget is changed with ``PATCH /api/v1/usage/budget``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from quart import Blueprint

from ..declarations import DashboardPage
from .common import choice_arg, html, text_arg

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard

#: The periods the page offers, in days (``all``: no lower bound).
PERIODS = ("1", "7", "30", "90", "all")
#: What the usage plugin accepts as an agent id or a model name (anything else is no filter
#: but an error shown on the page).
NAME = re.compile(r"^[A-Za-z0-9._:@/+-]{1,128}$")
ALERTS = 20


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    """The usage page, on the ``usage`` service."""
    usage = kernel.services.require("usage")
    bp = Blueprint("dashboard_usage", __name__)

    @bp.get("/usage")
    async def usage_page():
        """``?days=1|7|30|90|all&agent_id=&model=``: totals, by agent and model, by day,
        budgets and alerts."""
        errors: dict[str, str] = {}
        days = choice_arg("days", PERIODS, "30", errors)
        filters = {}
        for name in ("agent_id", "model"):
            value = text_arg(name, errors, limit=128)
            if value and not NAME.match(value):
                errors[name] = "letters, digits and . _ : @ / + - only"
            elif value:
                filters[name] = value
        now = kernel.clock.now()
        start = None if days == "all" else (now - timedelta(days=int(days))).replace(microsecond=0)
        summary = await usage.summarize(start=start, **filters)
        by_day = await usage.summarize(start=start, by_day=True, **filters)
        budget = await usage.budget()
        alerts, alert_total = await usage.alerts(ALERTS, 0)
        days_rows = _days(by_day["items"])
        return await html(
            "dashboard/usage/page.html",
            status=400 if errors else 200,
            summary=summary, days=days_rows, peak=max((row["cost"] for row in days_rows), default=0) or 1,
            budget=budget, alerts=alerts, alert_total=alert_total,
            period=days, periods=PERIODS, filters=filters, errors=errors,
        )

    return DashboardPage("usage", "Usage", bp, order=70, shortcut="u")


def _days(items: list[dict]) -> list[dict]:
    """The by-day items summed per day (over agents and models), oldest first."""
    rows: dict[str, dict] = {}
    for item in items:
        row = rows.setdefault(item["day"], {"day": item["day"], "cost": 0.0, "requests": 0, "tokens": 0})
        row["cost"] += item["total_cost"] or 0
        row["requests"] += item["request_count"]
        row["tokens"] += item["total_input_tokens"] + item["total_output_tokens"]
    return [rows[day] for day in sorted(rows)]
