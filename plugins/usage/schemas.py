"""Request and response shapes of the usage routes (they are what ``/openapi.json`` shows).

Limits: ``agent_id`` is 1..128 characters of ``A-Z a-z 0-9 . _ : @ / -``; ``model`` 1..128
characters without spaces or control characters; token counts are whole numbers 0..10^9 per
call; ``cost_estimate`` a number 0..100,000 (dollars); a batch holds 1..1000 records. Times in
queries are RFC 3339 date-times with an offset (``Z``, ``+00:00``, ``+02:00``; any number of
fraction digits). Every violation is a 400 naming the field (``records.3.input_tokens`` in a
batch).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from kernel.api import parse_timestamp

AGENT_ID_MAX_CHARS = 128
MODEL_MAX_CHARS = 128
TOKENS_MAX = 1_000_000_000
COST_MAX = 100_000.0
LIMIT_MAX = 1_000_000_000.0
BATCH_MAX = 1000
LIST_LIMIT_DEFAULT = 50
LIST_LIMIT_MAX = 1000
OFFSET_MAX = 10_000_000
AGENT_BUDGETS_MAX = 1000
DEFAULT_THRESHOLD_PERCENT = 80.0
YEARS = (1900, 9000)

_AGENT_ID = re.compile(r"[A-Za-z0-9._:@/-]{1,128}")
_AGENT_CHAR = re.compile(r"[A-Za-z0-9._:@/-]")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def check_agent_id(value: str) -> str:
    """1..128 characters of ``[A-Za-z0-9._:@/-]``; anything else is refused (never trimmed)."""
    if not _AGENT_ID.fullmatch(value):
        if not value:
            problem = "must not be empty"
        elif len(value) > AGENT_ID_MAX_CHARS:
            problem = f"is {len(value)} characters long"
        else:
            bad = sorted({ch for ch in value if not _AGENT_CHAR.fullmatch(ch)})
            problem = "contains " + ", ".join(repr(ch) for ch in bad[:5])
        raise PydanticCustomError(
            "agent_id",
            "agent_id must be 1..128 characters of letters, digits and . _ : @ / - ({problem})",
            {"problem": problem},
        )
    return value


def check_name(what: str, limit: int):
    """1..``limit`` characters, none of them white space or a control character."""

    def check(value: str) -> str:
        if not value:
            raise PydanticCustomError("blank", "{what} must not be empty", {"what": what})
        if len(value) > limit:
            raise PydanticCustomError(
                "too_long", "{what} must be at most {limit} characters (got {size})",
                {"what": what, "limit": limit, "size": len(value)},
            )
        if any(ch.isspace() or not ch.isprintable() for ch in value):
            raise PydanticCustomError("characters", "{what} must not contain spaces or control characters",
                                      {"what": what})
        return value

    return AfterValidator(check)


def check_instant(value: str) -> datetime:
    """An RFC 3339 date-time with an offset, as the UTC instant it names."""
    moment = parse_timestamp(value) if _RFC3339.fullmatch(value.strip()) else None
    if moment is None:
        raise PydanticCustomError(
            "timestamp",
            "must be an RFC 3339 date-time with an offset, e.g. 2026-03-10T03:15:00Z or "
            "2026-03-10T05:15:00.5+02:00 (got {value!r})",
            {"value": value[:64]},
        )
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise PydanticCustomError("timestamp", "must be between the years {low} and {high}",
                                  {"low": YEARS[0], "high": YEARS[1]})
    return moment


AgentId = Annotated[
    str, AfterValidator(check_agent_id), Field(description="1..128 characters of letters, digits and `. _ : @ / -`.")
]
FilterText = Annotated[str, Field(min_length=1, max_length=256, description="Equality filter.")]
ModelName = Annotated[
    str, check_name("model", MODEL_MAX_CHARS),
    Field(description="1..128 characters, no spaces or control characters."),
]
TokenCount = Annotated[int, Field(ge=0, le=TOKENS_MAX, description="A whole number 0..1,000,000,000.")]
Instant = Annotated[
    str, AfterValidator(check_instant),
    Field(description="RFC 3339 date-time with an offset (`Z`, `+00:00`, `+02:00`; any fraction digits)."),
]
Limit = Annotated[float, Field(gt=0, le=LIMIT_MAX, allow_inf_nan=False, description="Dollars, > 0.")]


# --- requests ----------------------------------------------------------------------------------


class RecordIn(BaseModel):
    """One model call. The server sets the time. Without ``cost_estimate`` the price table of
    ``[plugins.usage]`` estimates it (when it knows the model)."""

    agent_id: AgentId
    input_tokens: TokenCount
    output_tokens: TokenCount
    session_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="An existing session (`sessions` table), or omitted."
    )
    cache_read_tokens: TokenCount | None = None
    cache_creation_tokens: TokenCount | None = None
    model: ModelName = "unknown"
    cost_estimate: float | None = Field(
        default=None, ge=0, le=COST_MAX, allow_inf_nan=False,
        description="The call's cost in dollars as the caller knows it; omitted: estimated from the price table.",
    )


class BatchIn(BaseModel):
    """Many calls in one request, stored all together or not at all."""

    records: list[RecordIn] = Field(min_length=1, max_length=BATCH_MAX, description="1..1000 records.")


class _Filters(BaseModel):
    agent_id: FilterText | None = None
    session_id: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    model: FilterText | None = None
    from_: Instant | None = Field(default=None, alias="from", description="Inclusive; RFC 3339 with an offset.")
    to: Instant | None = Field(default=None, description="Inclusive; RFC 3339 with an offset.")


class ListQuery(_Filters):
    """``GET /usage``: filters, newest first, one page."""

    limit: int = Field(default=LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)
    offset: int = Field(default=0, ge=0, le=OFFSET_MAX)


class SummaryQuery(_Filters):
    """``GET /usage/summary``: sums by agent and model (and by UTC day with ``group_by=day``)."""

    group_by: Literal["day"] | None = Field(default=None, description="`day`: also group by UTC day.")


class AlertQuery(BaseModel):
    """``GET /usage/alerts``: the alerts recorded, newest first."""

    limit: int = Field(default=LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)
    offset: int = Field(default=0, ge=0, le=OFFSET_MAX)


class AgentBudgetIn(BaseModel):
    """One agent's limits; an omitted key keeps its value, ``null`` removes that limit."""

    daily_limit: Limit | None = None
    monthly_limit: Limit | None = None


class BudgetPatch(BaseModel):
    """``PATCH /usage/budget``: omitted keys are kept, ``null`` removes a limit; in ``agents``,
    ``null`` removes the agent's budget and an object changes the keys it names."""

    threshold_percent: float = Field(
        default=DEFAULT_THRESHOLD_PERCENT, ge=1, le=100, allow_inf_nan=False,
        description="Warn when this share of a limit is spent (1..100).",
    )
    daily_limit: Limit | None = Field(default=None, description="Overall limit per UTC day (dollars).")
    monthly_limit: Limit | None = Field(default=None, description="Overall limit per UTC month (dollars).")
    agents: dict[AgentId, AgentBudgetIn | None] | None = Field(
        default=None, max_length=AGENT_BUDGETS_MAX, description="Per-agent limits, by agent id."
    )


# --- responses ---------------------------------------------------------------------------------


class UsageRecordOut(BaseModel):
    """A stored call. `timestamp` is RFC 3339 UTC with `Z`. `cost_source`: `reported` (the
    caller's figure), `estimated` (from the price table, when it was stored or now for a row
    stored without a cost), `null` (no cost and no price for the model)."""

    id: int
    agent_id: str
    session_id: int | None
    timestamp: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int | None
    cache_creation_tokens: int | None
    model: str
    cost_estimate: float | None
    cost_source: Literal["reported", "estimated"] | None


class UsageListOut(BaseModel):
    items: list[UsageRecordOut]
    total: int


class BatchOut(BaseModel):
    """The stored records, in the order they were sent."""

    items: list[UsageRecordOut]
    count: int


class Sums(BaseModel):
    """Sums over calls. `total_cost` = `reported_cost` + `estimated_cost`; `estimated_requests`
    calls were priced from the price table; `unpriced_requests` had no cost and no price."""

    request_count: int
    total_input_tokens: int
    total_output_tokens: int
    total_cache_read_tokens: int
    total_cache_creation_tokens: int
    total_cost: float
    reported_cost: float
    estimated_cost: float
    estimated_requests: int
    unpriced_requests: int
    cost_estimated: bool = Field(description="Some of `total_cost` is an estimate.")


class SummaryItem(Sums):
    agent_id: str
    model: str
    day: str | None = Field(description="`YYYY-MM-DD` (UTC) with `group_by=day`, else null.")


class PeriodSpend(BaseModel):
    """Spend in the current UTC day or month against its limit."""

    period_start: str = Field(description="`YYYY-MM-DD` or `YYYY-MM`.")
    spent: float
    limit: float | None
    percent: float | None
    level: Literal["ok", "threshold", "limit"] | None = Field(description="null when there is no limit.")


class Spend(BaseModel):
    daily: PeriodSpend
    monthly: PeriodSpend


class AgentSpend(Spend):
    agent_id: str


class BudgetStatus(BaseModel):
    """Spend in the current UTC day and month: overall (always) and for each agent with a
    budget (with ``agent_id``: that agent only)."""

    threshold_percent: float
    overall: Spend
    agents: list[AgentSpend]


class SummaryOut(Sums):
    """Rows by agent and model (and day), the highest cost first (with days: oldest day first);
    the totals over every row; spend against the budgets."""

    items: list[SummaryItem]
    budget: BudgetStatus


class AgentBudgetOut(BaseModel):
    daily_limit: float | None
    monthly_limit: float | None


class BudgetOut(BaseModel):
    """The budgets, and spend against them now."""

    threshold_percent: float
    daily_limit: float | None
    monthly_limit: float | None
    agents: dict[str, AgentBudgetOut]
    updated_at: str | None
    status: BudgetStatus


class AlertOut(BaseModel):
    """A budget alert as recorded (and sent as `usage_budget_alert`)."""

    id: int
    scope: Literal["overall", "agent"]
    agent_id: str | None
    period: Literal["day", "month"]
    period_start: str
    level: Literal["threshold", "limit"]
    spent: float
    limit: float
    threshold_percent: float
    created_at: str


class AlertListOut(BaseModel):
    items: list[AlertOut]
    total: int
