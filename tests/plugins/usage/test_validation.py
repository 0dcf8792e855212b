"""Every bad input is a 400 (or 415) JSON error naming the field; nothing is written."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS

from .conftest import assert_error

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

GOOD = {"agent_id": "w", "input_tokens": 1, "output_tokens": 1}

BAD_RECORDS = [
    # (changes to a good record, field, something the detail says)
    ({"agent_id": ""}, "agent_id", "must not be empty"),
    ({"agent_id": "a b"}, "agent_id", "' '"),
    ({"agent_id": "x" * 129}, "agent_id", "129 characters"),
    ({"agent_id": "ägent"}, "agent_id", "'ä'"),
    ({"agent_id": 7}, "agent_id", None),
    ({"agent_id": None}, "agent_id", None),
    ({"input_tokens": -1}, "input_tokens", "greater than or equal to 0"),
    ({"input_tokens": 1_000_000_001}, "input_tokens", "less than or equal to 1000000000"),
    ({"input_tokens": 1.5}, "input_tokens", None),
    ({"input_tokens": "12"}, "input_tokens", None),
    ({"input_tokens": True}, "input_tokens", None),
    ({"input_tokens": None}, "input_tokens", None),
    ({"output_tokens": -3}, "output_tokens", "greater than or equal to 0"),
    ({"output_tokens": 10**15}, "output_tokens", "less than or equal to"),
    ({"output_tokens": [1]}, "output_tokens", None),
    ({"cache_read_tokens": -1}, "cache_read_tokens", "greater than or equal to 0"),
    ({"cache_read_tokens": 2**63}, "cache_read_tokens", None),
    ({"cache_creation_tokens": -1}, "cache_creation_tokens", "greater than or equal to 0"),
    ({"cache_creation_tokens": 1_000_000_001}, "cache_creation_tokens", "less than or equal to"),
    ({"model": ""}, "model", "must not be empty"),
    ({"model": "gpt 4"}, "model", "spaces"),
    ({"model": "m\n"}, "model", "control"),
    ({"model": "m" * 129}, "model", "at most 128"),
    ({"model": 4}, "model", None),
    ({"cost_estimate": -0.01}, "cost_estimate", "greater than or equal to 0"),
    ({"cost_estimate": 100_000.01}, "cost_estimate", "less than or equal to"),
    ({"cost_estimate": "1.0"}, "cost_estimate", None),
    ({"session_id": 0}, "session_id", "greater than or equal to 1"),
    ({"session_id": -4}, "session_id", "greater than or equal to 1"),
    ({"session_id": 2**63}, "session_id", None),
    ({"session_id": "3"}, "session_id", None),
    ({"session_id": 999}, "session_id", "no session 999"),
]


async def test_a_bad_field_is_a_400_naming_it(api):
    for changes, field, says in BAD_RECORDS:
        record = {**GOOD, **changes}
        assert_error(await api.call("POST", "/usage", json=record), 400, field, *([says] if says else []))
        assert_error(await api.call("POST", "/usage/batch", json={"records": [GOOD, record]}), 400,
                     f"records.1.{field}")
    assert await api.db.fetch_value("SELECT count(*) FROM token_usage") == 0


async def test_a_required_field_is_named_when_missing(api):
    for missing in ("agent_id", "input_tokens", "output_tokens"):
        record = {k: v for k, v in GOOD.items() if k != missing}
        assert_error(await api.call("POST", "/usage", json=record), 400, missing, "field required")


async def test_limits_are_inclusive(api):
    body = await api.record(agent_id="x" * 128, input_tokens=1_000_000_000, output_tokens=0,
                            cache_read_tokens=1_000_000_000, cache_creation_tokens=0, model="m" * 128,
                            cost_estimate=100_000)
    assert (body["input_tokens"], body["cost_estimate"]) == (1_000_000_000, 100_000.0)


async def test_the_body_must_be_a_json_object(api):
    assert_error(await api.call("POST", "/usage", data="[]", headers={"Content-Type": "application/json"}), 400)
    assert_error(await api.call("POST", "/usage", data="{", headers={"Content-Type": "application/json"}), 400,
                 None, "Malformed JSON")
    assert_error(await api.call("POST", "/usage", data="agent_id=w", headers={"Content-Type": "text/plain"}), 415)
    assert_error(await api.call("POST", "/usage"), 400, "agent_id")


BAD_QUERIES = [
    ("/usage", {"from": "2026-03-10"}, "from", "RFC 3339"),
    ("/usage", {"from": "2026-03-10T03:15:00"}, "from", "offset"),
    ("/usage", {"to": "yesterday"}, "to", "RFC 3339"),
    ("/usage", {"to": "2026-13-10T03:15:00Z"}, "to", None),
    ("/usage", {"from": "0100-01-01T00:00:00Z"}, "from", "between the years"),
    ("/usage", {"from": ""}, "from", None),
    ("/usage", {"limit": "0"}, "limit", None),
    ("/usage", {"limit": "1001"}, "limit", None),
    ("/usage", {"offset": "-1"}, "offset", None),
    ("/usage", {"session_id": "abc"}, "session_id", None),
    ("/usage", {"agent_id": ""}, "agent_id", None),
    ("/usage", {"from": "2026-03-11T00:00:00Z", "to": "2026-03-10T00:00:00Z"}, "from", "after to"),
    ("/usage/summary", {"group_by": "week"}, "group_by", None),
    ("/usage/summary", {"from": "2026-03-10T03:15:00+25:00"}, "from", None),
    ("/usage/summary", {"from": "2026-03-11T00:00:00+02:00", "to": "2026-03-10T21:00:00Z"}, "from", "after to"),
    ("/usage/alerts", {"limit": "x"}, "limit", None),
]


async def test_a_bad_query_parameter_is_a_400_naming_it(api):
    for path, query, field, says in BAD_QUERIES:
        assert_error(await api.call("GET", path, query_string=query), 400, field, *([says] if says else []))


BAD_BUDGETS = [
    ({"threshold_percent": 0}, "threshold_percent"),
    ({"threshold_percent": 100.5}, "threshold_percent"),
    ({"threshold_percent": None}, "threshold_percent"),
    ({"threshold_percent": "80"}, "threshold_percent"),
    ({"daily_limit": 0}, "daily_limit"),
    ({"daily_limit": -5}, "daily_limit"),
    ({"daily_limit": 1e10}, "daily_limit"),
    ({"monthly_limit": "10"}, "monthly_limit"),
    ({"agents": []}, "agents"),
    ({"agents": {"bad agent": {"daily_limit": 1}}}, "agents.bad agent.[key]"),
    ({"agents": {"w": {"daily_limit": -1}}}, "agents.w.daily_limit"),
    ({"agents": {"w": 5}}, "agents.w"),
    ({"agents": {f"a{i}": None for i in range(1001)}}, "agents"),
]


async def test_a_bad_budget_is_a_400_naming_the_field_and_changes_nothing(api):
    before = await api.get("/usage/budget")
    for body, field in BAD_BUDGETS:
        assert_error(await api.call("PATCH", "/usage/budget", json=body), 400, field)
    assert await api.get("/usage/budget") == before
