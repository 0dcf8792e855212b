"""``[plugins.usage]`` in ``.crosslink/server.toml``: the price table and the budget check.

```toml
[plugins.usage]
budget_check_seconds = 60

[plugins.usage.prices]
"claude-sonnet-4-5*" = { input = 3.0, output = 15.0, cache_read = 0.30, cache_creation = 3.75 }
"gpt-4o" = { input = 2.5, output = 10.0 }
```

Prices are US dollars per million tokens. A model name is matched exactly first, then against
the patterns (``*`` and ``?`` wildcards), the most specific one (the longest pattern) first.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PRICE_MAX = 1_000_000.0


class Price(BaseModel):
    """One model's prices, dollars per million tokens. A missing cache price is the input
    price (an overestimate rather than a cost left out)."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, le=PRICE_MAX)
    output: float = Field(ge=0, le=PRICE_MAX)
    cache_read: float | None = Field(default=None, ge=0, le=PRICE_MAX)
    cache_creation: float | None = Field(default=None, ge=0, le=PRICE_MAX)


class UsageConfig(BaseModel):
    """Settings of the usage plugin (all optional)."""

    model_config = ConfigDict(extra="forbid")

    #: Model name (or pattern with ``*``/``?``) -> prices per million tokens.
    prices: dict[str, Price] = Field(default_factory=dict)
    #: How often the budgets are checked against every row (rows the crosslink CLI wrote
    #: included), on one instance of a team server. Rows the server records are checked at once.
    budget_check_seconds: float = Field(default=60.0, gt=0, le=86_400)
