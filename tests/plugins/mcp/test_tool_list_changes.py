"""When the plugins change: the server behind ``crosslink mcp --url`` is restarted with other
plugins, and the proxy tells its stdio clients that the tool list changed (a listen event on a
2026-07-28 connection, ``notifications/tools/list_changed`` on a handshake-era one); the next
listing is the new server's. While the server is down, calls are tool errors, not crashes."""

from __future__ import annotations

import socket

import anyio
import mcp_types as types
import pytest

from tests.plugins.mcp.conftest import CORE_TOOLS, ISSUES_LOCKS_TOOLS, call, names

#: The proxy's change detection reads no data: SQLite only.
pytestmark = pytest.mark.slow

#: Generous: the proxy polls every 0.2 s; this only bounds a failure.
WAIT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_restart_with_other_plugins_is_announced(live_server_factory, stdio, no_tracebacks):
    port = free_port()
    live = live_server_factory("--port", str(port))
    legacy_changes = anyio.Event()

    async def on_message(message) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            legacy_changes.set()

    async with stdio("--url", live.url, "--poll", "0.2") as modern, \
            stdio("--url", live.url, "--poll", "0.2", mode="legacy", message_handler=on_message) as legacy:
        assert modern.protocol_version == "2026-07-28" and legacy.protocol_version == "2025-11-25"
        assert legacy.server_capabilities.tools.list_changed is True
        assert names(await modern.list_tools()) == names(await legacy.list_tools()) == CORE_TOOLS
        async with modern.listen(tools_list_changed=True) as changes:
            live.stop()
            is_error, answer = await call(modern, "find_ready_work")
            assert is_error and answer["error"] == "unavailable" and "not reachable" in answer["detail"]
            live_server_factory("--port", str(port), "--plugins", "issues,locks,mcp")
            with anyio.fail_after(WAIT):
                event = await changes.__anext__()
                await legacy_changes.wait()
        assert type(event).__name__ == "ToolsListChanged"
        assert names(await modern.list_tools()) == names(await legacy.list_tools()) == ISSUES_LOCKS_TOOLS
        assert (await call(legacy, "find_ready_work"))[0] is False
