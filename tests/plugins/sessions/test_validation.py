"""Every bad input is a clear 400 (or 415) JSON error naming the field; nothing is written."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS

from .conftest import assert_error, db_rows

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

KIB64 = 64 * 1024

BAD_AGENT_IDS = ["", "a b", "worker\n1", "x" * 129, "agent;drop", "ägent", "a\\b", "*"]
GOOD_AGENT_IDS = ["w", "x" * 128, "worker-1", "host.example:agent_2@team/a-b", "0"]


@pytest.mark.parametrize("agent", BAD_AGENT_IDS)
async def test_a_bad_agent_id_is_400_in_the_query_and_in_the_body_of_every_route(api, agent):
    issue = await api.issue()
    routes = [
        ("GET", "/sessions/current", {}),
        ("POST", "/sessions/start", {}),
        ("POST", "/sessions/end", {"notes": "n"}),
        ("POST", f"/sessions/work/{issue}", {}),
        ("POST", "/sessions/action", {"action": "a"}),
    ]
    for method, path, body in routes:
        body_error = assert_error(await api.call(method, path, json={**body, "agent_id": agent}), 400, "agent_id")
        assert body_error["fields"][0]["field"] == "agent_id"
        assert "1..128 characters" in body_error["detail"]
        assert_error(await api.call(method, path, json=body, query_string={"agent_id": agent}), 400, "agent_id")
    assert_error(await api.call("GET", "/sessions", query_string={"agent_id": agent}), 400, "agent_id")
    assert await db_rows(api) == []


async def test_the_detail_says_what_is_wrong_with_the_agent_id(api):
    assert_error(await api.post("/sessions/start", {"agent_id": ""}), 400, "must not be empty")
    assert_error(await api.post("/sessions/start", {"agent_id": "x" * 129}), 400, "129 characters")
    assert_error(await api.post("/sessions/start", {"agent_id": "a b;c"}), 400, "' '", "';'")


@pytest.mark.parametrize("agent", GOOD_AGENT_IDS)
async def test_every_allowed_agent_id_round_trips(api, agent):
    started = await api.start(agent, expect=201)
    assert started["agent_id"] == agent
    assert (await api.current(agent))["id"] == started["id"]
    assert (await api.history(agent))["total"] == 1


async def test_wrong_json_types_are_400_naming_the_field(api):
    await api.start("w")
    cases = [
        ("/sessions/start", {"agent_id": 7}, "agent_id"),
        ("/sessions/end", {"agent_id": "w", "notes": 5}, "notes"),
        ("/sessions/end", {"agent_id": "w", "notes": ["a"]}, "notes"),
        ("/sessions/action", {"agent_id": "w", "action": None}, "action"),
        ("/sessions/action", {"agent_id": "w"}, "action"),
        ("/sessions/action", {"agent_id": "w", "action": "x", "comment": "yes"}, "comment"),
        ("/sessions/work/1", {"agent_id": "w", "action": 1}, "action"),
    ]
    for path, body, field in cases:
        error = assert_error(await api.post(path, body), 400, field)
        assert error["fields"][0]["field"] == field, error
    assert (await api.current("w"))["ended_at"] is None


async def test_notes_and_actions_are_limited_to_64_kib_of_utf8(api):
    await api.start("w")
    issue = await api.issue()
    assert_error(await api.post("/sessions/end", {"agent_id": "w", "notes": "x" * (KIB64 + 1)}), 400, "notes", "65536")
    # the limit counts bytes: 3-byte characters reach it at a third of the length
    assert_error(await api.post("/sessions/end", {"agent_id": "w", "notes": "€" * (KIB64 // 3 + 1)}), 400, "notes")
    assert_error(await api.action("x" * (KIB64 + 1), "w", expect=None), 400, "action")
    assert_error(await api.work(issue, "w", expect=None, action="y" * (KIB64 + 1)), 400, "action")
    assert (await api.current("w"))["ended_at"] is None
    await api.action("x" * KIB64, "w")
    await api.work(issue, "w", action="y" * KIB64)
    _, body = await api.end("w", "n" * KIB64)
    assert len(body["session"]["handoff_notes"]) == KIB64


async def test_a_blank_action_is_400(api):
    await api.start("w")
    issue = await api.issue()
    assert_error(await api.action("", "w", expect=None), 400, "action must not be empty")
    assert_error(await api.action("   \n", "w", expect=None), 400, "action must not be empty")
    assert_error(await api.work(issue, "w", expect=None, action=" "), 400, "action")
    assert (await api.current("w"))["last_action"] is None


async def test_malformed_or_non_json_bodies(api):
    client = api.client
    response = await client.post("/api/v1/sessions/start", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_error((response.status_code, await response.get_json()), 400, "Malformed JSON")
    response = await client.post("/api/v1/sessions/start", data=b'["w"]', headers={"Content-Type": "application/json"})
    assert_error((response.status_code, await response.get_json()), 400, "JSON object")
    response = await client.post("/api/v1/sessions/start", data=b"agent_id=w", headers={"Content-Type": "text/plain"})
    assert_error((response.status_code, await response.get_json()), 415, "JSON")
    assert await db_rows(api) == []


async def test_unknown_fields_are_ignored(api):
    code, body = await api.post("/sessions/start", {"agent_id": "w", "color": "blue"})
    assert code == 201 and "color" not in body


async def test_sessions_requires_the_issues_plugin(app_factory):
    from kernel import StartupError

    with pytest.raises(StartupError, match="issues"):
        await app_factory(plugins="sessions")
