"""A whole day of an agent's work through MCP tools, over each transport: start a session, find
ready work, claim it, comment, close, release, end with handoff notes; a second session (a new
connection) is handed the notes. The REST API then shows what the tools did."""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from tests.plugins.mcp.conftest import call, http_client, ok
from tests.support import BACKENDS

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", BACKENDS, indirect=True)]

AGENT = "worker-1"
NOTES = "Fixed the flaky retry test (#1). Next: #2, now unblocked; watch the CI cache."


def connect(transport: str, live, stdio, repo: Path) -> AbstractAsyncContextManager:
    """A new MCP connection for the agent over ``transport``."""
    if transport == "http":
        return http_client(live.url, agent=AGENT)
    if transport == "stdio-proxy":
        return stdio("--url", live.url, "--agent-id", AGENT)
    (repo / ".crosslink").mkdir(exist_ok=True)
    (repo / ".crosslink" / "agent.json").write_text(json.dumps({"agent_id": AGENT, "machine_id": "test-host"}))
    return stdio()  # serves the repository in-process; the agent comes from .crosslink/agent.json


@pytest.mark.parametrize("transport", ["http", "stdio-proxy", "stdio-repo"])
async def test_an_agents_day(transport, live_server_factory, stdio, repo, no_tracebacks):
    live = live_server_factory()
    rest = httpx.Client(base_url=live.url + "/api/v1", timeout=30)
    first = rest.post("/issues", json={"title": "Fix the flaky retry test", "priority": "high"}).json()["id"]
    second = rest.post("/issues", json={"title": "Speed up the CI cache"}).json()["id"]
    assert rest.post(f"/issues/{second}/block", json={"blocker_id": first}).status_code == 200

    async with connect(transport, live, stdio, repo) as agent:
        session = await ok(agent, "start_session")
        assert (session["agent_id"], session["created"], session["previous_handoff_notes"]) == (AGENT, True, None)

        ready = await ok(agent, "find_ready_work")
        assert [item["id"] for item in ready["items"]] == [first]  # the second is blocked
        assert ready["items"][0] == {"id": first, "title": "Fix the flaky retry test", "priority": "high",
                                     "labels": [], "parent_id": None, "locked_by": None}

        lock = await ok(agent, "claim_lock", {"issue_id": first, "branch": "fix/flaky-retry"})
        assert (lock["agent_id"], lock["created"], lock["source"]) == (AGENT, True, "server")
        assert isinstance(lock["fencing_token"], int) and lock["fencing_token"] >= 1
        again = await ok(agent, "claim_lock", {"issue_id": first})
        assert (again["fencing_token"], again["created"]) == (lock["fencing_token"], False)

        working = await ok(agent, "work_on_issue", {"issue_id": first})
        assert working["active_issue_id"] == first
        active = await agent.read_resource("crosslink://session/issue")
        assert json.loads(active.contents[0].text)["title"] == "Fix the flaky retry test"

        await ok(agent, "comment", {"issue_id": first, "content": "Plan: retry with a fresh port.", "kind": "plan"})
        closed = await ok(agent, "close_issue", {"issue_id": first})
        assert closed["changed"] is True
        released = await ok(agent, "release_lock", {"issue_id": first})
        assert released["ok"] is True  # released now, or already with the close
        ended = await ok(agent, "end_session", {"notes": NOTES})
        assert (ended["handoff_notes"], ended["ended_at"] is not None) == (NOTES, True)

    async with connect(transport, live, stdio, repo) as agent:  # the next session, a new process
        handoff = await agent.read_resource("crosslink://session/handoff")
        assert handoff.contents[0].text == NOTES
        session = await ok(agent, "start_session")
        assert (session["created"], session["previous_handoff_notes"]) == (True, NOTES)
        ready = await ok(agent, "find_ready_work")
        assert [item["id"] for item in ready["items"]] == [second]
        is_error, answer = await call(agent, "show_issue", {"issue_id": first})
        assert not is_error and answer["status"] == "closed"

    issue = rest.get(f"/issues/{first}").json()
    assert issue["status"] == "closed"
    assert [(c["kind"], c["content"]) for c in issue["comments"]] == [("plan", "Plan: retry with a fresh port.")]
    assert rest.get("/locks").json() == []
    sessions = rest.get("/sessions", params={"agent_id": AGENT}).json()["items"]
    assert [s["handoff_notes"] for s in sessions] == [None, NOTES]  # newest first: the second is open
    assert "Traceback" not in live.text()
