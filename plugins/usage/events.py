"""Events of the ``usage`` channel."""

from __future__ import annotations

from typing import Literal

from kernel import Event


class UsageRecorded(Event):
    """Calls were recorded through the API (one event per request, batch or not), after the
    commit. Rows the crosslink CLI writes are not announced."""

    type = "usage_recorded"
    channel = "usage"

    count: int
    agent_ids: list[str]


class UsageBudgetAlert(Event):
    """Spend crossed a budget's alert threshold (``level: "threshold"``) or its limit
    (``"limit"``). Sent once per budget, level and UTC period (day or month), however many
    servers share the database; a budget changed to another amount may alert again.
    ``agent_id`` is null for the overall budget (``scope: "overall"``)."""

    type = "usage_budget_alert"
    channel = "usage"

    scope: Literal["overall", "agent"]
    agent_id: str | None
    period: Literal["day", "month"]
    period_start: str
    level: Literal["threshold", "limit"]
    spent: float
    limit: float
    threshold_percent: float


class UsageBudgetChanged(Event):
    """The budgets were changed with ``PATCH /usage/budget``; ``agent_ids`` are the agents whose
    budget was set or removed."""

    type = "usage_budget_changed"
    channel = "usage"

    agent_ids: list[str]


EVENTS = [UsageRecorded, UsageBudgetAlert, UsageBudgetChanged]
