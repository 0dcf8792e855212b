"""Fixtures for the mcp plugin: the SDK's own client against a live ``crosslink serve`` over
streamable HTTP, and against ``crosslink mcp`` over stdio (a proxy to the live server, or the
repository served in-process)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import get_default_environment, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.support import crosslink_command

TOKEN = "a-long-enough-secret-token"

CORE_TOOLS = [
    "find_ready_work", "search", "show_issue", "create_issue", "comment", "close_issue",
    "start_session", "work_on_issue", "end_session", "claim_lock", "release_lock", "heartbeat", "report_stage",
]
EXTRA_TOOLS = ["label_issue", "block_issue", "steal_lock", "search_knowledge", "read_page", "write_page"]
#: The core tools a ``--plugins issues,locks,mcp`` server offers.
ISSUES_LOCKS_TOOLS = [
    "find_ready_work", "search", "show_issue", "create_issue", "comment", "close_issue", "claim_lock", "release_lock",
]


def names(listed) -> list[str]:
    return [tool.name for tool in listed.tools]


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> tuple[bool, Any]:
    """Call a tool: ``(is_error, the JSON answer)``."""
    result = await client.call_tool(tool, arguments or {})
    assert len(result.content) == 1 and result.content[0].type == "text", result
    return result.is_error, json.loads(result.content[0].text)


async def ok(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> Any:
    """Call a tool that must succeed; its JSON answer."""
    is_error, answer = await call(client, tool, arguments)
    assert not is_error, answer
    return answer


@asynccontextmanager
async def http_client(url: str, *, agent: str | None = None, token: str | None = None,
                      mode: str = "auto", headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    """The SDK client on ``<url>/mcp`` over streamable HTTP."""
    sent = dict(headers or {})
    if agent:
        sent["X-Crosslink-Agent-Id"] = agent
    if token:
        sent["Authorization"] = f"Bearer {token}"
    async with httpx2.AsyncClient(headers=sent, timeout=httpx2.Timeout(30.0)) as http:
        async with Client(streamable_http_client(url + "/mcp", http_client=http), mode=mode, cache=None) as client:
            yield client


def stdio_env(**extra: str) -> dict[str, str]:
    return {"CROSSLINK_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONUNBUFFERED": "1", **extra}


@asynccontextmanager
async def stdio_client_for(repo: Path, *args: str, errlog: Path, mode: str = "auto",
                           env: dict[str, str] | None = None, **options: Any) -> AsyncIterator[Client]:
    """The SDK client on ``crosslink mcp <args>`` started in ``repo`` (its stderr in ``errlog``),
    forked from a helper where that starts it as the SDK's ``exec`` would (``tests.forkserver``)."""
    started_with = {**get_default_environment(), **(env or stdio_env())}  # what the SDK gives the process
    command, *rest = crosslink_command("mcp", *args, env=started_with)
    params = StdioServerParameters(command=command, args=rest, cwd=str(repo), env=started_with)
    with errlog.open("a") as log:
        async with Client(stdio_client(params, errlog=log), mode=mode, cache=None, **options) as client:
            yield client


@pytest.fixture
def errlog(tmp_path: Path) -> Path:
    """Where the stdio servers of a test write their stderr."""
    return tmp_path / "crosslink-mcp.stderr"


@pytest.fixture
def stdio(repo: Path, errlog: Path, database_url: str | None):
    """``stdio(*args)``: the SDK client on ``crosslink mcp`` in the test repository (on the test's
    database when it serves the repository itself)."""

    def open_client(*args: str, **options: Any):
        extra = list(args)
        if "--url" not in extra and database_url and "--db" not in extra:
            extra += ["--db", database_url]
        return stdio_client_for(repo, *extra, errlog=errlog, **options)

    return open_client


def write_server_toml(repo: Path, text: str) -> None:
    (repo / ".crosslink").mkdir(exist_ok=True)
    (repo / ".crosslink" / "server.toml").write_text(text)


@pytest.fixture
def no_tracebacks(errlog: Path):
    """After the test: no stdio server wrote a traceback."""
    yield
    if errlog.exists():
        assert "Traceback" not in errlog.read_text(), errlog.read_text()
