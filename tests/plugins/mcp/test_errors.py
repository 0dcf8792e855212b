"""Bad arguments and refused operations are MCP tool errors (``isError``) carrying the API's
``{"error", "detail"}``, never crashes or protocol errors; resources fail with MCP errors."""

from __future__ import annotations

import httpx
import pytest
from mcp import MCPError

from tests.plugins.mcp.conftest import call, http_client, ok, write_server_toml
from tests.support import BACKENDS

#: Argument checks run before any service; the services' refusals run on both databases.
pytestmark = pytest.mark.slow
ON_BOTH_DATABASES = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def refused(client, tool, arguments) -> dict:
    is_error, answer = await call(client, tool, arguments)
    assert is_error, answer
    assert set(answer) >= {"error", "detail"}, answer
    return answer


async def test_bad_arguments_are_tool_errors_naming_the_field(live_server_factory, repo):
    write_server_toml(repo, '[plugins.mcp]\ntools = "all"\n')
    live = live_server_factory()
    async with http_client(live.url, agent="worker-1") as agent:
        missing = await refused(agent, "show_issue", {})
        assert missing == {"error": "bad request", "detail": "issue_id: field required",
                           "fields": [{"field": "issue_id", "message": "field required"}]}
        wrong_type = await refused(agent, "show_issue", {"issue_id": "forty-two"})
        assert wrong_type["detail"].startswith("issue_id: ")
        unknown = await refused(agent, "show_issue", {"issue_id": 1, "id": 1})
        assert unknown["detail"] == "id: unknown field"
        assert (await refused(agent, "show_issue", {"issue_id": 2**64}))["detail"].startswith("issue_id: ")
        assert (await refused(agent, "find_ready_work", {"limit": 0}))["detail"].startswith("limit: ")
        gossip = await refused(agent, "comment", {"issue_id": 1, "content": "x", "kind": "gossip"})
        assert gossip["fields"][0]["field"] == "kind"
        blank = await refused(agent, "create_issue", {"title": "   "})
        assert blank["detail"] == "title: must not be empty"
        huge = await refused(agent, "comment", {"issue_id": 1, "content": "x" * (1024 * 1024 + 1)})
        assert "at most 1048576 bytes" in huge["detail"]
        bad_tag = await refused(agent, "write_page", {"slug": "a", "title": "A", "tags": ["x,y"]})
        assert bad_tag["fields"][0]["field"] == "tags.0"
        nonexistent = await refused(agent, "delete_everything", {})
        assert nonexistent["error"] == "not found" and "Unknown tool 'delete_everything'" in nonexistent["detail"]
        # the server still answers, and nothing was written by the refused calls
        assert (await ok(agent, "find_ready_work"))["items"] == []
    assert "Traceback" not in live.text()


@ON_BOTH_DATABASES
async def test_refusals_carry_the_apis_detail(live_server_factory, repo):
    write_server_toml(repo, '[plugins.mcp]\ntools = "all"\n')
    live = live_server_factory()
    issue = httpx.post(live.url + "/api/v1/issues", json={"title": "shared"}).json()["id"]
    async with http_client(live.url, agent="worker-1") as one, http_client(live.url, agent="worker-2") as two, \
            http_client(live.url) as nobody:
        assert await refused(one, "show_issue", {"issue_id": 999}) == {
            "error": "not found", "detail": "Issue #999 does not exist"}
        assert (await refused(one, "claim_lock", {"issue_id": 999}))["detail"] == "Issue #999 does not exist"
        await ok(one, "claim_lock", {"issue_id": issue})
        taken = await refused(two, "claim_lock", {"issue_id": issue})
        assert (taken["error"], taken["holder"], taken["stale"]) == ("conflict", "worker-1", False)
        not_stale = await refused(two, "steal_lock", {"issue_id": issue})
        assert "is not stale" in not_stale["detail"]
        assert (await refused(two, "release_lock", {"issue_id": issue}))["error"] == "conflict"
        no_agent = await refused(nobody, "claim_lock", {"issue_id": issue})
        assert no_agent["detail"].startswith("agent_id: required")
        bad_agent = await refused(one, "heartbeat", {"agent_id": "no spaces allowed"})
        assert bad_agent["detail"].startswith("agent_id: must be 1-128 letters")
        self_block = await refused(one, "block_issue", {"issue_id": issue, "blocker_id": issue})
        assert "cannot block itself" in self_block["detail"]
        await ok(one, "label_issue", {"issue_id": issue, "label": "ci"})
        assert (await refused(one, "label_issue", {"issue_id": issue, "label": "ci"}))["error"] == "conflict"
        no_session = await refused(one, "work_on_issue", {"issue_id": issue})
        assert no_session["error"] == "conflict" and "No active session" in no_session["detail"]
        assert (await refused(one, "end_session", {}))["error"] == "not found"
        assert (await refused(one, "read_page", {"slug": "nope"}))["detail"] == "Page 'nope' not found"
        assert (await refused(one, "read_page", {"slug": "../etc"}))["error"] == "bad request"
        assert (await refused(one, "write_page", {"slug": "notes"}))["detail"].startswith("title: required")
        created = await ok(one, "write_page", {"slug": "notes", "title": "Notes", "content": "first\n"})
        assert (await refused(two, "write_page", {"slug": "notes", "title": "Again"}))["error"] == "conflict"
        stale = await refused(two, "write_page", {"slug": "notes", "content": "x", "version": "0" * 12})
        assert (stale["error"], stale["current_version"]) == ("precondition failed", created["version"])

        with pytest.raises(MCPError) as no_issue:
            await one.read_resource("crosslink://session/issue")
        assert no_issue.value.code == -32002 and "No active session for agent 'worker-1'" in no_issue.value.message
        with pytest.raises(MCPError) as unknown:
            await one.read_resource("crosslink://elsewhere/secrets")
        assert unknown.value.code == -32002
    assert "Traceback" not in live.text()


@ON_BOTH_DATABASES
async def test_bad_arguments_over_stdio_leave_the_process_serving(stdio, no_tracebacks):
    async with stdio("--agent-id", "worker-1") as agent:
        assert (await refused(agent, "show_issue", {"issue_id": "x"}))["error"] == "bad request"
        assert (await refused(agent, "close_issue", {"issue_id": 5}))["detail"] == "Issue #5 does not exist"
        created = await ok(agent, "create_issue", {"title": "still serving"})
        assert (await ok(agent, "show_issue", {"issue_id": created["id"]}))["title"] == "still serving"
