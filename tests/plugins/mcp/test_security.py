"""``/mcp`` is guarded like the API: the bearer token when one is set (401 without it), foreign
Host and Origin headers refused (403), with the API's JSON errors; ``crosslink mcp --url``
passes the token on."""

from __future__ import annotations

import httpx
import pytest
from mcp import MCPError

from tests.plugins.mcp.conftest import CORE_TOOLS, TOKEN, call, http_client, names, stdio_env

#: The guards run before any service touches the database: SQLite only.
pytestmark = pytest.mark.slow

INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


async def test_the_token_is_required_when_set(live_server_factory, stdio, no_tracebacks):
    live = live_server_factory("--token", TOKEN)
    with httpx.Client(base_url=live.url, timeout=30) as raw:
        missing = raw.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        wrong = raw.post("/mcp", json=INITIALIZE,
                         headers={**MCP_HEADERS, "Authorization": "Bearer not-the-right-token"})
        right = raw.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json() == {"error": "unauthorized", "detail": "this server needs 'Authorization: Bearer <token>'"}
    assert wrong.json()["detail"] == "the bearer token is not valid"
    assert right.status_code == 200 and right.json()["result"]["serverInfo"]["name"] == "crosslink"

    with pytest.raises(Exception) as refused:  # the SDK's client cannot even connect
        async with http_client(live.url) as client:
            await client.list_tools()
    assert any(isinstance(error, MCPError) for error in flattened(refused.value))
    async with http_client(live.url, token=TOKEN) as client:
        assert names(await client.list_tools()) == CORE_TOOLS

    async with stdio("--url", live.url, env=stdio_env(CROSSLINK_TOKEN=TOKEN)) as client:
        assert names(await client.list_tools()) == CORE_TOOLS
    async with stdio("--url", live.url) as client:  # no token: the proxy answers, the server refuses
        with pytest.raises(MCPError) as listing:
            await client.list_tools()
        assert "answered HTTP 401 (this server needs 'Authorization: Bearer <token>')" in listing.value.message
        is_error, answer = await call(client, "find_ready_work")
        assert is_error and answer["error"] == "unavailable" and "HTTP 401" in answer["detail"]


FOREIGN = [
    ({"Host": "evil.example:3100"}, "Host 'evil.example:3100' is not served here"),
    ({"Origin": "https://evil.example"}, "requests from origin 'https://evil.example' are not accepted"),
    ({"Origin": "http://127.0.0.1:1"}, "requests from origin 'http://127.0.0.1:1' are not accepted"),
]


def flattened(error: BaseException) -> list[BaseException]:
    """The exception and, for exception groups, every exception inside."""
    if isinstance(error, BaseExceptionGroup):
        return [inner for member in error.exceptions for inner in flattened(member)]
    return [error]


async def test_foreign_host_and_origin_are_refused_as_for_the_api(live_server_factory):
    live = live_server_factory()
    with httpx.Client(base_url=live.url, timeout=30) as raw:
        for headers, detail in FOREIGN:
            for method in ("POST", "GET"):
                response = raw.request(method, "/mcp", json=INITIALIZE if method == "POST" else None,
                                       headers={**MCP_HEADERS, **headers})
                assert response.status_code == 403, (headers, method, response.text)
                assert response.json()["error"] == "forbidden" and response.json()["detail"].startswith(detail)
            assert raw.post("/api/v1/issues", json={"title": "x"}, headers=headers).status_code == 403
        same_origin = raw.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Origin": live.url})
        assert same_origin.status_code == 200
        assert raw.get("/api/v1/issues").json()["total"] == 0  # nothing got through
