"""Recording calls: one at a time and in batches, at the server's time, in the CLI's format."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS, open_ws

from .conftest import API_TIME, CLI_TIME, RECORD_KEYS, assert_error

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def stored(api, usage_id: int) -> dict:
    return await api.db.fetch_one(
        "SELECT agent_id, session_id, timestamp, input_tokens, output_tokens, cache_read_tokens, "
        "cache_creation_tokens, model, cost_estimate FROM token_usage WHERE id = ?", [usage_id]
    )


async def test_a_record_is_stored_in_the_cli_table_at_the_servers_time(api, clock):
    clock.advance(seconds=1.25)
    body = await api.record(agent_id="worker-1", input_tokens=1200, output_tokens=340, cache_read_tokens=5000,
                            cache_creation_tokens=0, model="gpt-4o-mini", cost_estimate=0.0123)
    assert set(body) == RECORD_KEYS
    assert body["timestamp"] == "2026-03-10T03:15:01.250000Z" and API_TIME.match(body["timestamp"])
    assert (body["agent_id"], body["input_tokens"], body["output_tokens"]) == ("worker-1", 1200, 340)
    assert (body["cache_read_tokens"], body["cache_creation_tokens"], body["model"]) == (5000, 0, "gpt-4o-mini")
    assert (body["cost_estimate"], body["cost_source"], body["session_id"]) == (0.0123, "reported", None)
    row = await stored(api, body["id"])
    assert row["timestamp"] == "2026-03-10T03:15:01.250000+00:00" and CLI_TIME.match(row["timestamp"])
    assert row["cost_estimate"] == 0.0123 and row["cache_read_tokens"] == 5000 and row["session_id"] is None


async def test_a_timestamp_in_the_body_is_not_used(api):
    body = await api.record(agent_id="w", input_tokens=1, output_tokens=1, timestamp="2001-01-01T00:00:00Z")
    assert body["timestamp"] == "2026-03-10T03:15:00Z"


async def test_defaults_are_the_clis(api):
    body = await api.record(agent_id="w", input_tokens=0, output_tokens=0)
    assert (body["model"], body["cache_read_tokens"], body["cache_creation_tokens"]) == ("unknown", None, None)
    # no cost given and no price for "unknown": stored without one, as the CLI would
    assert (body["cost_estimate"], body["cost_source"]) == (None, None)
    row = await stored(api, body["id"])
    assert (row["model"], row["cost_estimate"], row["cache_read_tokens"]) == ("unknown", None, None)


async def test_a_record_may_name_an_existing_session(api):
    session = await api.session("w")
    body = await api.record(agent_id="w", input_tokens=3, output_tokens=4, session_id=session)
    assert body["session_id"] == session
    assert (await stored(api, body["id"]))["session_id"] == session


async def test_an_unknown_session_is_a_400_naming_the_field_and_nothing_is_stored(api):
    session = await api.session("w")
    error = assert_error(await api.call("POST", "/usage", json={
        "agent_id": "w", "input_tokens": 1, "output_tokens": 1, "session_id": session + 1}), 400, "session_id")
    assert f"no session {session + 1}" in error["detail"]
    assert await api.db.fetch_value("SELECT count(*) FROM token_usage") == 0


async def test_a_batch_is_stored_in_order_with_one_time(api, clock):
    clock.advance(minutes=5)
    records = [
        {"agent_id": "b", "input_tokens": 10, "output_tokens": 1, "model": "m2", "cost_estimate": 0.5},
        {"agent_id": "a", "input_tokens": 20, "output_tokens": 2, "model": "m1"},
        {"agent_id": "b", "input_tokens": 30, "output_tokens": 3, "model": "m1", "cost_estimate": 0},
    ]
    body = await api.batch(records)
    assert body["count"] == 3
    items = body["items"]
    assert [(i["agent_id"], i["input_tokens"], i["model"]) for i in items] == [("b", 10, "m2"), ("a", 20, "m1"), ("b", 30, "m1")]
    assert [i["id"] for i in items] == sorted(i["id"] for i in items)
    assert {i["timestamp"] for i in items} == {"2026-03-10T03:20:00Z"}
    for item in items:
        row = await stored(api, item["id"])
        assert (row["agent_id"], row["input_tokens"], row["model"]) == (item["agent_id"], item["input_tokens"], item["model"])
        assert row["timestamp"] == "2026-03-10T03:20:00.000000+00:00"


async def test_a_batch_with_one_bad_record_stores_nothing_and_names_it(api):
    session = await api.session("w")
    good = {"agent_id": "w", "input_tokens": 1, "output_tokens": 1}
    cases = [
        ([good, good, {**good, "output_tokens": -5}], "records.2.output_tokens"),
        ([good, {**good, "agent_id": "bad agent"}], "records.1.agent_id"),
        ([{**good, "session_id": session}, {**good, "session_id": session + 7}], "records.1.session_id"),
        ([{**good, "input_tokens": 10**12}], "records.0.input_tokens"),
        ([good, {"agent_id": "w", "output_tokens": 1}], "records.1.input_tokens"),
    ]
    for records, field in cases:
        assert_error(await api.call("POST", "/usage/batch", json={"records": records}), 400, field)
    assert await api.db.fetch_value("SELECT count(*) FROM token_usage") == 0


async def test_a_batch_is_bounded(api):
    record = {"agent_id": "w", "input_tokens": 1, "output_tokens": 1}
    assert_error(await api.call("POST", "/usage/batch", json={"records": []}), 400, "records")
    assert_error(await api.call("POST", "/usage/batch", json={"records": [record] * 1001}), 400, "records")
    assert_error(await api.call("POST", "/usage/batch", json={"records": record}), 400, "records")
    assert_error(await api.call("POST", "/usage/batch", json={}), 400, "records")
    body = await api.batch([record] * 1000)
    assert body["count"] == 1000 and len({i["id"] for i in body["items"]}) == 1000
    assert await api.db.fetch_value("SELECT count(*) FROM token_usage") == 1000


async def test_recording_announces_itself_on_the_usage_channel(api, watch):
    await api.record(agent_id="w", input_tokens=1, output_tokens=1)
    await api.batch([{"agent_id": "b", "input_tokens": 1, "output_tokens": 1},
                     {"agent_id": "a", "input_tokens": 1, "output_tokens": 1}])
    await api.call("POST", "/usage", json={"agent_id": "w", "input_tokens": -1, "output_tokens": 1})
    assert await watch.events() == [
        {"type": "usage_recorded", "count": 1, "agent_ids": ["w"]},
        {"type": "usage_recorded", "count": 2, "agent_ids": ["a", "b"]},
    ]


async def test_the_plugin_runs_alone(app_factory):
    alone = await app_factory(plugins="usage")
    response = await alone.client.get("/api/v1/usage")
    assert response.status_code == 200 and await response.get_json() == {"items": [], "total": 0}
    ws, connection = await open_ws(alone.client)
    await ws.__aexit__(None, None, None)
    plugins = await (await alone.client.get("/api/v1/plugins")).get_json()
    assert "usage" in str(plugins)


async def test_a_disabled_plugin_has_no_routes(app_factory):
    without = await app_factory(plugins="issues")
    response = await without.client.get("/api/v1/usage/summary")
    assert response.status_code == 404 and (await response.get_json())["error"] == "not found"
