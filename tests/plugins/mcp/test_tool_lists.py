"""The tools and resources offered match the enabled plugins and the configured tier, over
streamable HTTP and over stdio (proxy and in-process)."""

from __future__ import annotations

import pytest

from tests.plugins.mcp.conftest import (
    CORE_TOOLS,
    EXTRA_TOOLS,
    ISSUES_LOCKS_TOOLS,
    http_client,
    names,
    ok,
    write_server_toml,
)
from tests.support import BACKENDS

#: Listing reads no data: only the tests that serve the repository in-process run on both databases.
pytestmark = pytest.mark.slow
ON_BOTH_DATABASES = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@ON_BOTH_DATABASES
async def test_every_plugin_gives_the_core_tools_and_the_resources(live_server_factory, stdio, no_tracebacks):
    live = live_server_factory()
    async with http_client(live.url) as client:
        over_http = names(await client.list_tools())
        resources = [resource.uri for resource in (await client.list_resources()).resources]
    assert over_http == CORE_TOOLS
    assert resources == ["crosslink://session/handoff", "crosslink://session/issue"]
    async with stdio("--url", live.url) as client:
        assert names(await client.list_tools()) == CORE_TOOLS
    async with stdio() as client:
        assert names(await client.list_tools()) == CORE_TOOLS


@ON_BOTH_DATABASES
async def test_issues_and_locks_only(live_server_factory, stdio, no_tracebacks):
    live = live_server_factory("--plugins", "issues,locks,mcp")
    async with http_client(live.url) as client:
        assert names(await client.list_tools()) == ISSUES_LOCKS_TOOLS
        assert (await client.list_resources()).resources == []  # no sessions plugin
    async with stdio("--url", live.url) as client:
        assert names(await client.list_tools()) == ISSUES_LOCKS_TOOLS
    async with stdio("--plugins", "issues,locks") as client:  # crosslink mcp adds its own plugin
        assert names(await client.list_tools()) == ISSUES_LOCKS_TOOLS


async def test_all_tools_in_table_order(live_server_factory, repo):
    write_server_toml(repo, '[plugins.mcp]\ntools = "all"\n')
    live = live_server_factory()
    async with http_client(live.url) as client:
        listed = names(await client.list_tools())
    assert sorted(listed) == sorted(CORE_TOOLS + EXTRA_TOOLS)
    assert listed[:6] == CORE_TOOLS[:6]


async def test_a_list_of_names_leaves_out_the_disabled_plugins_tools(live_server_factory, repo):
    write_server_toml(repo, '[plugins.mcp]\ntools = ["search", "claim_lock", "write_page", "start_session"]\n')
    live = live_server_factory("--plugins", "issues,locks,mcp")
    async with http_client(live.url) as client:
        assert names(await client.list_tools()) == ["search", "claim_lock"]


async def test_without_the_mcp_plugin_there_is_no_endpoint(live_server_factory):
    import httpx

    live = live_server_factory("--plugins", "issues,-mcp")
    response = httpx.post(live.url + "/mcp", json={})
    assert response.status_code == 404
    assert response.json()["error"] == "not found"


async def test_schemas_are_objects_that_refuse_unknown_fields(live_server_factory, repo):
    write_server_toml(repo, '[plugins.mcp]\ntools = "all"\n')
    live = live_server_factory()
    async with http_client(live.url) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        schema = tool.input_schema
        assert schema["type"] == "object" and schema["additionalProperties"] is False, tool.name
        assert "title" not in schema and all("title" not in prop for prop in schema["properties"].values())
        assert tool.description and len(tool.description) <= 100, tool.name
        assert set(schema.get("required", [])) <= set(schema["properties"]), tool.name
    read_only = {tool.name for tool in tools if tool.annotations and tool.annotations.read_only_hint}
    assert read_only == {"find_ready_work", "search", "show_issue", "search_knowledge", "read_page"}


async def test_stateful_sessions_for_handshake_era_clients(live_server_factory, repo):
    """``stateless = false``: a handshake-era client gets a session (and its event stream); the
    server still stops cleanly on Ctrl-C while that client is connected."""
    write_server_toml(repo, "[plugins.mcp]\nstateless = false\n")
    live = live_server_factory()
    async with http_client(live.url, agent="worker-1", mode="legacy") as legacy, \
            http_client(live.url, agent="worker-2") as modern:
        assert legacy.protocol_version == "2025-11-25" and modern.protocol_version == "2026-07-28"
        assert names(await legacy.list_tools()) == names(await modern.list_tools()) == CORE_TOOLS
        lock = await ok(legacy, "claim_lock", {"issue_id": (await ok(modern, "create_issue", {"title": "t"}))["id"]})
        assert lock["agent_id"] == "worker-1"
        assert live.stop() == 0
    assert "Created new transport with session ID" in live.text()
    assert "Traceback" not in live.text()
