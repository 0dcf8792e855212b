"""Fixtures for the usage plugin's tests: the plugin alone (``--plugins usage``) on the selected
backend, a clock the tests move by hand, a price table in ``server.toml``, a small HTTP client
wrapper, and rows written straight into ``token_usage`` as the crosslink CLI writes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from kernel.timeutil import Clock
from tests.support import TestServer, open_ws, receive_json

PREFIX = "/api/v1"
#: The moment the injectable clock starts at (a Tuesday, in March 2026).
T0 = datetime(2026, 3, 10, 3, 15, 0, tzinfo=UTC)
API_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
CLI_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
RECORD_KEYS = {"id", "agent_id", "session_id", "timestamp", "input_tokens", "output_tokens", "cache_read_tokens",
               "cache_creation_tokens", "model", "cost_estimate", "cost_source"}

#: Dollars per million tokens, as ``[plugins.usage.prices]`` in the tests' server.toml.
PRICES = {
    "claude-sonnet-4-5": {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_creation": 3.75},
    "claude-*": {"input": 1.0, "output": 5.0},
    "gpt-4o": {"input": 2.5, "output": 10.0, "cache_read": 1.25},
}

SERVER_TOML = """
[plugins.usage]
budget_check_seconds = 3600

[plugins.usage.prices]
"claude-sonnet-4-5" = { input = 3.0, output = 15.0, cache_read = 0.3, cache_creation = 3.75 }
"claude-*" = { input = 1.0, output = 5.0 }
"gpt-4o" = { input = 2.5, output = 10.0, cache_read = 1.25 }
"""


def expected_price(model: str) -> dict[str, float] | None:
    """The test's own reading of the price table: exact name, else the one pattern."""
    if model in PRICES and "*" not in model:
        return PRICES[model]
    if model.startswith("claude-"):
        return PRICES["claude-*"]
    return None


def expected_cost(model: str, input_tokens: int, output_tokens: int, cache_read: int | None,
                  cache_creation: int | None) -> float | None:
    price = expected_price(model)
    if price is None:
        return None
    read = price.get("cache_read", price["input"])
    creation = price.get("cache_creation", price["input"])
    return (input_tokens * price["input"] + output_tokens * price["output"] + (cache_read or 0) * read
            + (cache_creation or 0) * creation) / 1_000_000


def write_server_toml(repo, text: str = SERVER_TOML) -> None:
    path = repo / ".crosslink" / "server.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@dataclass
class Api:
    """A thin wrapper over the test client: paths are relative to /api/v1."""

    server: TestServer

    @property
    def client(self):
        return self.server.client

    @property
    def kernel(self):
        return self.server.kernel

    @property
    def db(self):
        return self.server.kernel.db

    async def call(self, method: str, path: str, *, json: Any = None, expect: int | None = None, **kwargs):
        if json is not None:
            kwargs["json"] = json
        response = await self.client.open(PREFIX + path, method=method, **kwargs)
        body = await response.get_json()
        if expect is not None:
            assert response.status_code == expect, (method, path, response.status_code, body)
        return response.status_code, body

    async def get(self, path: str, expect: int | None = 200, **query: Any) -> Any:
        return (await self.call("GET", path, expect=expect, query_string=query))[1]

    async def record(self, expect: int | None = 201, **record: Any) -> Any:
        return (await self.call("POST", "/usage", json=record, expect=expect))[1]

    async def batch(self, records: list[dict[str, Any]], expect: int | None = 201) -> Any:
        return (await self.call("POST", "/usage/batch", json={"records": records}, expect=expect))[1]

    async def patch_budget(self, expect: int | None = 200, **body: Any) -> Any:
        return (await self.call("PATCH", "/usage/budget", json=body, expect=expect))[1]

    async def cli_insert(self, agent_id: str, timestamp: str, input_tokens: int = 0, output_tokens: int = 0, *,
                         model: str = "unknown", cost: float | None = None, session_id: int | None = None,
                         cache_read: int | None = None, cache_creation: int | None = None) -> int:
        """A row written straight into ``token_usage`` with plain SQL, as the crosslink CLI does."""
        return await self.db.insert(
            "INSERT INTO token_usage (agent_id, session_id, timestamp, input_tokens, output_tokens, "
            "cache_read_tokens, cache_creation_tokens, model, cost_estimate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [agent_id, session_id, timestamp, input_tokens, output_tokens, cache_read, cache_creation, model, cost],
        )

    async def session(self, agent_id: str = "w1") -> int:
        """A row of the CLI's ``sessions`` table (the sessions plugin is not needed)."""
        return await self.db.insert("INSERT INTO sessions (started_at, agent_id) VALUES (?, ?)",
                                    [T0.isoformat(timespec="microseconds"), agent_id])


def assert_error(status_body: tuple[int, Any], status: int, field: str | None = None, *needles: str) -> dict:
    """The response is ``status`` with the JSON error shape; ``fields[0]`` names ``field``."""
    code, body = status_body
    assert code == status, body
    assert set(body) >= {"error", "detail"}, body
    if field is not None:
        assert field in body["detail"], (field, body)
        assert body["fields"][0]["field"] == field, body
    for needle in needles:
        assert needle in body["detail"], (needle, body)
    return body


@pytest.fixture
def clock() -> Clock:
    """A clock frozen at ``T0``; tests move it with ``clock.advance(...)``."""
    return Clock(lambda: T0)


@pytest.fixture
async def api(app_factory, repo, clock) -> Api:
    """The usage plugin alone, with the test price table, on the selected backend."""
    write_server_toml(repo)
    return Api(await app_factory(plugins="usage", clock=clock))


class Watcher:
    """A WebSocket client on the ``usage`` channel that reads up to a sentinel record."""

    def __init__(self, api: Api, connection) -> None:
        self.api = api
        self.connection = connection
        self.sentinels = 0

    async def events(self) -> list[dict[str, Any]]:
        """Every event before a sentinel record (``usage_recorded`` of agent ``sentinel-N``):
        events go out in commit order, so all events of earlier requests come first."""
        self.sentinels += 1
        agent = f"sentinel-{self.sentinels}"
        await self.api.record(agent_id=agent, input_tokens=0, output_tokens=0, cost_estimate=0)
        seen = []
        while True:
            message = await receive_json(self.connection, 5.0)
            if message["type"] == "usage_recorded" and message["agent_ids"] == [agent]:
                return seen
            if message["type"] not in ("hello", "subscribed", "pong", "gap"):
                seen.append({k: v for k, v in message.items() if k not in ("seq", "event_id")})

    async def alerts(self) -> list[dict[str, Any]]:
        return [e for e in await self.events() if e["type"] == "usage_budget_alert"]


@pytest.fixture
async def watch(api):
    ws, connection = await open_ws(api.client, channels=["usage"])
    yield Watcher(api, connection)
    await ws.__aexit__(None, None, None)
