"""The HTTP routes (relative to ``/api/v1``): record, list, summarise, budgets, alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from kernel.api import json_body, json_response, query_args, responds

from .schemas import (
    AlertListOut,
    AlertQuery,
    BatchIn,
    BatchOut,
    BudgetOut,
    BudgetPatch,
    ListQuery,
    RecordIn,
    SummaryOut,
    SummaryQuery,
    UsageListOut,
    UsageRecordOut,
)
from .summary import Filters

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .service import UsageService


def filters_of(query: ListQuery | SummaryQuery) -> Filters:
    return Filters(agent_id=query.agent_id, model=query.model, session_id=query.session_id)


def create_blueprint(kernel: Kernel) -> Blueprint:
    """The usage routes of one application."""
    usage: UsageService = kernel.services.require("usage")
    bp = Blueprint("usage", __name__)

    @bp.post("/usage")
    @json_body(RecordIn)
    @responds(UsageRecordOut, 201)
    async def record_usage(data: RecordIn):
        """Record one model call at the server's time: 201 with the stored row.

        400 naming the field for a negative or oversized number, a bad `agent_id` or `model`,
        or a `session_id` that no session has.
        """
        [stored] = await usage.record([data])
        return json_response(stored, 201)

    @bp.post("/usage/batch")
    @json_body(BatchIn)
    @responds(BatchOut, 201)
    async def record_usage_batch(data: BatchIn):
        """Record 1..1000 calls at once, all or none: 201 with the stored rows in order.

        A 400 names the first bad record and field (`records.3.input_tokens`); nothing is stored.
        """
        stored = await usage.record(data.records, lambda i: f"records.{i}.")
        return json_response({"items": stored, "count": len(stored)}, 201)

    @bp.get("/usage")
    @query_args(ListQuery)
    @responds(UsageListOut)
    async def list_usage(query: ListQuery):
        """Recorded calls, newest first, filtered; `from`/`to` are inclusive instants in any
        RFC 3339 form. `total` counts every match."""
        items, total = await usage.list(
            filters_of(query), query.from_, query.to, limit=query.limit, offset=query.offset
        )
        return json_response({"items": items, "total": total})

    @bp.get("/usage/summary")
    @query_args(SummaryQuery)
    @responds(SummaryOut)
    async def usage_summary(query: SummaryQuery):
        """Sums by agent and model (and UTC day with `group_by=day`), the totals, which costs
        were estimated, and spend in the current day and month against the budgets."""
        result = await usage.summary(filters_of(query), query.from_, query.to, by_day=query.group_by == "day")
        return json_response(result)

    @bp.get("/usage/budget")
    @responds(BudgetOut)
    async def get_budget():
        """The budgets (daily and monthly, overall and per agent; alert threshold) and the spend
        against them now."""
        return json_response(await usage.budget())

    @bp.patch("/usage/budget")
    @json_body(BudgetPatch)
    @responds(BudgetOut)
    async def patch_budget(data: BudgetPatch):
        """Change the budgets: omitted keys are kept, `null` removes a limit (or, in `agents`,
        the agent's budget). Alerts that the new budgets make due are sent at once."""
        return json_response(await usage.update_budget(data))

    @bp.get("/usage/alerts")
    @query_args(AlertQuery)
    @responds(AlertListOut)
    async def list_alerts(query: AlertQuery):
        """The budget alerts recorded (each sent once as `usage_budget_alert`), newest first."""
        items, total = await usage.alerts(query.limit, query.offset)
        return json_response({"items": items, "total": total})

    return bp
