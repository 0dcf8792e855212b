"""The contract's Sessions routes, as /work/shared/spec/api.md decides them: current, start
(idempotent per agent, previous handoff notes), end (notes kept when none are given), work; all
scoped by ``agent_id`` (query parameter or body field, the query winning)."""

from __future__ import annotations

import pytest

from kernel.api import parse_timestamp
from tests.support import BACKENDS

from .conftest import CLI_TIME, SESSION_KEYS, assert_error, assert_session, db_rows

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


# --- current -------------------------------------------------------------------------------------


async def test_current_is_null_without_a_session_and_the_session_after_start(api):
    assert await api.current("worker-1") is None
    assert await api.current() is None
    started = await api.start("worker-1", expect=201)
    current = await api.current("worker-1")
    assert set(current) == SESSION_KEYS
    assert_session(current, id=started["id"], ended_at=None, active_issue_id=None, handoff_notes=None,
                   last_action=None, agent_id="worker-1")
    assert current["started_at"] == started["started_at"]


async def test_current_is_the_newest_open_session_and_null_after_end(api):
    first = await api.start("w", expect=201)
    await api.end("w")
    second = await api.start("w", expect=201)
    assert second["id"] > first["id"]
    assert (await api.current("w"))["id"] == second["id"]
    await api.end("w")
    assert await api.current("w") is None


async def test_current_accepts_agent_id_in_a_json_body_and_the_query_wins(api):
    a = await api.start("agent-a", expect=201)
    b = await api.start("agent-b", expect=201)
    assert (await api.get("/sessions/current", json={"agent_id": "agent-a"}))["id"] == a["id"]
    body = await api.get("/sessions/current", json={"agent_id": "agent-a"}, query_string={"agent_id": "agent-b"})
    assert body["id"] == b["id"]


# --- start ---------------------------------------------------------------------------------------


async def test_start_creates_with_201_and_returns_the_active_session_with_200(api):
    code, first = await api.post("/sessions/start", {"agent_id": "worker-1"})
    assert code == 201
    assert set(first) == SESSION_KEYS | {"previous_handoff_notes"}
    assert_session(first, ended_at=None, active_issue_id=None, handoff_notes=None, last_action=None,
                   agent_id="worker-1", previous_handoff_notes=None)
    for _ in range(3):
        code, again = await api.post("/sessions/start", {"agent_id": "worker-1"})
        assert code == 200
        assert again == first
    assert len(await db_rows(api)) == 1


async def test_start_works_with_no_body_at_all_and_without_content_type(api):
    response = await api.client.post("/api/v1/sessions/start")
    assert response.status_code == 201
    body = await response.get_json()
    assert_session(body, agent_id=None)
    response = await api.client.post("/api/v1/sessions/start", data=b"", headers={"Content-Type": "text/plain"})
    assert response.status_code == 200
    assert (await response.get_json())["id"] == body["id"]


async def test_start_stores_the_cli_timestamp_format_and_answers_z(api):
    api.kernel.clock.advance(days=1)
    session = await api.start("w")
    [row] = await db_rows(api)
    assert CLI_TIME.match(row["started_at"]), row
    assert row["agent_id"] == "w" and row["ended_at"] is None
    assert session["started_at"].endswith("Z")
    assert parse_timestamp(session["started_at"]) == parse_timestamp(row["started_at"])


async def test_start_hands_over_the_previous_sessions_notes(api):
    first = await api.start("w", expect=201)
    assert first["previous_handoff_notes"] is None
    await api.end("w", "Auth fix half done; see #3")
    second = await api.start("w", expect=201)
    assert second["previous_handoff_notes"] == "Auth fix half done; see #3"
    assert second["handoff_notes"] is None
    # the idempotent start of the active session hands over the same notes
    assert (await api.start("w", expect=200))["previous_handoff_notes"] == "Auth fix half done; see #3"
    # only the agent's own notes: another agent and the no-agent sessions see none of them
    assert (await api.start("other", expect=201))["previous_handoff_notes"] is None
    assert (await api.start(None, expect=201))["previous_handoff_notes"] is None
    # the last ended session counts, even when it ended without notes
    await api.end("w")
    assert (await api.start("w", expect=201))["previous_handoff_notes"] is None


async def test_start_time_follows_the_server_clock(api):
    first = await api.start("w")
    await api.end("w")
    api.kernel.clock.advance(hours=2)
    second = await api.start("w")
    assert second["started_at"] > first["started_at"]
    assert second["started_at"][:13] != first["started_at"][:13]


# --- end -----------------------------------------------------------------------------------------


async def test_end_sets_ended_at_and_notes(api):
    started = await api.start("w")
    api.kernel.clock.advance(minutes=5)
    _, body = await api.end("w", "Completed auth fix. Tests passing.")
    assert body["ok"] is True
    assert_session(body["session"], id=started["id"], handoff_notes="Completed auth fix. Tests passing.", agent_id="w")
    assert body["session"]["ended_at"] > started["started_at"]
    [row] = await db_rows(api)
    assert row["handoff_notes"] == "Completed auth fix. Tests passing."
    assert CLI_TIME.match(row["ended_at"])


async def test_end_accepts_handoff_notes_as_the_same_field_as_notes(api):
    await api.start("w")
    _, body = await api.post("/sessions/end", {"agent_id": "w", "handoff_notes": "under its own name"}, expect=200)
    assert body["session"]["handoff_notes"] == "under its own name"
    assert (await db_rows(api))[-1]["handoff_notes"] == "under its own name"
    await api.start("w")
    _, body = await api.post("/sessions/end", {"agent_id": "w", "notes": "same", "handoff_notes": "same"}, expect=200)
    assert body["session"]["handoff_notes"] == "same"
    await api.start("w")
    _, body = await api.post("/sessions/end", {"agent_id": "w", "notes": "a", "handoff_notes": "b"}, expect=400)
    assert "not both" in body["detail"]
    assert (await db_rows(api))[-1]["ended_at"] is None  # refused: the session is still open


async def test_end_without_notes_keeps_the_notes_that_were_there(api):
    started = await api.start("w")
    # notes written earlier (e.g. by the CLI's update_session_notes) must survive an end without notes
    await api.kernel.db.execute("UPDATE sessions SET handoff_notes = ? WHERE id = ?", ["draft notes", started["id"]])
    _, body = await api.end("w")
    assert body["session"]["handoff_notes"] == "draft notes"
    await api.start("w")
    _, body = await api.post("/sessions/end", {"agent_id": "w", "notes": None}, expect=200)
    [_, row] = await db_rows(api)
    assert row["handoff_notes"] is None and row["ended_at"] is not None
    await api.start("w")
    await api.end("w", "")
    assert (await db_rows(api))[-1]["handoff_notes"] == ""


async def test_end_without_an_active_session_is_404(api):
    assert_error(await api.end("w", expect=None), 404, "No active session", "'w'")
    await api.start("w")
    await api.end("w")
    assert_error(await api.end("w", "late notes", expect=None), 404, "No active session")
    assert (await db_rows(api))[0]["handoff_notes"] is None
    assert_error(await api.end(None, expect=None), 404, "No active session")


async def test_end_takes_agent_id_from_the_body_and_the_query_wins(api):
    a = await api.start("agent-a")
    b = await api.start("agent-b")
    _, body = await api.post("/sessions/end", {"agent_id": "agent-a", "notes": "a's notes"},
                             query_string={"agent_id": "agent-b"}, expect=200)
    assert body["session"]["id"] == b["id"]
    assert (await api.current("agent-a"))["id"] == a["id"]
    assert (await api.current("agent-b")) is None
    rows = {row["agent_id"]: row for row in await db_rows(api)}
    assert rows["agent-b"]["handoff_notes"] == "a's notes" and rows["agent-a"]["ended_at"] is None
    _, body = await api.post("/sessions/end", {"agent_id": "agent-a"}, expect=200)
    assert body["session"]["id"] == a["id"]


async def test_end_also_closes_older_open_sessions_of_the_same_agent(api):
    # the original server (and old CLIs) could leave several open sessions for one agent
    for started in ("2026-03-10T01:00:00.000000+00:00", "2026-03-10T02:00:00.000000+00:00"):
        await api.kernel.db.execute("INSERT INTO sessions (started_at, agent_id, handoff_notes) VALUES (?, 'w', ?)",
                                    [started, f"notes of {started[11:13]}"])
    older, newer = await db_rows(api)
    assert (await api.current("w"))["id"] == newer["id"]
    _, body = await api.end("w", "final")
    assert body["session"]["id"] == newer["id"]
    assert await api.current("w") is None
    older, newer = await db_rows(api)
    assert older["ended_at"] == newer["ended_at"] is not None
    assert (older["handoff_notes"], newer["handoff_notes"]) == ("notes of 01", "final")


# --- work ----------------------------------------------------------------------------------------


async def test_work_sets_the_active_issue_and_a_breadcrumb(api):
    issue = await api.issue("Fix auth timeout")
    await api.start("w")
    _, body = await api.work(issue, "w")
    assert body["ok"] is True
    assert_session(body["session"], active_issue_id=issue, last_action=f"Working on #{issue}: Fix auth timeout")
    current = await api.current("w")
    assert (current["active_issue_id"], current["last_action"]) == (issue, f"Working on #{issue}: Fix auth timeout")
    other = await api.issue("Second")
    _, body = await api.work(other, "w", action="Implementing auth fix")
    assert (body["session"]["active_issue_id"], body["session"]["last_action"]) == (other, "Implementing auth fix")
    [row] = await db_rows(api)
    assert (row["active_issue_id"], row["last_action"]) == (other, "Implementing auth fix")


async def test_work_on_an_unknown_issue_is_404_before_the_session_check(api):
    assert_error(await api.work(999, "w", expect=None), 404, "Issue #999 does not exist")
    await api.start("w")
    assert_error(await api.work(999, "w", expect=None), 404, "Issue #999 does not exist")
    assert (await api.current("w"))["active_issue_id"] is None


async def test_work_without_an_active_session_is_409(api):
    issue = await api.issue()
    assert_error(await api.work(issue, "w", expect=None), 409, "No active session", "'w'", "sessions/start")
    await api.start("other")
    assert_error(await api.work(issue, "w", expect=None), 409, "No active session")
    assert_error(await api.work(issue, None, expect=None), 409, "No active session")
    assert (await api.current("other"))["active_issue_id"] is None


async def test_work_takes_agent_id_from_the_body_and_the_query_wins(api):
    issue = await api.issue()
    await api.start("agent-a")
    await api.start("agent-b")
    await api.post(f"/sessions/work/{issue}", {"agent_id": "agent-a"}, expect=200)
    assert (await api.current("agent-a"))["active_issue_id"] == issue
    assert (await api.current("agent-b"))["active_issue_id"] is None
    second = await api.issue("second")
    await api.post(f"/sessions/work/{second}", {"agent_id": "agent-a"}, query_string={"agent_id": "agent-b"}, expect=200)
    assert (await api.current("agent-a"))["active_issue_id"] == issue
    assert (await api.current("agent-b"))["active_issue_id"] == second


async def test_work_accepts_the_clis_negative_local_issue_ids(api):
    await api.kernel.db.execute(
        "INSERT INTO issues (id, title, status, priority, created_at, updated_at) "
        "VALUES (-1, 'Offline idea', 'open', 'low', ?, ?)",
        ["2026-03-10T03:15:00.123456+00:00", "2026-03-10T03:15:00.123456+00:00"],
    )
    await api.start("w")
    _, body = await api.work(-1, "w")
    assert (body["session"]["active_issue_id"], body["session"]["last_action"]) == (-1, "Working on L1: Offline idea")


async def test_work_with_a_malformed_issue_id_is_400(api):
    await api.start("w")
    assert_error(await api.post("/sessions/work/abc", query_string={"agent_id": "w"}), 400, "abc")


# --- scoping -------------------------------------------------------------------------------------


async def test_without_agent_id_only_the_sessions_without_an_agent_count(api):
    """The original's trap: no agent_id reached the newest open session of anyone."""
    mine = await api.start("worker-1", expect=201)
    assert await api.current() is None
    assert_error(await api.end(expect=None), 404)
    assert_error(await api.work(await api.issue(), expect=None), 409)
    assert (await api.current("worker-1"))["ended_at"] is None
    anonymous = await api.start(None, expect=201)
    assert anonymous["agent_id"] is None and anonymous["id"] != mine["id"]
    assert (await api.current())["id"] == anonymous["id"]
    await api.end(None, "anonymous notes")
    assert (await api.current("worker-1"))["handoff_notes"] is None
    assert await api.current() is None


async def test_two_agents_work_at_once_without_touching_each_other(api):
    auth, pool = await api.issue("auth"), await api.issue("pool")
    a = await api.start("worker-1", expect=201)
    b = await api.start("worker-2", expect=201)
    assert a["id"] != b["id"]
    assert (await api.start("worker-1", expect=200))["id"] == a["id"]
    await api.work(auth, "worker-1")
    await api.work(pool, "worker-2")
    await api.action("testing the pool", "worker-2")
    current_a, current_b = await api.current("worker-1"), await api.current("worker-2")
    assert (current_a["active_issue_id"], current_a["last_action"]) == (auth, f"Working on #{auth}: auth")
    assert (current_b["active_issue_id"], current_b["last_action"]) == (pool, "testing the pool")
    await api.end("worker-1", "auth done")
    assert await api.current("worker-1") is None
    assert (await api.current("worker-2"))["id"] == b["id"]
    restarted = await api.start("worker-1", expect=201)
    assert restarted["previous_handoff_notes"] == "auth done"
    assert (await api.start("worker-2", expect=200))["previous_handoff_notes"] is None
    await api.end("worker-2", "pool done")
    rows = {row["id"]: row for row in await db_rows(api)}
    assert (rows[a["id"]]["handoff_notes"], rows[b["id"]]["handoff_notes"]) == ("auth done", "pool done")
    assert rows[restarted["id"]]["ended_at"] is None
