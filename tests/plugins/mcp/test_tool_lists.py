"""The tools and resources offered match the enabled plugins and the configured tier, over
streamable HTTP and over stdio (proxy and in-process)."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS
from tests.plugins.mcp.conftest import (
    CORE_TOOLS,
    EXTRA_TOOLS,
    ISSUES_LOCKS_TOOLS,
    http_client,
    names,
    write_server_toml,
)

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

    live = live_server_factory("--plugins", "issues")
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
