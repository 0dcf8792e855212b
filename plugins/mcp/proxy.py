"""``crosslink mcp --url``: MCP over stdio, forwarded to a running server's ``/mcp``.

A stdio-only client (an agent that starts its MCP servers as subprocesses) gets exactly the
tools and resources of the server at ``--url``: every request is answered by the SDK's own
client talking streamable HTTP to that server, with the bearer token and the agent's id
(``X-Crosslink-Agent-Id``) on every request. Each forwarded request opens its own short MCP
connection, so a server that restarts in between is simply reached again; one that cannot be
reached is a tool error (``"error": "unavailable"``), and the proxy keeps running.

What "the plugins changed" means here: the server behind ``--url`` was restarted with other
plugins (or another tool set), so its tool list is not the one the agent was given. The proxy
looks at the list every ``poll_seconds`` and, when it differs from the last one the agent saw,
tells the agent: ``notifications/tools/list_changed`` on a handshake-era connection, a
``tools_list_changed`` event on its ``subscriptions/listen`` streams on a 2026-07-28 one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import anyio
import httpx2
import mcp_types as types
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from kernel import __version__
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp.shared.exceptions import MCPError

from .server import AGENT_HEADER, SERVER_NAME, tool_error

log = logging.getLogger("crosslink.mcp.proxy")

T = TypeVar("T")

#: Seconds allowed to connect, write and read one forwarded request.
TIMEOUT = httpx2.Timeout(30.0, read=120.0)


#: The HTTP errors the server answered during the current forwarded request (the SDK client
#: reports them only as "Server returned an error response").
_http_errors: ContextVar[list[str] | None] = ContextVar("crosslink_mcp_proxy_http_errors", default=None)


class Unavailable(Exception):
    """The server at ``--url`` could not be reached or answered something that is not MCP."""


async def _record_http_error(response: httpx2.Response) -> None:
    """An httpx2 response hook: note an error status and the API's ``detail`` for the proxy."""
    errors = _http_errors.get()
    if errors is None or response.status_code < 400:
        return
    await response.aread()
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    errors.append(f"HTTP {response.status_code}" + (f" ({detail})" if isinstance(detail, str) else ""))


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """``exc`` or the first exception of type ``kind`` inside (task groups wrap them in groups)."""
    if isinstance(exc, kind):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _find(inner, kind)
            if found is not None:
                return found
    return None


def fingerprint(tools: list[types.Tool]) -> str:
    """What identifies a tool list for change detection: names, descriptions and schemas."""
    summary = sorted((tool.name, tool.description or "", json.dumps(tool.input_schema, sort_keys=True))
                     for tool in tools)
    return hashlib.sha256(json.dumps(summary).encode()).hexdigest()


class McpProxy:
    """A stdio MCP server whose every answer comes from the server at ``url``."""

    def __init__(self, url: str, *, token: str | None, agent_id: str | None, poll_seconds: float) -> None:
        self.url = url
        self.headers = {}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if agent_id:
            self.headers[AGENT_HEADER] = agent_id
        self.poll_seconds = poll_seconds
        self.bus = InMemorySubscriptionBus()
        self.listen = ListenHandler(self.bus)
        self.http: httpx2.AsyncClient | None = None
        #: The tool list the agent last saw (``None``: it has seen none yet).
        self.seen: str | None = None
        #: The agent's session on a handshake-era connection (notified out of band).
        self.legacy_session: Any = None

    # --- the server at --url -------------------------------------------------------------------

    async def forward(self, operation: Callable[[Client], Awaitable[T]]) -> T:
        """Run ``operation`` on a fresh MCP connection to the server; :class:`Unavailable` when
        the server cannot be reached. An MCP error the server answered passes through."""
        assert self.http is not None
        errors: list[str] = []
        noted = _http_errors.set(errors)
        try:
            async with Client(streamable_http_client(self.url, http_client=self.http), cache=None) as client:
                return await operation(client)
        except Exception as exc:  # connection refused, timeouts, an HTTP error status, not MCP at all
            if errors:
                raise Unavailable(f"the crosslink server at {self.url} answered {errors[0]}") from None
            answered = _find(exc, MCPError)
            if answered is not None:
                raise answered from None
            raise Unavailable(f"the crosslink server at {self.url} is not reachable: {_reason(exc)}") from None
        finally:
            _http_errors.reset(noted)

    async def upstream_instructions(self) -> str | None:
        """The server's instructions, handed on to the agent (``None`` when it is not reachable)."""
        try:
            return await self.forward(lambda client: _instructions(client))
        except (Unavailable, MCPError) as exc:
            log.warning("mcp proxy: %s", exc)
            return None

    # --- change detection ----------------------------------------------------------------------

    async def watch(self) -> None:
        """Look at the server's tool list every ``poll_seconds``; tell the agent when it changed."""
        while True:
            await anyio.sleep(self.poll_seconds)
            try:
                listed = await self.forward(lambda client: client.list_tools())
            except (Unavailable, MCPError) as exc:
                log.debug("mcp proxy: %s", exc)
                continue
            current = fingerprint(listed.tools)
            if self.seen is not None and current != self.seen:
                log.info("mcp proxy: the tool list of %s changed; telling the client", self.url)
                self.seen = current
                await self.announce()

    async def announce(self) -> None:
        """Tell the agent that the tool list changed, on whichever channel its connection has."""
        await self.bus.publish(ToolsListChanged())
        if self.legacy_session is not None:
            try:
                await self.legacy_session.send_tool_list_changed()
            except Exception as exc:  # the client went away; nothing to tell
                log.debug("mcp proxy: could not notify the client: %s", exc)

    def _note_connection(self, ctx: Any) -> None:
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            self.legacy_session = ctx.session

    # --- the stdio server ----------------------------------------------------------------------

    def server(self, instructions: str | None) -> Server:
        """The stdio server: tools and resources forwarded, ``subscriptions/listen`` served here."""

        async def list_tools(ctx, params) -> types.ListToolsResult:
            self._note_connection(ctx)
            try:
                listed = await self.forward(lambda client: client.list_tools())
            except Unavailable as exc:
                raise MCPError(types.INTERNAL_ERROR, str(exc)) from None
            self.seen = fingerprint(listed.tools)
            return types.ListToolsResult(tools=listed.tools)

        async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
            self._note_connection(ctx)
            try:
                return await self.forward(lambda client: client.call_tool(params.name, params.arguments))
            except Unavailable as exc:
                return tool_error(503, str(exc))

        async def list_resources(ctx, params) -> types.ListResourcesResult:
            self._note_connection(ctx)
            try:
                listed = await self.forward(lambda client: client.list_resources())
            except Unavailable as exc:
                raise MCPError(types.INTERNAL_ERROR, str(exc)) from None
            return types.ListResourcesResult(resources=listed.resources)

        async def read_resource(ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
            self._note_connection(ctx)
            try:
                read = await self.forward(lambda client: client.read_resource(str(params.uri)))
            except Unavailable as exc:
                raise MCPError(types.INTERNAL_ERROR, str(exc)) from None
            return types.ReadResourceResult(contents=read.contents)

        return Server(
            SERVER_NAME,
            version=__version__,
            instructions=instructions,
            on_list_tools=list_tools,
            on_call_tool=call_tool,
            on_list_resources=list_resources,
            on_read_resource=read_resource,
            on_subscriptions_listen=self.listen,
        )

    async def serve_stdio(self) -> None:
        """Serve the process's stdin/stdout until the client closes them."""
        hooks = {"response": [_record_http_error]}
        async with httpx2.AsyncClient(headers=self.headers, timeout=TIMEOUT, event_hooks=hooks) as http:
            self.http = http
            server = self.server(await self.upstream_instructions())
            options = server.create_initialization_options(NotificationOptions(tools_changed=True))
            async with stdio_server() as (read, write), anyio.create_task_group() as tasks:
                tasks.start_soon(self.watch)
                await server.run(read, write, options)
                self.listen.close()
                tasks.cancel_scope.cancel()


async def _instructions(client: Client) -> str | None:
    return client.instructions


def _reason(exc: BaseException) -> str:
    """The innermost useful message of an exception (task groups wrap them in groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
